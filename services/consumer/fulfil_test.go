package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/distsys-go/orders/internal/memory"
	"github.com/distsys-go/orders/internal/testkit"
	"github.com/distsys-go/orders/platform/events"
	"github.com/distsys-go/orders/platform/ledger"
	"github.com/distsys-go/orders/platform/messaging"
	"github.com/distsys-go/orders/platform/ops"
)

const (
	testSubject = "orders.created"
	testDLQ     = "orders.deadletter"
)

func validOrder(id string) []byte {
	return []byte(`{"id":"` + id + `","product_id":"sku-1","quantity":2,"created_at":"2026-11-25T08:00:00Z"}`)
}

// flakyLedger fails its first failures calls, then records.
type flakyLedger struct {
	ledger.Ledger
	failures atomic.Int32
}

func (f *flakyLedger) Record(ctx context.Context, r ledger.Record) error {
	if f.failures.Add(-1) >= 0 {
		return errors.New("bucket unavailable")
	}
	return f.Ledger.Record(ctx, r)
}

type fixture struct {
	broker   *memory.Broker
	ledger   *ledger.Memory
	metrics  *metrics
	dlq      chan *messaging.Message
	full     *ops.Streak   // the replicas' shared full-ledger readiness
	stopping chan struct{} // closed: shutdown began
}

// newFixture runs replicas fulfillers on an in-memory broker sharing one
// in-memory ledger, as replicas share the KV bucket.
func newFixture(t *testing.T, replicas int, wrap func(ledger.Ledger) ledger.Ledger) *fixture {
	t.Helper()
	f := &fixture{
		broker:   memory.NewBroker(memory.WithAckWait(time.Second)),
		ledger:   ledger.NewMemory(),
		metrics:  newMetrics(prometheus.NewRegistry()),
		dlq:      make(chan *messaging.Message, 16),
		full:     ops.NewStreak("recording orders", time.Now),
		stopping: make(chan struct{}),
	}
	var led ledger.Ledger = f.ledger
	if wrap != nil {
		led = wrap(led)
	}
	dlqSub, err := f.broker.Subscriber("dlq-reader", 1).Subscribe(context.Background(), testDLQ, func(_ context.Context, m *messaging.Message) {
		_ = m.Ack()
		f.dlq <- m
	})
	if err != nil {
		t.Fatal(err)
	}
	subs := []messaging.Subscription{dlqSub}
	for i := range replicas {
		ff := &fulfiller{
			ledger: led, deadLetters: f.broker, deadLetterSub: testDLQ, maxPayload: 1024, maxDeliver: 5,
			full: f.full, fullRetry: 10 * time.Millisecond, stopping: f.stopping,
			instance: "replica-" + string(rune('a'+i)), metrics: f.metrics,
			log: slog.New(slog.DiscardHandler), now: time.Now,
		}
		sub, err := f.broker.Subscriber("fulfilment-workers", 2).Subscribe(context.Background(), testSubject, ff.Handler(events.V1))
		if err != nil {
			t.Fatal(err)
		}
		subs = append(subs, sub)
	}
	t.Cleanup(func() {
		for _, s := range subs {
			_ = s.Drain(context.Background())
		}
	})
	return f
}

func (f *fixture) publish(t *testing.T, msgID string, data []byte) {
	t.Helper()
	if err := f.broker.Publish(context.Background(), messaging.NewMessage(testSubject, msgID, data)); err != nil {
		t.Fatal(err)
	}
}

func TestOrdersAreProcessedOnceAcrossReplicas(t *testing.T) {
	f := newFixture(t, 3, nil)
	const n = 50
	ids := make([]string, n)
	for i := range ids {
		ids[i] = "order-" + string(rune('A'+i%26)) + string(rune('a'+i/26))
		f.publish(t, "m1-"+ids[i], validOrder(ids[i]))
		// The same order published again under another message id (a
		// producer retry past the duplicate window) must not double.
		f.publish(t, "m2-"+ids[i], validOrder(ids[i]))
	}
	testkit.Eventually(t, "every delivery is settled", testkit.Bound, func() (bool, string) {
		return testutil.ToFloat64(f.metrics.processed)+testutil.ToFloat64(f.metrics.duplicates) == 2*n, ""
	})
	if got := testutil.ToFloat64(f.metrics.processed); got != n {
		t.Errorf("processed %v, want %d", got, n)
	}
	if got := testutil.ToFloat64(f.metrics.duplicates); got != n {
		t.Errorf("duplicates skipped %v, want %d", got, n)
	}
	recs := f.ledger.Records()
	for _, id := range ids {
		if r, ok := recs[id]; !ok || r.ProductID != "sku-1" || r.Quantity != 2 || !strings.HasPrefix(r.ProcessedBy, "replica-") {
			t.Errorf("record of %s: %+v (present %v)", id, r, ok)
		}
	}
}

func TestBadMessagesAreDeadLettered(t *testing.T) {
	tests := []struct {
		name   string
		data   []byte
		reason string
	}{
		{"malformed JSON", []byte(`{"id": "order-1",`), events.ReasonMalformed},
		{"wrong types", []byte(`{"id":"order-1","product_id":7,"quantity":"two","created_at":"2026-11-25T08:00:00Z"}`), events.ReasonMalformed},
		{"missing fields", []byte(`{"id":"order-1"}`), events.ReasonInvalid},
		{"oversized", []byte(`{"id":"order-1","pad":"` + strings.Repeat("x", 2000) + `"}`), events.ReasonOversized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, 1, nil)
			f.publish(t, "bad-1", tc.data)
			var dl *messaging.Message
			select {
			case dl = <-f.dlq:
			case <-time.After(15 * time.Second):
				t.Fatal("no dead letter")
			}
			if got := dl.Header[events.HeaderDeadLetterReason]; got != tc.reason {
				t.Errorf("reason header %q, want %q", got, tc.reason)
			}
			want := map[string]string{
				events.HeaderOriginalSubject:     testSubject,
				events.HeaderOriginalID:          "bad-1",
				events.HeaderOriginalSequence:    "1",
				events.HeaderOriginalSize:        strconv.Itoa(len(tc.data)),
				events.HeaderDeliveries:          "1",
				events.HeaderDeadLetterTruncated: "false",
			}
			for k, v := range want {
				if dl.Header[k] != v {
					t.Errorf("header %s = %q, want %q", k, dl.Header[k], v)
				}
			}
			if dl.Header[events.HeaderDeadLetterError] == "" || string(dl.Data) != string(tc.data) {
				t.Errorf("dead letter headers %v, data %d bytes", dl.Header, len(dl.Data))
			}
			// The counter goes up once the publish returned, after the
			// dead letter reached its reader.
			testkit.Eventually(t, "dead-lettered{"+tc.reason+"} is 1", testkit.Bound, func() (bool, string) {
				return testutil.ToFloat64(f.metrics.deadLettered.WithLabelValues(tc.reason)) == 1, ""
			})
			// The consumer carries on with the next good order.
			f.publish(t, "good-1", validOrder("order-good"))
			testkit.Eventually(t, "the next order is processed", testkit.Bound, func() (bool, string) { return testutil.ToFloat64(f.metrics.processed) == 1, "" })
		})
	}
}

func TestTransientFailureIsRedelivered(t *testing.T) {
	var flaky *flakyLedger
	f := newFixture(t, 1, func(l ledger.Ledger) ledger.Ledger {
		flaky = &flakyLedger{Ledger: l}
		flaky.failures.Store(1)
		return flaky
	})
	f.publish(t, "m-1", validOrder("order-1"))
	testkit.Eventually(t, "the order is processed after a retry", testkit.Bound, func() (bool, string) { return testutil.ToFloat64(f.metrics.processed) == 1, "" })
	if got := testutil.ToFloat64(f.metrics.failed); got != 1 {
		t.Errorf("failed %v, want 1", got)
	}
	if got := testutil.ToFloat64(f.metrics.redelivered); got != 1 {
		t.Errorf("redelivered %v, want 1", got)
	}
	if _, ok := f.ledger.Records()["order-1"]; !ok {
		t.Error("order-1 not recorded")
	}
}

// recordedAtAck is a settler that notes, when the message is acknowledged,
// whether its order was recorded by then.
type recordedAtAck struct {
	led      *ledger.Memory
	id       string
	acked    bool
	recorded bool
}

func (s *recordedAtAck) Ack() error {
	_, s.recorded = s.led.Records()[s.id]
	s.acked = true
	return nil
}
func (s *recordedAtAck) Nak(time.Duration) error { return errors.New("unexpected nak") }
func (s *recordedAtAck) Term(string) error       { return errors.New("unexpected term") }
func (s *recordedAtAck) InProgress() error       { return nil }

// An order is acknowledged only once its record exists, and its log line
// carries its age in milliseconds with microsecond precision.
func TestProcessedOrderIsAckedAfterItsRecordAndLogsItsAge(t *testing.T) {
	led := ledger.NewMemory()
	var out bytes.Buffer
	created := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	f := &fulfiller{
		ledger: led, maxPayload: 1024, maxDeliver: 5, instance: "c-1", full: ops.NewStreak("recording orders", nil),
		metrics: newMetrics(prometheus.NewRegistry()), log: slog.New(slog.NewJSONHandler(&out, nil)),
		now: func() time.Time { return created.Add(1234 * time.Microsecond) },
	}
	settler := &recordedAtAck{led: led, id: "order-1"}
	f.Handler(events.V1)(context.Background(), messaging.NewDelivery(testSubject, "m-1", nil, validOrder("order-1"), 1, settler))
	if !settler.acked || !settler.recorded {
		t.Errorf("acked %v, recorded when acked %v; want both", settler.acked, settler.recorded)
	}
	var line struct {
		Msg   string  `json:"msg"`
		AgeMS float64 `json:"age_ms"`
	}
	if err := json.Unmarshal(out.Bytes(), &line); err != nil {
		t.Fatalf("log line %q: %v", out.String(), err)
	}
	if line.Msg != "received order" || line.AgeMS != 1.234 {
		t.Errorf("logged %q with age_ms %v, want \"received order\" with 1.234", line.Msg, line.AgeMS)
	}
}

// fullLedger refuses every record with ledger.ErrFull until room is set.
type fullLedger struct {
	ledger.Ledger
	room    atomic.Bool
	refused atomic.Int32
}

func (f *fullLedger) Record(ctx context.Context, r ledger.Record) error {
	if !f.room.Load() {
		f.refused.Add(1)
		return fmt.Errorf("record order %s: %w: maximum bytes exceeded", r.OrderID, ledger.ErrFull)
	}
	return f.Ledger.Record(ctx, r)
}

// A full ledger holds the orders (in progress, never handed back, so no
// delivery is used up and nothing is dead-lettered) and says so on
// readiness until room returns; then each order is recorded once. At
// shutdown a waiting order is left for redelivery, neither acknowledged
// nor handed back.
func TestFullLedgerHoldsOrdersUntilRoom(t *testing.T) {
	for _, tc := range []struct {
		name      string
		recovery  func(*fixture, *fullLedger)
		processed float64
		// redelivered: let go at shutdown, neither acknowledged nor
		// handed back, the orders come back after the ack wait.
		redelivered bool
	}{
		{"room returns", func(_ *fixture, l *fullLedger) { l.room.Store(true) }, 2, false},
		{"shutdown while full", func(f *fixture, _ *fullLedger) { close(f.stopping) }, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var full *fullLedger
			f := newFixture(t, 1, func(l ledger.Ledger) ledger.Ledger {
				full = &fullLedger{Ledger: l}
				return full
			})
			// Two orders, one per handler of the replica (none waits
			// unheld in a buffer), retried well past the broker's 1s ack
			// wait: marked in progress, they are not redelivered.
			for _, id := range []string{"order-1", "order-2"} {
				f.publish(t, id, validOrder(id))
			}
			testkit.Eventually(t, "readiness names the full ledger", testkit.Bound, func() (bool, string) {
				err := f.full.Check()
				return err != nil && strings.Contains(err.Error(), "recording orders failing (ledger full)") &&
					errors.Is(err, ledger.ErrFull) && full.refused.Load() >= 300, fmt.Sprint(err, "; refused ", full.refused.Load())
			})
			if got := testutil.ToFloat64(f.metrics.redelivered); got != 0 {
				t.Errorf("%v redeliveries while the orders were held, want 0", got)
			}
			tc.recovery(f, full)
			testkit.Eventually(t, "the orders recorded, or let go", testkit.Bound, func() (bool, string) {
				processed, redelivered := testutil.ToFloat64(f.metrics.processed), testutil.ToFloat64(f.metrics.redelivered)
				return processed == tc.processed && (redelivered >= 2) == tc.redelivered,
					fmt.Sprintf("processed %v, redelivered %v", processed, redelivered)
			})
			if tc.processed > 0 && f.full.Check() != nil {
				t.Errorf("readiness after room returned: %v", f.full.Check())
			}
			if got := testutil.ToFloat64(f.metrics.failed); got != 0 {
				t.Errorf("%v orders handed back, want 0", got)
			}
			select {
			case m := <-f.dlq:
				t.Errorf("dead letter %s %v", m.Data, m.Header)
			default:
			}
		})
	}
}
