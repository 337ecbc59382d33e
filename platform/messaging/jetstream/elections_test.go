package jetstream_test

import (
	"context"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/distsys-go/orders/internal/natstest"
	"github.com/distsys-go/orders/internal/testkit"
	"github.com/distsys-go/orders/platform/messaging/jetstream"
)

// A new leader of a watched stream or consumer wakes the waiters; one of
// an unwatched asset does not. The leaders step down on request (the
// JetStream API), which elects another server as a crash would, without
// the crash's seconds of waiting.
func TestElectionsWakeWaiters(t *testing.T) {
	c := natstest.RunCluster(t, 3)
	srv := c.Servers[0]
	js := newJetStream(t, srv)
	ctx := context.Background()
	for _, name := range []string{"WATCHED", "OTHER"} {
		cfg := jetstream.StreamConfig{Name: name, Subjects: []string{name + ".>"}, Replicas: 3}
		if _, err := jetstream.EnsureStream(ctx, js, cfg); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := js.CreateOrUpdateConsumer(ctx, "WATCHED", natsjs.ConsumerConfig{Durable: "workers", Replicas: 3}); err != nil {
		t.Fatal(err)
	}
	nc := srv.Connect(t)
	watch := func(subjects ...string) *jetstream.Elections {
		el, err := jetstream.WatchElections(nc, subjects...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := el.Stop(); err != nil {
				t.Error(err)
			}
		})
		return el
	}
	el := watch(jetstream.StreamLeaderElected("WATCHED"), jetstream.ConsumerLeaderElected("WATCHED", "workers"))
	other := watch(jetstream.StreamLeaderElected("OTHER"))
	if err := nc.Flush(); err != nil { // the subscriptions are in place
		t.Fatal(err)
	}
	fired := func(ch <-chan struct{}) bool {
		select {
		case <-ch:
			return true
		default:
			return false
		}
	}
	for _, tc := range []struct {
		name     string
		stepdown string // JetStream API subject
		wakes    bool   // el's waiters (else only other's)
	}{
		{"stream", "$JS.API.STREAM.LEADER.STEPDOWN.WATCHED", true},
		{"consumer", "$JS.API.CONSUMER.LEADER.STEPDOWN.WATCHED.workers", true},
		{"unwatched stream", "$JS.API.STREAM.LEADER.STEPDOWN.OTHER", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next, otherNext := el.Next(), other.Next()
			if _, err := nc.Request(tc.stepdown, nil, 5*time.Second); err != nil {
				t.Fatalf("step down: %v", err)
			}
			announced := next
			if !tc.wakes {
				announced = otherNext
			}
			testkit.Eventually(t, "the new leader announced", testkit.Bound, func() (bool, string) { return fired(announced), "" })
			if !tc.wakes && fired(next) {
				t.Error("a new leader of an unwatched stream woke the waiter")
			}
		})
	}
}

// Nothing to watch (core NATS): Next never fires and Stop is a no-op.
func TestNilElections(t *testing.T) {
	var el *jetstream.Elections
	if el.Next() != nil {
		t.Error("Next of nil Elections is not nil")
	}
	if err := el.Stop(); err != nil {
		t.Error(err)
	}
}
