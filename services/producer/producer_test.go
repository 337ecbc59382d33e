package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"golang.org/x/time/rate"

	"github.com/distsys-go/orders/platform/events"
	"github.com/distsys-go/orders/platform/messaging"
	"github.com/distsys-go/orders/platform/ops"
)

// recorder is a Publisher that fails the first failures attempts. When
// afterSent is set it is called with the number of messages sent so far.
type recorder struct {
	mu        sync.Mutex
	failures  int
	attempts  map[string]int
	sent      []*messaging.Message
	afterSent func(n int)
}

func (r *recorder) Publish(_ context.Context, m *messaging.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts[m.ID]++
	if r.failures > 0 {
		r.failures--
		return errors.New("nats: timeout")
	}
	r.sent = append(r.sent, m)
	if r.afterSent != nil {
		r.afterSent(len(r.sent))
	}
	return nil
}

func newTestProducer(pub messaging.Publisher, count int) *producer {
	return &producer{
		pub: pub, subject: "orders.created", version: events.V1, currency: "EUR", pace: rate.NewLimiter(rate.Inf, 1), count: count, keepIDs: true, window: 1,
		timeout: time.Second, products: []string{"sku-a", "sku-b"},
		metrics: newMetrics(prometheus.NewRegistry()), health: ops.NewStreak("publishing", time.Now),
		log: slog.New(slog.DiscardHandler), now: time.Now,
	}
}

func TestProducerPublishesCountValidOrders(t *testing.T) {
	rec := &recorder{attempts: map[string]int{}, failures: 2}
	p := newTestProducer(rec, 25)
	ids, err := p.run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 25 || len(rec.sent) != 25 {
		t.Fatalf("%d ids, %d sent; want 25", len(ids), len(rec.sent))
	}
	for i, m := range rec.sent {
		e, err := events.DecodeOrder(m.Data)
		if err != nil {
			t.Fatalf("order %d: %v", i, err)
		}
		if m.ID != e.ID || ids[i] != e.ID || m.Subject != "orders.created" {
			t.Errorf("message id %q, order id %q, returned id %q, subject %q", m.ID, e.ID, ids[i], m.Subject)
		}
	}
	// The two failed attempts were retries of the first order, under the
	// same message id, so the stream de-duplicates them.
	if got := rec.attempts[rec.sent[0].ID]; got != 3 {
		t.Errorf("first order attempted %d times, want 3", got)
	}
	if got := testutil.ToFloat64(p.metrics.publishErrors.WithLabelValues(reasonOther)); got != 2 {
		t.Errorf("publish errors{reason=other} %v, want 2 (a plain error)", got)
	}
	if got := testutil.ToFloat64(p.metrics.published); got != 25 {
		t.Errorf("published %v, want 25", got)
	}
}

// Each version's orders go out in that version's event, with the
// CloudEvents headers that name it, and read back as valid orders.
func TestProducerPublishesEachVersion(t *testing.T) {
	for _, v := range events.Versions {
		t.Run(v.Name, func(t *testing.T) {
			rec := &recorder{attempts: map[string]int{}}
			p := newTestProducer(rec, 20)
			p.version, p.subject = v, v.Subject("orders.created")
			if _, err := p.run(context.Background()); err != nil {
				t.Fatal(err)
			}
			for _, m := range rec.sent {
				o, err := v.Decode(m.Header, m.Data)
				if err != nil {
					t.Fatalf("order %s: %v", m.ID, err)
				}
				h := m.Header
				if o.ID != m.ID || o.Version != v.Name || h[events.HeaderType] != v.Type || h[events.HeaderID] != m.ID ||
					h[events.HeaderSpecVersion] != events.SpecVersion || h[events.HeaderSource] != eventSource {
					t.Errorf("order %+v, headers %v", o, h)
				}
				if v.Name != "v1" && (o.Currency != "EUR" || o.Lines[0].UnitPrice == 0) {
					t.Errorf("%s order without prices: %+v", v.Name, o)
				}
			}
		})
	}
}

func TestProducerStopsOnCancel(t *testing.T) {
	// The stop comes while the fifth publish is in flight, at a point the
	// test controls rather than after a wall-clock delay that a loaded
	// machine could stretch past the whole run: that publish still counts,
	// and nothing more is sent.
	const stopAt = 5
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rec := &recorder{attempts: map[string]int{}, afterSent: func(n int) {
		if n == stopAt {
			cancel()
		}
	}}
	p := newTestProducer(rec, 0)
	p.pace = rate.NewLimiter(rate.Every(time.Millisecond), 1)
	if _, err := p.run(ctx); err != nil {
		t.Fatalf("run after cancel: %v, want nil", err)
	}
	if p.acknowledgedCount() != stopAt || len(rec.sent) != stopAt {
		t.Errorf("published %d, sent %d; want %d each", p.acknowledgedCount(), len(rec.sent), stopAt)
	}
}

func TestPace(t *testing.T) {
	tests := []struct {
		name      string
		s         settings
		want      rate.Limit
		wantBurst int
	}{
		{"interval", settings{Interval: 2 * time.Second}, 0.5, 1},
		{"rate wins", settings{Interval: 2 * time.Second, Rate: 200}, 200, 1},
		{"slow rate", settings{Rate: 5}, 5, 1},
		{"fast rate: 1 ms worth at once", settings{Rate: 10000}, 10000, 10},
		{"unlimited", settings{}, rate.Inf, 1},
	}
	for _, tc := range tests {
		l := pace(tc.s)
		if l.Limit() != tc.want || l.Burst() != tc.wantBurst {
			t.Errorf("%s: limit %v burst %d, want %v burst %d", tc.name, l.Limit(), l.Burst(), tc.want, tc.wantBurst)
		}
	}
}

// rejecting is a Publisher whose server will never take a message.
type rejecting struct{ attempts int }

func (r *rejecting) Publish(context.Context, *messaging.Message) error {
	r.attempts++
	return fmt.Errorf("publish orders.created: %w: nats: maximum payload exceeded", messaging.ErrRejected)
}

// An order the server rejects is not retried for ever, stalling every
// order behind it: the producer stops with an error naming it.
func TestProducerStopsOnRejectedOrder(t *testing.T) {
	pub := &rejecting{}
	p := newTestProducer(pub, 3)
	_, err := p.run(context.Background())
	if !errors.Is(err, messaging.ErrRejected) || !strings.Contains(err.Error(), "order order-") {
		t.Fatalf("run: %v, want the rejected order's error", err)
	}
	if pub.attempts != 1 {
		t.Errorf("%d attempts, want 1", pub.attempts)
	}
	if got := testutil.ToFloat64(p.metrics.publishErrors.WithLabelValues(reasonRejected)); got != 1 {
		t.Errorf("publish errors{rejected} %v, want 1", got)
	}
}
