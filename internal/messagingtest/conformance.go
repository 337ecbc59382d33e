// Package messagingtest is the conformance suite every messaging transport
// passes: the in-memory fake, core NATS and JetStream run the same tests, so
// what unit tests learn from the fake holds for the real thing.
package messagingtest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/distsys-go/orders/platform/messaging"
)

// Subject is the subject the suite publishes on; a transport's setup must
// accept it (a JetStream stream must capture it).
const Subject = "conformance.orders"

// Features says which guarantees beyond delivery a transport makes.
type Features struct {
	// Redelivery: a Nak'd or unsettled message is delivered again.
	Redelivery bool
	// PublishDedup: a message ID published twice is delivered once.
	PublishDedup bool
	// Retains: messages published before anyone subscribed are delivered.
	Retains bool
}

// Flusher is a Publisher whose Publish may return before the server has
// the message (core NATS buffers it in the client). The suite flushes it
// after every publish, so that "published before subscribing" holds at the
// server and not only in the test's own order of calls: a subscription on
// another connection can otherwise reach the server first.
type Flusher interface {
	Flush(ctx context.Context) error
}

// Setup is one isolated transport instance.
type Setup struct {
	Publisher messaging.Publisher
	// NewSubscriber returns one more member of the same group, as another
	// replica of the consumer service would be.
	NewSubscriber func(t *testing.T) messaging.Subscriber
	Features      Features
}

// wait bounds every wait for a delivery; generous because CI is shared.
const wait = 20 * time.Second

// The ack waits a setup is asked for. The redelivery tests wait for the
// short one to pass. Every other test gets the long one: a message held
// past its ack wait is rightly delivered again, and a loaded machine can
// hold one (in a client buffer, or in a handler the test holds on purpose)
// for longer than half a second, which those tests would see as a
// delivery they did not expect.
const (
	shortAckWait = 500 * time.Millisecond
	longAckWait  = 3 * wait
)

// Run runs the suite. newSetup must return a fresh transport each call,
// whose subscribers use ackWait as their ack wait where the transport has
// one.
func Run(t *testing.T, newSetup func(t *testing.T, ackWait time.Duration) Setup) {
	redelivery := func(f Features) bool { return f.Redelivery }
	tests := []struct {
		name    string
		run     func(t *testing.T, s Setup)
		need    func(Features) bool
		ackWait time.Duration
	}{
		{"DeliversIDHeaderAndData", testDelivers, nil, longAckWait},
		{"GroupSplitsWork", testGroupSplitsWork, nil, longAckWait},
		{"SettlementIsIdempotent", testSettlementIdempotent, nil, longAckWait},
		{"DrainFinishesMessageInHand", testDrainFinishesInHand, nil, longAckWait},
		{"NakRedelivers", testNakRedelivers, redelivery, shortAckWait},
		{"UnsettledRedeliveredAfterAckWait", testUnsettledRedelivered, redelivery, shortAckWait},
		{"PublishDeduplicatesByID", testPublishDedup, func(f Features) bool { return f.PublishDedup }, longAckWait},
		{"RetainsMessagesBeforeSubscribe", testRetains, func(f Features) bool { return f.Retains }, longAckWait},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSetup(t, tc.ackWait)
			if tc.need != nil && !tc.need(s.Features) {
				// Not a skip: the transport documents it lacks this
				// guarantee, and the test below proves the opposite holds.
				testLacksGuarantee(t, tc.name, s)
				return
			}
			tc.run(t, s)
		})
	}
}

// received collects deliveries.
type received struct {
	mu   sync.Mutex
	msgs []*messaging.Message
	by   map[string][]int // message ID -> subscriber indexes that got it
	ch   chan *messaging.Message
}

func newReceived() *received {
	return &received{by: map[string][]int{}, ch: make(chan *messaging.Message, 1024)}
}

func (r *received) handler(idx int, settle func(*messaging.Message)) messaging.Handler {
	return func(_ context.Context, m *messaging.Message) {
		if settle != nil {
			settle(m)
		}
		r.mu.Lock()
		r.msgs = append(r.msgs, m)
		r.by[m.ID] = append(r.by[m.ID], idx)
		r.mu.Unlock()
		r.ch <- m
	}
}

func (r *received) next(t *testing.T) *messaging.Message {
	t.Helper()
	select {
	case m := <-r.ch:
		return m
	case <-time.After(wait):
		t.Fatal("timed out waiting for a delivery")
		return nil
	}
}

func ack(m *messaging.Message) { _ = m.Ack() }

func subscribe(t *testing.T, s Setup, h messaging.Handler) messaging.Subscription {
	t.Helper()
	sub, err := s.NewSubscriber(t).Subscribe(context.Background(), Subject, h)
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		_ = sub.Drain(ctx)
	})
	return sub
}

// headers are what publish sends with message id: an application
// header, and the W3C trace context as the tracing decorators write it,
// lower-case keys that must arrive as they were sent.
func headers(id string) map[string]string {
	return map[string]string{
		"Test-Header": "v-" + id,
		"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"tracestate":  "orders=" + id,
	}
}

// checkHeaders reports a header of headers(m.ID) that m lacks or changed.
func checkHeaders(t *testing.T, m *messaging.Message) {
	t.Helper()
	for k, want := range headers(m.ID) {
		if got := m.Header[k]; got != want {
			t.Errorf("%s (delivery %d): header %s = %q, want %q", m.ID, m.Deliveries, k, got, want)
		}
	}
}

func publish(t *testing.T, s Setup, id string, data string) {
	t.Helper()
	msg := messaging.NewMessage(Subject, id, []byte(data))
	msg.Header = headers(id)
	if err := s.Publisher.Publish(context.Background(), msg); err != nil {
		t.Fatalf("publish %s: %v", id, err)
	}
	if f, ok := s.Publisher.(Flusher); ok {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if err := f.Flush(ctx); err != nil {
			t.Fatalf("publish %s: %v", id, err)
		}
	}
}

func testDelivers(t *testing.T, s Setup) {
	r := newReceived()
	subscribe(t, s, r.handler(0, ack))
	for i := range 20 {
		publish(t, s, fmt.Sprintf("m-%d", i), fmt.Sprintf("data-%d", i))
	}
	for range 20 {
		m := r.next(t)
		var n int
		if _, err := fmt.Sscanf(m.ID, "m-%d", &n); err != nil {
			t.Fatalf("unexpected id %q", m.ID)
		}
		if got, want := string(m.Data), fmt.Sprintf("data-%d", n); got != want {
			t.Errorf("%s: data %q, want %q", m.ID, got, want)
		}
		checkHeaders(t, m)
		if m.Subject != Subject || m.Deliveries != 1 {
			t.Errorf("%s: subject %q deliveries %d", m.ID, m.Subject, m.Deliveries)
		}
	}
}

func testGroupSplitsWork(t *testing.T, s Setup) {
	r := newReceived()
	slowAck := func(m *messaging.Message) { time.Sleep(2 * time.Millisecond); _ = m.Ack() }
	for i := range 3 {
		subscribe(t, s, r.handler(i, slowAck))
	}
	const n = 90
	for i := range n {
		publish(t, s, fmt.Sprintf("g-%d", i), "x")
	}
	for range n {
		r.next(t)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.by) != n {
		t.Fatalf("%d distinct messages delivered, want %d", len(r.by), n)
	}
	perSub := map[int]int{}
	for id, subs := range r.by {
		if len(subs) != 1 {
			t.Errorf("message %s delivered to %v, want exactly one subscriber", id, subs)
		}
		perSub[subs[0]]++
	}
	if len(perSub) < 2 {
		t.Errorf("all messages went to one subscriber: %v", perSub)
	}
}

func testSettlementIdempotent(t *testing.T, s Setup) {
	r := newReceived()
	subscribe(t, s, r.handler(0, nil))
	publish(t, s, "s-1", "x")
	m := r.next(t)
	if m.Settled() {
		t.Fatal("message settled before Ack")
	}
	if err := m.Ack(); err != nil {
		t.Fatalf("Ack: %v", err)
	}
	if err := m.Ack(); err != nil {
		t.Errorf("second Ack: %v, want nil", err)
	}
	if err := m.Nak(0); !errors.Is(err, messaging.ErrAlreadySettled) {
		t.Errorf("Nak after Ack: %v, want ErrAlreadySettled", err)
	}
	if err := m.Term("late"); !errors.Is(err, messaging.ErrAlreadySettled) {
		t.Errorf("Term after Ack: %v, want ErrAlreadySettled", err)
	}
	if err := m.InProgress(); err != nil {
		t.Errorf("InProgress after Ack: %v, want nil", err)
	}
	if !m.Settled() {
		t.Error("Settled() false after Ack")
	}
}

func testDrainFinishesInHand(t *testing.T, s Setup) {
	release := make(chan struct{})
	started := make(chan *messaging.Message, 16)
	var done sync.WaitGroup
	sub, err := s.NewSubscriber(t).Subscribe(context.Background(), Subject, func(_ context.Context, m *messaging.Message) {
		started <- m
		<-release
		_ = m.Ack()
	})
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	publish(t, s, "d-1", "x")
	var m *messaging.Message
	select {
	case m = <-started:
	case <-time.After(wait):
		t.Fatal("no delivery")
	}
	drained := make(chan error, 1)
	done.Add(1)
	go func() {
		defer done.Done()
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		drained <- sub.Drain(ctx)
	}()
	select {
	case err := <-drained:
		t.Fatalf("Drain returned (%v) while a handler still held a message", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	done.Wait()
	if err := <-drained; err != nil {
		t.Fatalf("Drain: %v", err)
	}
	if !m.Settled() {
		t.Error("message in hand was not settled when Drain returned")
	}
	// A drained subscription takes nothing new: the next message goes to
	// another member of the group.
	r := newReceived()
	subscribe(t, s, r.handler(1, ack))
	publish(t, s, "d-2", "x")
	if got := r.next(t); got.ID != "d-2" {
		t.Errorf("got %s, want d-2", got.ID)
	}
	select {
	case m := <-started:
		t.Errorf("drained subscription received %s", m.ID)
	default:
	}
}

func testNakRedelivers(t *testing.T, s Setup) {
	r := newReceived()
	subscribe(t, s, r.handler(0, func(m *messaging.Message) {
		if m.Deliveries == 1 {
			_ = m.Nak(0)
			return
		}
		_ = m.Ack()
	}))
	publish(t, s, "n-1", "x")
	if m := r.next(t); m.Deliveries != 1 {
		t.Fatalf("first delivery count %d", m.Deliveries)
	}
	m := r.next(t)
	if m.ID != "n-1" || m.Deliveries != 2 {
		t.Fatalf("redelivery %s with count %d, want n-1 with 2", m.ID, m.Deliveries)
	}
	checkHeaders(t, m) // a redelivery continues the message's trace
}

func testUnsettledRedelivered(t *testing.T, s Setup) {
	r := newReceived()
	subscribe(t, s, r.handler(0, func(m *messaging.Message) {
		if m.Deliveries > 1 {
			_ = m.Ack()
		}
	}))
	publish(t, s, "u-1", "x")
	r.next(t)
	m := r.next(t)
	if m.ID != "u-1" || m.Deliveries != 2 {
		t.Fatalf("redelivery %s with count %d, want u-1 with 2", m.ID, m.Deliveries)
	}
	checkHeaders(t, m)
}

func testPublishDedup(t *testing.T, s Setup) {
	r := newReceived()
	subscribe(t, s, r.handler(0, ack))
	publish(t, s, "p-1", "first")
	publish(t, s, "p-1", "again")
	publish(t, s, "p-2", "sentinel")
	for m := r.next(t); m.ID != "p-2"; m = r.next(t) {
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if n := len(r.by["p-1"]); n != 1 {
		t.Fatalf("p-1 delivered %d times, want 1", n)
	}
}

func testRetains(t *testing.T, s Setup) {
	publish(t, s, "r-1", "before")
	r := newReceived()
	subscribe(t, s, r.handler(0, ack))
	if m := r.next(t); m.ID != "r-1" {
		t.Fatalf("got %s, want r-1", m.ID)
	}
}

// testLacksGuarantee proves an at-most-once transport really lacks the
// named guarantee, so a Features value cannot silently understate it.
func testLacksGuarantee(t *testing.T, name string, s Setup) {
	r := newReceived()
	switch name {
	case "NakRedelivers", "UnsettledRedeliveredAfterAckWait":
		subscribe(t, s, r.handler(0, func(m *messaging.Message) { _ = m.Nak(0) }))
		publish(t, s, "l-1", "x")
		publish(t, s, "l-2", "sentinel")
		r.next(t)
		if m := r.next(t); m.ID != "l-2" {
			t.Fatalf("got %s (deliveries %d) after a Nak, want no redelivery", m.ID, m.Deliveries)
		}
	case "PublishDeduplicatesByID":
		subscribe(t, s, r.handler(0, ack))
		publish(t, s, "l-1", "x")
		publish(t, s, "l-1", "x")
		if a, b := r.next(t), r.next(t); a.ID != b.ID {
			t.Fatalf("got %s and %s, want l-1 twice", a.ID, b.ID)
		}
	case "RetainsMessagesBeforeSubscribe":
		publish(t, s, "l-1", "lost")
		subscribe(t, s, r.handler(0, ack))
		publish(t, s, "l-2", "x")
		if m := r.next(t); m.ID != "l-2" {
			t.Fatalf("got %s, want l-2: messages before subscribe should be gone", m.ID)
		}
	}
}
