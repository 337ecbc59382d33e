package jetstream_test

import (
	"context"
	"testing"
	"time"

	"github.com/distsys-go/orders/internal/messagingtest"
	"github.com/distsys-go/orders/internal/natstest"
	"github.com/distsys-go/orders/platform/messaging"
	"github.com/distsys-go/orders/platform/messaging/jetstream"
)

// A message whose every delivery stalls is delivered MaxDeliver times, then
// announced to the watcher with where it is stored and what it was.
func TestMaxDeliveriesAreAnnounced(t *testing.T) {
	srv := natstest.Run(t)
	js := newJetStream(t, srv)
	if _, err := jetstream.EnsureStream(context.Background(), js, testStream); err != nil {
		t.Fatal(err)
	}
	announced := make(chan jetstream.MaxDeliveries, 4)
	watch, err := jetstream.WatchMaxDeliveries(context.Background(), srv.Connect(t), js, testStream.Name, "workers", "workers",
		func(_ context.Context, ev jetstream.MaxDeliveries) { announced <- ev })
	if err != nil {
		t.Fatal(err)
	}
	cfg := jetstream.ConsumerConfig{AckWait: 300 * time.Millisecond, MaxAckPending: 100, PullMaxMessages: 1, MaxDeliver: 2}
	delivered := make(chan *messaging.Message, 4)
	sub, err := jetstream.NewSubscriber(newJetStream(t, srv), testStream.Name, "workers", cfg).Subscribe(context.Background(), messagingtest.Subject,
		func(_ context.Context, m *messaging.Message) { delivered <- m }) // stalls: never settles
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Drain(context.Background()) })
	if err := jetstream.NewPublisher(js).Publish(context.Background(), messaging.NewMessage(messagingtest.Subject, "stall-1", []byte("x"))); err != nil {
		t.Fatal(err)
	}

	for n := uint64(1); n <= 2; n++ {
		select {
		case m := <-delivered:
			if m.Stream != testStream.Name || m.Sequence != 1 || m.Deliveries != n {
				t.Errorf("delivered from %q #%d (delivery %d), want %s #1 (delivery %d)", m.Stream, m.Sequence, m.Deliveries, testStream.Name, n)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("delivery %d never came", n)
		}
	}
	var ev jetstream.MaxDeliveries
	select {
	case ev = <-announced:
	case <-time.After(20 * time.Second):
		t.Fatal("no max-deliveries advisory")
	}
	if ev.Stream != testStream.Name || ev.Consumer != "workers" || ev.Sequence != 1 || ev.Deliveries != 2 {
		t.Errorf("advisory %+v, want %s/workers #1 after 2 deliveries", ev, testStream.Name)
	}
	if o := ev.Original; o == nil || o.ID != "stall-1" || string(o.Data) != "x" || o.Subject != messagingtest.Subject || o.Sequence != 1 {
		t.Errorf("original %+v (%v), want stall-1 as stored", o, ev.OriginalErr)
	}
	if err := watch.Drain(context.Background()); err != nil {
		t.Errorf("drain watcher: %v", err)
	}
}
