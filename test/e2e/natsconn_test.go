//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"math/big"
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
	urls  []string // one per server, in ordinal order: nats://127.0.0.1:<forwarded port>
	creds natsCreds
	close func()
}

// natsCreds is how the e2e talks to the release's NATS: the identity
// (user empty: none) and, when the servers speak TLS, the CA that signs
// their certificate and the name to verify it for.
type natsCreds struct {
	user, password string
	ca             *x509.CertPool // nil: plaintext
	serverName     string
}

// fullname is the chart's orders.fullname for the release (no
// fullnameOverride): the release name when it contains the chart's name,
// else <release>-orders. Every object the tests look up by name starts
// with it.
func (e env) fullname() string {
	if strings.Contains(e.release, "orders") {
		return e.release
	}
	return e.release + "-orders"
}

// secretData reads a Secret of the scenario's namespace with kubectl (the
// tests never hold an API client of their own); the values are decoded.
func (e env) secretData(ctx context.Context, name string) (map[string][]byte, error) {
	out, err := e.kc(ctx, "--request-timeout=10s", "get", "secret", name, "-o", "json")
	if err != nil {
		return nil, err
	}
	var s struct {
		Data map[string][]byte // base64 in JSON, decoded by encoding/json
	}
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		return nil, fmt.Errorf("decode secret %s: %w", name, err)
	}
	return s.Data, nil
}

// releaseCreds are the chart's defaults as an operator uses them: TLS
// verified against ca.crt of <F>-nats-tls for the Service's name (a name
// the server certificate carries; the forwards connect to 127.0.0.1, which
// it carries too, but the Service name is what clients in the cluster
// verify), and the admin identity (<F>-nats-admin, key password), the one
// identity allowed to read the ledger, the dead letters and the durable
// for the audit and to step a consumer leader down.
func (e env) releaseCreds(t *testing.T) natsCreds {
	t.Helper()
	ctx := context.Background()
	tlsSecret, admin := e.fullname()+"-nats-tls", e.fullname()+"-nats-admin"
	var ca, password []byte
	// The release was installed with --wait, so both exist; the poll only
	// rides out an API server that is slow to answer.
	testkit.Eventually(t, "the release's CA and admin password (Secrets "+tlsSecret+", "+admin+")", flowTimeout, testkit.NoError(func() error {
		d, err := e.secretData(ctx, tlsSecret)
		if err != nil {
			return err
		}
		if ca = d["ca.crt"]; len(ca) == 0 {
			return fmt.Errorf("secret %s has no ca.crt", tlsSecret)
		}
		if d, err = e.secretData(ctx, admin); err != nil {
			return err
		}
		if password = d["password"]; len(password) == 0 {
			return fmt.Errorf("secret %s has no password", admin)
		}
		return nil
	}), testkit.Every(time.Second))
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		t.Fatalf("ca.crt of %s holds no PEM certificate", tlsSecret)
	}
	return natsCreds{user: "admin", password: string(password), ca: pool, serverName: e.fullname() + "-nats"}
}

// options are creds as nats.go options.
func (c natsCreds) options() []nats.Option {
	var opts []nats.Option
	if c.user != "" {
		opts = append(opts, nats.UserInfo(c.user, c.password))
	}
	if c.ca != nil {
		opts = append(opts, nats.Secure(c.tlsConfig()))
	}
	return opts
}

func (c natsCreds) tlsConfig() *tls.Config {
	return &tls.Config{RootCAs: c.ca, ServerName: c.serverName, MinVersion: tls.VersionTLS12}
}

// connectNATS forwards to the pods <release>-nats-0 … -(servers-1) and
// connects with creds.
func (e env) connectNATS(t *testing.T, servers int, creds natsCreds) *natsConn {
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
	opts := append([]nats.Option{
		nats.Name("orders-e2e"), nats.MaxReconnects(-1), nats.ReconnectWait(250 * time.Millisecond),
		nats.RetryOnFailedConnect(true), nats.DontRandomize(),
	}, creds.options()...)
	nc, err := nats.Connect(strings.Join(urls, ","), opts...)
	if err != nil {
		stop()
		t.Fatalf("connect to NATS through port-forwards %v: %v", urls, err)
	}
	if err := testkit.Await(t, fmt.Sprintf("NATS connected through port-forwards %v", urls), 60*time.Second, func() (bool, string) {
		seen := nc.Status().String()
		if err := nc.LastError(); err != nil {
			seen += ", last error: " + err.Error()
		}
		return nc.IsConnected(), seen
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
	return &natsConn{nc: nc, js: js, urls: urls, creds: creds, close: func() { once.Do(func() { nc.Close(); stop() }) }}
}

// servedSerial makes a fresh TLS connection to server i (its own forward)
// and returns the serial number of the certificate the server presented,
// after it verified against the release's CA: the certificate that server
// serves now, whatever the established connections were handshaken with.
func (c *natsConn) servedSerial(i int) (*big.Int, error) {
	if c.creds.ca == nil {
		return nil, fmt.Errorf("the connection is not TLS")
	}
	var serial *big.Int
	cfg := c.creds.tlsConfig()
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) > 0 {
			serial = cs.PeerCertificates[0].SerialNumber
		}
		return nil
	}
	opts := append(c.creds.options(), nats.Secure(cfg), nats.NoReconnect(), nats.Timeout(5*time.Second), nats.Name("orders-e2e-cert-probe"))
	nc, err := nats.Connect(c.urls[i], opts...)
	if err != nil {
		return nil, err
	}
	nc.Close()
	if serial == nil {
		return nil, fmt.Errorf("%s presented no certificate", c.urls[i])
	}
	return serial, nil
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
