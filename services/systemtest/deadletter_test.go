package systemtest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/distsys-go/orders/internal/natstest"
	"github.com/distsys-go/orders/internal/testkit"
	"github.com/distsys-go/orders/platform/ledger"
	"github.com/distsys-go/orders/test/audit"
)

// order is a valid order event with the given id, padded with trailing
// spaces (still valid JSON) to size bytes if size is larger.
func order(id string, size int) []byte {
	b := []byte(`{"id":"` + id + `","product_id":"sku-1","quantity":1,"created_at":"2026-11-25T08:00:00Z"}`)
	return append(b, []byte(strings.Repeat(" ", max(0, size-len(b))))...)
}

// The reproduction: on a server with the default max_payload
// (1 MiB) and a consumer with defaults, a body 64 bytes under the server's
// limit is dead-lettered once, as a reference, and nothing is left pending
// or redelivered. A body exactly at MAX_PAYLOAD_BYTES is not oversized; one
// byte more is.
func TestPayloadLimits(t *testing.T) {
	srv := natstest.Run(t)
	c1 := start(t, "consumer", env(srv.ClientURL(), "c1"))
	addr := c1.WaitReady(t)
	js := jetStream(t, srv)
	nearServerMax := publish(t, js, order("order-huge", 1<<20-64))
	atLimit := publish(t, js, order("order-at-limit", 65536))
	overLimit := publish(t, js, order("order-over-limit", 65537))

	settled(t, js, overLimit)
	testkit.Eventually(t, "order-at-limit's log line is read", testkit.Bound, func() (bool, string) {
		n := len(audit.ProcessedBy(c1)["order-at-limit"])
		return n > 0, fmt.Sprintf("logged %d times", n)
	})
	if got := audit.ProcessedBy(c1); len(got) != 1 || len(got["order-at-limit"]) != 1 {
		t.Errorf("processed %v, want order-at-limit (seq %d) only", got, atLimit)
	}
	dead := deadLetters(t, js)
	if len(dead) != 2 {
		t.Fatalf("%d dead letters, want 2", len(dead))
	}
	for _, tc := range []struct {
		seq  uint64
		size int
	}{{nearServerMax, 1<<20 - 64}, {overLimit, 65537}} {
		dl := dead[tc.seq]
		if dl == nil {
			t.Errorf("no dead letter refers to ORDERS #%d", tc.seq)
			continue
		}
		h := dl.Header
		if h.Get("Orders-Dead-Letter-Reason") != "oversized" || h.Get("Orders-Original-Stream") != names.Stream ||
			h.Get("Orders-Original-Size") != strconv.Itoa(tc.size) || h.Get("Orders-Dead-Letter-Truncated") != "true" ||
			h.Get("Orders-Original-Subject") != names.Orders || len(dl.Data) != 4096 {
			t.Errorf("dead letter of #%d: headers %v, body %d bytes", tc.seq, h, len(dl.Data))
		}
	}
	wantMetrics(t, addr, `orders_dead_lettered_total{reason="oversized"} 2`, "orders_processed_total 1",
		"orders_redelivered_total 0", `orders_dead_letter_failures_total{reason="oversized"} 0`)
}

// A dead-letter subject the stream stopped capturing refuses every dead
// letter: the message is retried with back-off up to MAX_DELIVER
// deliveries, then logged with where it is and counted, and left to the
// server, which keeps it in the work queue once it stops delivering it.
func TestRefusedDeadLetterDoesNotLoop(t *testing.T) {
	srv := natstest.Run(t)
	c1 := start(t, "consumer", env(srv.ClientURL(), "c1", "MAX_DELIVER=3"))
	addr := c1.WaitReady(t)
	js := jetStream(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), testkit.Bound)
	defer cancel()
	s, err := js.Stream(ctx, names.Stream)
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.CachedInfo().Config
	cfg.Subjects = []string{names.Orders}
	if _, err := js.UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	seq := publish(t, js, []byte(`{"id":`))

	settled(t, js, seq)
	// Deliveries 1 and 2 retry; the 3rd gives up and hands the message
	// back, so the server keeps it after MAX_DELIVER and announces it; the
	// announcement's dead letter is refused too.
	wantMetrics(t, addr, `orders_dead_letter_failures_total{reason="malformed"} 1`,
		`orders_dead_letter_failures_total{reason="max-deliveries"} 1`, `orders_dead_lettered_total{reason="malformed"} 0`)
	const gaveUp = "dead-letter publish failed for good; message left in its stream"
	testkit.Eventually(t, "the error is logged", testkit.Bound, func() (bool, string) {
		n := len(c1.Logged(gaveUp))
		return n > 0, fmt.Sprintf("%d lines %q", n, gaveUp)
	})
	// Log lines are read in order, so the earlier retries are read too.
	if n := len(c1.Logged("dead-letter publish failed; message handed back")); n != 2 {
		t.Errorf("dead letter retried %d times, want 2 (deliveries 1 and 2 of 3)", n)
	}
	lost := c1.Logged(gaveUp)
	if len(lost) != 1 || lost[0].String("stream") != names.Stream || lost[0]["stream_seq"] != float64(seq) || lost[0].String("level") != "ERROR" {
		t.Fatalf("error log %v, want one naming ORDERS #%d", lost, seq)
	}
	if m, err := s.GetMsg(ctx, seq); err != nil || string(m.Data) != `{"id":` {
		t.Errorf("ORDERS #%d: %v; want it still stored where the log says", seq, err)
	}
}

// A valid order whose processing fails on every delivery (the ledger's
// bucket is sealed: it answers every write with an error) is dead-lettered as max-deliveries on its MAX_DELIVER-th
// delivery and terminated, so it leaves the work queue: the dead letter's
// body is its copy.
func TestFailingOrderEndsDeadLettered(t *testing.T) {
	srv := natstest.Run(t)
	c1 := start(t, "consumer", env(srv.ClientURL(), "c1", "MAX_DELIVER=3"))
	addr := c1.WaitReady(t)
	js := jetStream(t, srv)
	sealLedger(t, js)
	seq := publish(t, js, order("order-doomed", 0))

	settled(t, js, seq)
	wantMetrics(t, addr, `orders_dead_lettered_total{reason="max-deliveries"} 1`, "orders_failed_total 2", "orders_processed_total 0")
	findable(t, js, seq, "3", "order-doomed", false)
}

// A valid order whose every delivery stalls (the consumer never settles
// it) is given up by the server after MAX_DELIVER deliveries; the
// max-deliveries advisory makes the consumer dead-letter it all the same.
func TestStalledOrderEndsDeadLettered(t *testing.T) {
	srv := natstest.Run(t)
	c1 := start(t, "consumer", env(srv.ClientURL(), "c1", "MAX_DELIVER=2", "ACK_WAIT=1s", "WORK_TIME=1h"))
	addr := c1.WaitReady(t)
	js := jetStream(t, srv)
	seq := publish(t, js, order("order-stalled", 0))

	settled(t, js, seq)
	wantMetrics(t, addr, `orders_dead_lettered_total{reason="max-deliveries"} 1`, "orders_redelivered_total 1")
	findable(t, js, seq, "2", "order-stalled", true)
}

// sealLedger seals the ledger bucket's stream: every record is refused
// with an error about the write, which the consumer hands back for
// redelivery. (A bucket deleted instead answers nothing, like one without
// a leader: the consumer then holds its orders until it is back.)
func sealLedger(t *testing.T, js natsjs.JetStream) {
	t.Helper()
	ctx := context.Background()
	s, err := js.Stream(ctx, ledger.Bucket{Name: names.Bucket}.StreamName())
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.CachedInfo().Config
	cfg.Sealed = true
	if _, err := js.UpdateStream(ctx, cfg); err != nil {
		t.Fatalf("seal the ledger: %v", err)
	}
}

func jetStream(t *testing.T, srv *natstest.Server) natsjs.JetStream {
	t.Helper()
	js, err := natsjs.New(srv.Connect(t))
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// publish stores data on orders.created and returns its stream sequence.
func publish(t *testing.T, js natsjs.JetStream, data []byte) uint64 {
	t.Helper()
	ack, err := js.Publish(context.Background(), names.Orders, data)
	if err != nil {
		t.Fatalf("publish %d bytes: %v", len(data), err)
	}
	return ack.Sequence
}

// settled waits until the durable delivered seq and holds nothing
// unacknowledged (a Nak'd message counts until redelivered), nor anything
// undelivered: from then on it delivers nothing again, so redeliveries
// have stopped. (The ack floor is no test: a message the server gave up on
// after MaxDeliver stays above it.)
func settled(t *testing.T, js natsjs.JetStream, seq uint64) {
	t.Helper()
	testkit.Eventually(t, "the durable settled everything up to #"+strconv.FormatUint(seq, 10), testkit.Bound, func() (bool, string) {
		i, err := durable(js)
		if err != nil {
			return false, err.Error()
		}
		return i.NumAckPending == 0 && i.NumPending == 0 && i.Delivered.Stream >= seq,
			fmt.Sprintf("num_ack_pending %d, num_pending %d, delivered up to #%d", i.NumAckPending, i.NumPending, i.Delivered.Stream)
	})
}

// deadLetters reads every dead letter in the stream, by the original's
// sequence they name.
func deadLetters(t *testing.T, js natsjs.JetStream) map[uint64]*natsjs.RawStreamMsg {
	t.Helper()
	s, err := js.Stream(context.Background(), names.Stream)
	if err != nil {
		t.Fatal(err)
	}
	out := map[uint64]*natsjs.RawStreamMsg{}
	for _, m := range audit.StreamMessages(t, s, names.DeadLetters) {
		seq, _ := strconv.ParseUint(m.Header.Get("Orders-Original-Sequence"), 10, 64)
		if _, dup := out[seq]; dup {
			t.Errorf("two dead letters for ORDERS #%d", seq)
		}
		out[seq] = m
	}
	return out
}

// findable checks that the one dead letter is a max-deliveries reference
// to ORDERS #seq after deliveries deliveries carrying orderID, and whether
// the order is still stored there: a message the consumer terminated has
// left the work queue, one the server gave up on (never settled) stays
// until STREAM_MAX_AGE.
func findable(t *testing.T, js natsjs.JetStream, seq uint64, deliveries, orderID string, stored bool) {
	t.Helper()
	dead := deadLetters(t, js)
	dl := dead[seq]
	if len(dead) != 1 || dl == nil {
		t.Fatalf("dead letters %v, want one referring to ORDERS #%d", dead, seq)
	}
	h := dl.Header
	if h.Get("Orders-Dead-Letter-Reason") != "max-deliveries" || h.Get("Orders-Deliveries") != deliveries ||
		h.Get("Orders-Original-Stream") != names.Stream || !strings.Contains(string(dl.Data), orderID) {
		t.Errorf("dead letter headers %v, body %q", h, dl.Data)
	}
	s, err := js.Stream(context.Background(), h.Get("Orders-Original-Stream"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.GetMsg(context.Background(), seq)
	switch {
	case stored && (err != nil || !strings.Contains(string(m.Data), orderID)):
		t.Errorf("ORDERS #%d: %v; want %s still stored", seq, err, orderID)
	case !stored && !errors.Is(err, natsjs.ErrMsgNotFound):
		t.Errorf("ORDERS #%d: %v; want it gone from the work queue once terminated", seq, err)
	}
}

// wantMetrics waits until every line is in the consumer's metrics.
func wantMetrics(t *testing.T, addr string, lines ...string) {
	t.Helper()
	for _, line := range lines {
		testkit.Eventually(t, "metrics show "+line, testkit.Bound, func() (bool, string) {
			return strings.Contains(testkit.Metrics(t, addr), line+"\n"), "not among the metrics"
		})
	}
}
