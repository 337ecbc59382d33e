package systemtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/distsys-go/orders/platform/natstest"
)

// bins holds the paths of the binaries TestMain builds.
var bins = map[string]string{}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "orders-bins")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, name := range []string{"producer", "consumer"} {
		bins[name] = filepath.Join(dir, name)
		cmd := exec.Command("go", "build", "-o", bins[name], "../"+name)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n", name, err)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// within bounds every wait; it only limits how long a failing test hangs.
const within = 60 * time.Second

// proc is one running service binary.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *lines
	errb bytes.Buffer
	done chan struct{}
	code int
}

// lines is a process's stdout, one JSON log record a line.
type lines struct {
	mu  sync.Mutex
	all []map[string]any
	raw []string
}

func (l *lines) write(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var rec map[string]any
		_ = json.Unmarshal(sc.Bytes(), &rec)
		l.mu.Lock()
		l.all = append(l.all, rec)
		l.raw = append(l.raw, sc.Text())
		l.mu.Unlock()
	}
}

// msgs returns the log records whose msg is msg.
func (l *lines) msgs(msg string) []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, r := range l.all {
		if r["msg"] == msg {
			out = append(out, r)
		}
	}
	return out
}

// env is what the chart sets: the NATS URL, an HTTP port, the instance.
func env(natsURL, instance string, extra ...string) []string {
	return append([]string{
		"PATH=" + os.Getenv("PATH"),
		"NATS_URL=" + natsURL,
		"HTTP_ADDR=127.0.0.1:0",
		"INSTANCE=" + instance,
		"NATS_RECONNECT_WAIT=100ms",
	}, extra...)
}

func start(t *testing.T, bin string, environ []string) *proc {
	t.Helper()
	p := &proc{name: filepath.Base(bin), cmd: exec.Command(bins[bin]), out: &lines{}, done: make(chan struct{})}
	p.cmd.Env = environ
	p.cmd.Stderr = &p.errb
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	go func() {
		p.out.write(stdout)
		err := p.cmd.Wait()
		p.code = p.cmd.ProcessState.ExitCode()
		if err != nil && p.code == 0 {
			p.code = -1
		}
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			p.out.mu.Lock()
			t.Logf("%s %v output (last lines):\n%s\nstderr: %s", bin, environ, strings.Join(last(p.out.raw, 30), "\n"), p.errb.String())
			p.out.mu.Unlock()
		}
	})
	return p
}

func last(s []string, n int) []string { return s[max(0, len(s)-n):] }

// wait returns the exit code once the process ended.
func (p *proc) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(within):
		t.Fatalf("%s did not exit", p.name)
		return 0
	}
}

func (p *proc) terminate(t *testing.T) int {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM %s: %v", p.name, err)
	}
	return p.wait(t)
}

// addr is the bound address of the process's HTTP listener.
func (p *proc) addr(t *testing.T) string {
	t.Helper()
	var a string
	eventually(t, p.name+" listens", func() bool {
		if recs := p.out.msgs("ops endpoints listening"); len(recs) > 0 {
			a, _ = recs[0]["addr"].(string)
		}
		return a != ""
	})
	return a
}

func (p *proc) waitReady(t *testing.T) string {
	t.Helper()
	a := p.addr(t)
	eventually(t, p.name+" ready", func() bool { return status(a, "/readyz") == http.StatusOK })
	return a
}

func status(addr, path string) int {
	code, _ := get(addr, path)
	return code
}

// get returns the status and body of GET path, or 0 if the request failed.
func get(addr, path string) (int, string) {
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func metricsText(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// processedBy maps each order id in the consumers' "received order" logs
// to the instances that logged it.
func processedBy(ps ...*proc) map[string][]string {
	out := map[string][]string{}
	for _, p := range ps {
		for _, r := range p.out.msgs("received order") {
			id, _ := r["order_id"].(string)
			out[id] = append(out[id], r["instance"].(string))
		}
	}
	return out
}

// audit reads what NATS itself holds: the order ids in the stream and the
// keys of the processed-orders bucket.
type audit struct {
	stream    map[string]int // order id -> times stored
	processed map[string]bool
}

func readAudit(t *testing.T, srv *natstest.Server) audit {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	js, err := natsjs.New(srv.Connect(t))
	if err != nil {
		t.Fatal(err)
	}
	a := audit{stream: map[string]int{}, processed: map[string]bool{}}
	cons, err := js.OrderedConsumer(ctx, "ORDERS", natsjs.OrderedConsumerConfig{FilterSubjects: []string{"orders.created"}})
	if err != nil {
		t.Fatal(err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for range info.NumPending {
		m, err := cons.Next(natsjs.FetchMaxWait(10 * time.Second))
		if err != nil {
			t.Fatalf("read stream: %v", err)
		}
		var e struct{ ID string }
		if err := json.Unmarshal(m.Data(), &e); err != nil {
			t.Fatal(err)
		}
		a.stream[e.ID]++
	}
	kv, err := js.KeyValue(ctx, "orders-processed")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := kv.ListKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for k := range keys.Keys() {
		a.processed[k] = true
	}
	return a
}

// requireExactlyOnce checks that every published order was processed, and
// by exactly one consumer, from NATS and from the consumers' logs.
func requireExactlyOnce(t *testing.T, a audit, published []string, consumers ...*proc) {
	t.Helper()
	logged := processedBy(consumers...)
	for _, id := range published {
		if a.stream[id] != 1 {
			t.Errorf("order %s stored %d times in the stream, want 1", id, a.stream[id])
		}
		if !a.processed[id] {
			t.Errorf("order %s published but never processed", id)
		}
		if n := len(logged[id]); n != 1 {
			t.Errorf("order %s processed %d times (%v), want once", id, n, logged[id])
		}
	}
	if len(a.processed) != len(published) {
		t.Errorf("%d orders processed, %d published", len(a.processed), len(published))
	}
}

// publishedIDs are the ids the producers logged as published (acknowledged).
func publishedIDs(ps ...*proc) []string {
	var ids []string
	for _, p := range ps {
		for _, r := range p.out.msgs("published order") {
			ids = append(ids, r["order_id"].(string))
		}
	}
	return ids
}

func rawPublish(t *testing.T, nc *nats.Conn, subject string, data []byte) {
	t.Helper()
	js, err := natsjs.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(context.Background(), subject, data); err != nil {
		t.Fatalf("publish: %v", err)
	}
}

// terminate is what Kubernetes sends a pod.
var terminate = syscall.SIGTERM
