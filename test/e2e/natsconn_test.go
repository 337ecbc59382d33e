//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/distsys-go/orders/internal/testkit"
)

// natsConn is one NATS connection to the release's servers through one
// `kubectl port-forward` per NATS pod. Each forward keeps its local port and
// is restarted whenever kubectl exits (its pod crashed, was deleted or
// rolled), so nats.go reconnects to the same address list as the servers
// come and go: a scenario that kills servers keeps its connection.
type natsConn struct {
	nc    *nats.Conn
	js    natsjs.JetStream
	close func()
}

// connectNATS forwards to the pods <release>-nats-0 … -(servers-1) and
// connects with the release's credentials (user and password empty: none).
func (e env) connectNATS(t *testing.T, servers int, user, password string) *natsConn {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	urls := make([]string, servers)
	for i := range servers {
		port, err := freePort()
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		urls[i] = fmt.Sprintf("nats://127.0.0.1:%d", port)
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.forward(ctx, t, fmt.Sprintf("%s-nats-%d", e.release, i), port)
		}()
	}
	stop := func() { cancel(); wg.Wait() }
	opts := []nats.Option{
		nats.Name("orders-e2e"), nats.MaxReconnects(-1), nats.ReconnectWait(250 * time.Millisecond),
		nats.RetryOnFailedConnect(true), nats.DontRandomize(),
	}
	if user != "" {
		opts = append(opts, nats.UserInfo(user, password))
	}
	nc, err := nats.Connect(strings.Join(urls, ","), opts...)
	if err != nil {
		stop()
		t.Fatalf("connect to NATS through port-forwards %v: %v", urls, err)
	}
	if err := testkit.Await(t, fmt.Sprintf("NATS connected through port-forwards %v", urls), 60*time.Second, func() (bool, string) {
		return nc.IsConnected(), nc.Status().String()
	}, testkit.Every(200*time.Millisecond)); err != nil {
		nc.Close()
		stop()
		t.Fatal(err)
	}
	js, err := natsjs.New(nc)
	if err != nil {
		nc.Close()
		stop()
		t.Fatal(err)
	}
	var once sync.Once
	return &natsConn{nc: nc, js: js, close: func() { once.Do(func() { nc.Close(); stop() }) }}
}

// forward runs `kubectl port-forward pod/name port:4222` until ctx ends,
// starting it again whenever it exits, each time once the pod is ready: a
// port-forward bypasses the Service, and a server that has just started
// (not ready: JetStream not caught up) answers JetStream requests with "no
// responders".
func (e env) forward(ctx context.Context, t *testing.T, name string, port int) {
	target := "pod/" + name
	for ctx.Err() == nil {
		if !e.waitReady(ctx, name) {
			return
		}
		cmd := exec.CommandContext(ctx, e.kubectl, "-n", e.namespace, "port-forward", "--address", "127.0.0.1",
			target, fmt.Sprintf("%d:4222", port))
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		start := time.Now()
		err := cmd.Run()
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) > 5*time.Second {
			t.Logf("port-forward %s :%d ended after %s (%v), restarting: %s", target, port,
				time.Since(start).Round(time.Second), err, lastLines(out.String(), 2))
		}
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// waitReady polls until the pod is ready (true) or ctx ends (false).
func (e env) waitReady(ctx context.Context, name string) bool {
	for {
		out, err := e.kc(ctx, "--request-timeout=10s", "get", "pod", name, "-o",
			`jsonpath={.metadata.deletionTimestamp}/{.status.conditions[?(@.type=="Ready")].status}`)
		if err == nil && out == "/True" {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// freePort is a local TCP port nothing listens on right now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
