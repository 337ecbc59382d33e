package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/distsys-go/orders/internal/natstest"
	"github.com/distsys-go/orders/internal/testkit"
	"github.com/distsys-go/orders/platform/messaging"
	"github.com/distsys-go/orders/platform/messaging/jetstream"
	"github.com/distsys-go/orders/test/audit"
)

var testStream = natsjs.StreamConfig{Name: "ORDERS", Subjects: []string{"orders.>"}, Duplicates: time.Minute}

// orderStream starts a server with the stream cfg and returns a publisher
// wired as run wires it (asynchronous acks time out) and the stream.
func orderStream(t *testing.T, cfg natsjs.StreamConfig) (*jetstream.Publisher, natsjs.Stream) {
	t.Helper()
	js, err := natsjs.New(natstest.Run(t).Connect(t), natsjs.WithPublishAsyncTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	stream, err := js.CreateStream(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return jetstream.NewPublisher(js), stream
}

// gated wraps a real publisher: it counts the orders sent and not yet
// collected, holds every acknowledgement until release is closed (when
// set), and reports the first acknowledgement of the orders lose picks as
// timed out although the server stored them: an ack lost on the way.
type gated struct {
	next    *jetstream.Publisher
	release chan struct{}
	lose    func(n int) bool // n: the order's place, 1 for the first sent

	mu          sync.Mutex
	sent        int
	inFlight    int
	maxInFlight int
	lost        map[string]bool
}

var _ messaging.AsyncPublisher = (*gated)(nil)

func (g *gated) Publish(ctx context.Context, msg *messaging.Message) error {
	return g.next.Publish(ctx, msg)
}

func (g *gated) PublishAsync(ctx context.Context, msg *messaging.Message) (messaging.PubAck, error) {
	ack, err := g.next.PublishAsync(ctx, msg)
	if err != nil {
		return nil, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.sent++
	g.inFlight++
	g.maxInFlight = max(g.maxInFlight, g.inFlight)
	if g.lose != nil && g.lose(g.sent) {
		g.lost[msg.ID] = true
	}
	return gatedAck{g: g, next: ack, id: msg.ID}, nil
}

func (g *gated) counts() (sent, inFlight, maxInFlight int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.sent, g.inFlight, g.maxInFlight
}

type gatedAck struct {
	g    *gated
	next messaging.PubAck
	id   string
}

func (a gatedAck) Wait(ctx context.Context) error {
	if a.g.release != nil {
		<-a.g.release
	}
	err := a.next.Wait(ctx)
	a.g.mu.Lock()
	defer a.g.mu.Unlock()
	a.g.inFlight--
	if err == nil && a.g.lost[a.id] {
		return fmt.Errorf("%w: acknowledgement lost", context.DeadlineExceeded)
	}
	return err
}

func newGated(pub *jetstream.Publisher) *gated { return &gated{next: pub, lost: map[string]bool{}} }

// logged returns the order ids of the lines logged with msg.
func logged(t *testing.T, logs *testkit.SyncBuffer, msg string) []string {
	t.Helper()
	var ids []string
	for line := range strings.Lines(logs.String()) {
		var r struct {
			Msg     string
			OrderID string `json:"order_id"`
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if r.Msg == msg {
			ids = append(ids, r.OrderID)
		}
	}
	return ids
}

// storedIDs returns the message ids the stream holds, each as often as it
// is stored.
func storedIDs(t *testing.T, s natsjs.Stream) []string {
	t.Helper()
	var ids []string
	for _, m := range audit.StreamMessages(t, s, "orders.created") {
		ids = append(ids, m.Header.Get("Nats-Msg-Id"))
	}
	return ids
}

// runAsync runs p and returns what run returns once it does.
func runAsync(p *producer, ctx context.Context) <-chan error {
	done := make(chan error, 1)
	go func() {
		_, err := p.run(ctx)
		done <- err
	}()
	return done
}

// The window fills, and no order is sent while window orders await their
// acknowledgement; released, the producer publishes exactly count orders,
// each stored once, counted and logged once.
func TestWindowBoundsOrdersInFlight(t *testing.T) {
	for _, window := range []int{1, 8} {
		t.Run(fmt.Sprint("window=", window), func(t *testing.T) {
			pub, stream := orderStream(t, testStream)
			g := newGated(pub)
			g.release = make(chan struct{})
			count := 5*window + 3
			var logs testkit.SyncBuffer
			p := newTestProducer(g, count)
			p.window, p.log = window, slog.New(slog.NewJSONHandler(&logs, nil))
			done := runAsync(p, context.Background())

			testkit.Eventually(t, "the window fills", testkit.Bound, func() (bool, string) {
				_, inFlight, _ := g.counts()
				return inFlight == window, ""
			})
			if sent, _, _ := g.counts(); sent != window || p.acknowledgedCount() != 0 {
				t.Fatalf("%d orders sent, %d counted while %d await their acks; want %d sent, none counted", sent, p.acknowledgedCount(), window, window)
			}
			close(g.release)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			sent, _, maxInFlight := g.counts()
			if sent != count || maxInFlight > window {
				t.Errorf("%d sent, at most %d in flight; want %d, at most %d", sent, maxInFlight, count, window)
			}
			checkPublished(t, p, &logs, stream, count)
		})
	}
}

// checkPublished checks that the producer published count orders: each id
// returned, counted, logged and stored exactly once.
func checkPublished(t *testing.T, p *producer, logs *testkit.SyncBuffer, stream natsjs.Stream, count int) {
	t.Helper()
	stored := storedIDs(t, stream)
	slices.Sort(stored)
	for name, ids := range map[string][]string{"returned": p.ids, "logged as published": logged(t, logs, "published order")} {
		ids = slices.Sorted(slices.Values(ids))
		if !slices.Equal(ids, stored) {
			t.Errorf("%d ids %s, %d stored: they differ", len(ids), name, len(stored))
		}
	}
	if len(stored) != count || len(slices.Compact(stored)) != count {
		t.Errorf("stream holds %d orders, %d distinct; want %d", len(stored), len(slices.Compact(stored)), count)
	}
	if got := testutil.ToFloat64(p.metrics.published); got != float64(count) {
		t.Errorf("orders_published_total %v, want %d", got, count)
	}
}

// An order whose acknowledgement is lost is sent again under its id: the
// stream stores it once, and it is counted once, on the acknowledgement of
// the retry.
func TestLostAckRetriedUnderSameID(t *testing.T) {
	pub, stream := orderStream(t, testStream)
	g := newGated(pub)
	g.lose = func(n int) bool { return n%3 == 0 }
	const count = 30
	var logs testkit.SyncBuffer
	p := newTestProducer(g, count)
	p.window, p.log = 8, slog.New(slog.NewJSONHandler(&logs, nil))
	if _, err := p.run(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkPublished(t, p, &logs, stream, count)
	if got := testutil.ToFloat64(p.metrics.publishErrors.WithLabelValues(reasonTimeout)); got != count/3 {
		t.Errorf("publish errors{timeout} %v, want %d", got, count/3)
	}
}

// Stopped with a full window, the producer sends nothing more, counts the
// orders acknowledged after the stop and logs each one it gives up on. An
// order whose ack was lost is stored but not counted: published as far as
// the stream knows, "not published" in the log, never both.
func TestShutdownWithOrdersInFlight(t *testing.T) {
	pub, stream := orderStream(t, testStream)
	g := newGated(pub)
	g.release = make(chan struct{})
	g.lose = func(n int) bool { return n%2 == 0 }
	const window = 8
	var logs testkit.SyncBuffer
	p := newTestProducer(g, 0)
	p.window, p.log = window, slog.New(slog.NewJSONHandler(&logs, nil))
	ctx, cancel := context.WithCancel(context.Background())
	done := runAsync(p, ctx)
	testkit.Eventually(t, "the window fills", testkit.Bound, func() (bool, string) {
		_, inFlight, _ := g.counts()
		return inFlight == window, ""
	})
	cancel()
	close(g.release)
	if err := <-done; err != nil {
		t.Fatalf("run after the stop: %v, want nil", err)
	}
	if sent, _, _ := g.counts(); sent != window {
		t.Errorf("%d orders sent, want the %d in flight at the stop", sent, window)
	}
	published, gaveUp := logged(t, &logs, "published order"), logged(t, &logs, "order not published: shutting down")
	if len(published) != window/2 || len(gaveUp) != window/2 || p.acknowledgedCount() != window/2 {
		t.Errorf("%d logged published, %d given up, %d counted; want %d each", len(published), len(gaveUp), p.acknowledgedCount(), window/2)
	}
	stored := storedIDs(t, stream)
	want := append(slices.Clone(published), gaveUp...)
	slices.Sort(stored)
	slices.Sort(want)
	if !slices.Equal(stored, want) {
		t.Errorf("stored %v, want the published and the given-up (stored, their acks lost) %v", stored, want)
	}
}

// A stream that refuses every order (each is over its message size) stops
// the producer with the rejection: nothing counted, and no order sent after
// the window that was in flight.
func TestRejectedOrderStopsWindow(t *testing.T) {
	cfg := testStream
	cfg.MaxMsgSize = 64
	pub, _ := orderStream(t, cfg)
	g := newGated(pub)
	const window = 4
	p := newTestProducer(g, 100)
	p.window = window
	_, err := p.run(context.Background())
	if !errors.Is(err, messaging.ErrRejected) {
		t.Fatalf("run: %v, want ErrRejected", err)
	}
	if sent, _, _ := g.counts(); sent > window || p.acknowledgedCount() != 0 {
		t.Errorf("%d sent, %d counted; want at most %d sent, none counted", sent, p.acknowledgedCount(), window)
	}
}
