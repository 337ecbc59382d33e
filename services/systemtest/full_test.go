package systemtest

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/distsys-go/orders/internal/natstest"
	"github.com/distsys-go/orders/internal/testkit"
	"github.com/distsys-go/orders/test/audit"
)

// defaultWindow is PUBLISH_MAX_IN_FLIGHT's default.
const defaultWindow = 1024

// The storage test: a deliberately small work-queue stream
// (STREAM_MAX_BYTES at its 64 KiB minimum, ~290 orders) fills while no
// consumer runs. The producer says why it is stuck, in its log, its
// publish-error counter and its /readyz, and keeps retrying the refused
// orders. A consumer then drains the stream: the producer carries on from
// the refused orders (the window that was in flight, PUBLISH_MAX_IN_FLIGHT
// by default), is ready again, and nothing is lost or doubled.
func TestFullStreamRefusesThenDrains(t *testing.T) {
	srv := natstest.Run(t)
	small := "STREAM_MAX_BYTES=65536"
	prod := start(t, "producer", env(srv.ClientURL(), "p1", small, "PUBLISH_INTERVAL=0", "PUBLISH_TIMEOUT=2s"))
	addr := prod.Addr(t)

	var refused string
	testkit.Eventually(t, "the producer logs the full storage", testkit.Bound, func() (bool, string) {
		for _, r := range prod.Logged("publish order failed; retrying") {
			if strings.Contains(r.String("error"), "storage full") {
				refused = r.String("order_id")
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d orders published, no full-storage retry logged", len(prod.Logged("published order")))
	})
	testkit.Eventually(t, "/metrics counts the refusals as full", testkit.Bound, func() (bool, string) {
		const sample = `orders_publish_errors_total{reason="full"} `
		for line := range strings.Lines(testkit.Metrics(t, addr)) {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), sample); ok {
				return v != "0", sample + v
			}
		}
		return false, "no " + sample + "sample"
	})
	testkit.Eventually(t, "/readyz 503 says why", testkit.Bound, func() (bool, string) {
		code, body := testkit.Get(addr, "/readyz")
		return code == http.StatusServiceUnavailable && strings.Contains(body, "publishing failing (full)"), fmt.Sprintf("%d %q", code, body)
	})
	js := jetStream(t, srv)
	s, err := js.Stream(context.Background(), names.Stream)
	if err != nil {
		t.Fatal(err)
	}
	// Every order stored was acknowledged and logged; the refused ones,
	// up to a window of them, are retried and neither.
	var stuckAt int
	testkit.Eventually(t, "the full stream holds exactly the orders logged as published", testkit.Bound, func() (bool, string) {
		stuckAt = len(audit.PublishedIDs(prod))
		info, err := s.Info(context.Background())
		if err != nil {
			return false, err.Error()
		}
		return info.State.Bytes <= 65536 && info.State.Msgs == uint64(stuckAt),
			fmt.Sprintf("%d orders in %d bytes; %d published, within 65536", info.State.Msgs, info.State.Bytes, stuckAt)
	})

	c1 := start(t, "consumer", env(srv.ClientURL(), "c1", small))
	c1.WaitReady(t)
	// The refused orders (up to a window of them) go out again before any
	// new one: the refused order is among the first window published after
	// the refusals.
	testkit.Eventually(t, "the refused order is published", testkit.Bound, func() (bool, string) {
		after := audit.PublishedIDs(prod)[stuckAt:]
		return slices.Contains(after, refused), fmt.Sprintf("%d published since the refusals, %s not yet", len(after), refused)
	})
	if at := slices.Index(audit.PublishedIDs(prod)[stuckAt:], refused); at >= defaultWindow {
		t.Errorf("the refused order %s is published %d orders after the refusals, beyond a window of %d: the window's orders were not retried first", refused, at, defaultWindow)
	}
	testkit.Eventually(t, "the producer carries on past the refused order", testkit.Bound, func() (bool, string) {
		n := len(audit.PublishedIDs(prod))
		return n > stuckAt+defaultWindow, fmt.Sprintf("%d published, stuck at %d", n, stuckAt)
	})
	prod.WaitReady(t)
	if code := prod.Terminate(t); code != 0 {
		t.Fatalf("producer exit %d: %s", code, prod.Stderr())
	}
	published := audit.PublishedIDs(prod)
	testkit.Eventually(t, "processing drains the stream", testkit.Bound, func() (bool, string) {
		i, err := s.Info(context.Background())
		if err != nil {
			return false, err.Error()
		}
		n := len(audit.ProcessedBy(c1))
		return i.State.Msgs == 0 && n >= len(published), fmt.Sprintf("%d orders in the stream, %d of %d processed", i.State.Msgs, n, len(published))
	})
	o := readAudit(t, srv).Against(published)
	if o.Lost != 0 || o.Twice != 0 || o.Unknown != 0 || o.Recorded != len(published) {
		t.Errorf("audit %+v, want all %d recorded, lost 0, twice 0", o, len(published))
	}
}
