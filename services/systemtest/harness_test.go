package systemtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/distsys-go/orders/internal/natstest"
	"github.com/distsys-go/orders/internal/testkit"
	"github.com/distsys-go/orders/test/audit"
)

// names are the chart's JetStream names, which the services default to.
var names = audit.ChartNames()

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

// start runs the binary TestMain built for bin ("producer", "consumer").
func start(t *testing.T, bin string, environ []string) *testkit.Proc {
	t.Helper()
	return testkit.Start(t, bins[bin], environ)
}

// readAudit reads what NATS itself holds: the orders in the stream and the
// keys of the processed-orders bucket.
func readAudit(t *testing.T, srv *natstest.Server) audit.Audit {
	t.Helper()
	js, err := natsjs.New(srv.Connect(t))
	if err != nil {
		t.Fatal(err)
	}
	return audit.ReadAudit(t, js, audit.ChartNames())
}

// requireExactlyOnce checks that every published order was processed, and
// by exactly one consumer, from NATS and from the consumers' logs. (The
// stream is a work queue: a processed order has left it, so the ledger,
// not the stream, shows each order once.)
func requireExactlyOnce(t *testing.T, a audit.Audit, published []string, consumers ...*testkit.Proc) {
	t.Helper()
	logged := audit.ProcessedBy(consumers...)
	for _, id := range published {
		if _, ok := a.Recorded[id]; !ok {
			t.Errorf("order %s published but never processed", id)
		}
		if n := len(logged[id]); n != 1 {
			t.Errorf("order %s processed %d times (%v), want once", id, n, logged[id])
		}
	}
	if len(a.Recorded) != len(published) {
		t.Errorf("%d orders processed, %d published", len(a.Recorded), len(published))
	}
	if n := a.Twice(); n != 0 {
		t.Errorf("the ledger took %d writes more than it has keys: an order had a second effect", n)
	}
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

// missing is an Eventually condition: every id in published is logged as
// received by one of the consumers; seen names how many are not yet.
func missing(published []string, consumers ...*testkit.Proc) (bool, string) {
	processed := audit.ProcessedBy(consumers...)
	n := 0
	for _, id := range published {
		if len(processed[id]) == 0 {
			n++
		}
	}
	return n == 0, fmt.Sprintf("%d of %d published orders not yet logged as received", n, len(published))
}

// durable returns the state of the consumers' shared durable.
func durable(js natsjs.JetStream) (*natsjs.ConsumerInfo, error) {
	c, err := js.Consumer(context.Background(), names.Stream, names.Durable)
	if err != nil {
		return nil, err
	}
	return c.Info(context.Background())
}
