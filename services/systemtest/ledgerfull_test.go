package systemtest

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/distsys-go/orders/internal/natstest"
	"github.com/distsys-go/orders/internal/testkit"
	"github.com/distsys-go/orders/platform/ledger"
	"github.com/distsys-go/orders/test/audit"
)

// The full ledger: a bucket at its 64 KiB minimum fills while
// orders flow. The consumer says so on /readyz (503, naming the full
// ledger) and in the storage gauges the OrdersStorageNearlyFull alert
// reads, and holds the orders it cannot record instead of handing them
// back. `consumer provision` with a larger DEDUP_MAX_BYTES (what a helm
// upgrade's provision Job runs) grows the bucket; the running consumer
// then records every order by itself, once each, and none is
// dead-lettered or redelivered beyond its first delivery's hold.
func TestFullLedgerWaitsThenHeals(t *testing.T) {
	const orders = 1000
	srv := natstest.Run(t)
	small := "DEDUP_MAX_BYTES=65536"
	c1 := start(t, "consumer", env(srv.ClientURL(), "c1", small, "METRICS_INTERVAL=1s"))
	addr := c1.WaitReady(t)
	prod := start(t, "producer", env(srv.ClientURL(), "p1", "PUBLISH_INTERVAL=0", "PUBLISH_COUNT="+strconv.Itoa(orders)))
	if code := prod.Wait(t); code != 0 {
		t.Fatalf("producer exit %d: %s", code, prod.Stderr())
	}
	published := audit.PublishedIDs(prod)
	if len(published) != orders {
		t.Fatalf("producer logged %d published orders, want %d", len(published), orders)
	}

	testkit.Eventually(t, "/readyz 503 names the full ledger", testkit.Bound, func() (bool, string) {
		code, body := testkit.Get(addr, "/readyz")
		return code == http.StatusServiceUnavailable && strings.Contains(body, "recording orders failing (ledger full)"),
			fmt.Sprintf("%d %q", code, body)
	})
	ledgerStream := `stream="` + ledger.Bucket{Name: names.Bucket}.StreamName() + `"`
	testkit.Eventually(t, "the ledger's fill, as the storage alert computes it, is over 80%", testkit.Bound, func() (bool, string) {
		m := testkit.Metrics(t, addr)
		used, max := sample(m, "orders_stream_bytes", ledgerStream), sample(m, "orders_stream_max_bytes", ledgerStream)
		return max > 0 && used/max > 0.8, fmt.Sprintf("%v of %v bytes", used, max)
	})
	held := len(audit.ProcessedBy(c1))
	if held >= orders {
		t.Fatalf("all %d orders processed in a 64 KiB ledger", held)
	}
	if n := c1.Count("order processing failed; will be redelivered"); n != 0 {
		t.Errorf("%d orders handed back while the ledger was full, want 0 (they wait)", n)
	}

	grow := testkit.Start(t, bins["consumer"], env(srv.ClientURL(), "provision-1", "DEDUP_MAX_BYTES=1048576"), testkit.Args("provision"))
	if code := grow.Wait(t); code != 0 {
		t.Fatalf("consumer provision exit %d: %s", code, grow.Stderr())
	}
	testkit.Eventually(t, "every order recorded once the bucket grew", testkit.Bound, func() (bool, string) {
		return missing(published, c1)
	})
	c1.WaitReady(t)
	healed := c1.Logged("the ledger takes records again")
	if len(healed) == 0 {
		t.Fatal(`no "the ledger takes records again" logged`)
	}
	// Near the limit a shorter record may still fit: the ledger can be
	// full, then not, several times before it stays full.
	t.Logf("%d of %d orders recorded before the ledger filled; it was full %d times, the last for %s",
		held, orders, len(healed), healed[len(healed)-1].String("waited"))
	requireExactlyOnce(t, readAudit(t, srv), published, c1)
	wantMetrics(t, addr, `orders_dead_lettered_total{reason="max-deliveries"} 0`, "orders_failed_total 0")
	if code := c1.Terminate(t); code != 0 {
		t.Errorf("consumer exit %d after SIGTERM: %s", code, c1.Stderr())
	}
}

// sample is the value of the first sample of name whose labels include
// label in Prometheus text (0 when none).
func sample(metrics, name, label string) float64 {
	for line := range strings.Lines(metrics) {
		if !strings.HasPrefix(line, name+"{") || !strings.Contains(line, label) {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err == nil {
			return v
		}
	}
	return 0
}
