package jetstream_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/distsys-go/orders/internal/messagingtest"
	"github.com/distsys-go/orders/internal/natstest"
	"github.com/distsys-go/orders/internal/testkit"
	"github.com/distsys-go/orders/platform/messaging"
	"github.com/distsys-go/orders/platform/messaging/jetstream"
)

// within bounds every wait; it only limits how long a failing test hangs.
const within = 60 * time.Second

// received collects the ids of the messages a subscription acknowledged,
// after work (a handler's own time, zero for most tests).
type received struct {
	work time.Duration
	mu   sync.Mutex
	ids  map[string]bool
}

func (r *received) handle(_ context.Context, m *messaging.Message) {
	time.Sleep(r.work)
	if m.Ack() == nil {
		r.mu.Lock()
		r.ids[m.ID] = true
		r.mu.Unlock()
	}
}

func (r *received) all(ids []string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, id := range ids {
		if !r.ids[id] {
			return false
		}
	}
	return true
}

// publish publishes n messages with ids prefix-0.., retrying each until the
// stream stores it (a clustered stream may be electing its leader).
func publish(t *testing.T, js natsjs.JetStream, prefix string, n int) []string {
	t.Helper()
	pub := jetstream.NewPublisher(js)
	var ids []string
	for i := range n {
		id := fmt.Sprintf("%s-%d", prefix, i)
		testkit.Eventually(t, "stored "+id, testkit.Bound, func() (bool, string) {
			return pub.Publish(context.Background(), messaging.NewMessage(messagingtest.Subject, id, []byte("x"))) == nil, ""
		})
		ids = append(ids, id)
	}
	return ids
}

func counter(t *testing.T, reg *prometheus.Registry, name, reason string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) == 0 || m.GetLabel()[0].GetValue() == reason {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

var healthCfg = jetstream.ConsumerConfig{AckWait: 5 * time.Second, MaxAckPending: 100, PullMaxMessages: 8}

func subscribe(t *testing.T, js natsjs.JetStream, stream string, r *received, opts ...jetstream.Option) messaging.HealthChecker {
	t.Helper()
	return subscribeWith(t, js, stream, healthCfg, r, opts...)
}

func subscribeWith(t *testing.T, js natsjs.JetStream, stream string, cfg jetstream.ConsumerConfig, r *received, opts ...jetstream.Option) messaging.HealthChecker {
	t.Helper()
	sub, err := jetstream.NewSubscriber(js, stream, "workers", cfg, opts...).Subscribe(context.Background(), messagingtest.Subject, r.handle)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), within)
		defer cancel()
		_ = sub.Drain(ctx)
	})
	return sub.(messaging.HealthChecker)
}

// The durable deleted under a running subscription (by an operator, say)
// comes back by itself: the subscription recreates it and every order,
// including those published while it was gone, is processed.
func TestRecoversWhenDurableDeleted(t *testing.T) {
	srv := natstest.Run(t)
	js := newJetStream(t, srv)
	if _, err := jetstream.EnsureStream(context.Background(), js, testStream); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	r := &received{ids: map[string]bool{}}
	sub := subscribe(t, newJetStream(t, srv), testStream.Name, r, jetstream.WithMetrics(reg))
	before := publish(t, js, "before", 20)
	testkit.Eventually(t, "orders before the deletion processed", testkit.Bound, func() (bool, string) { return r.all(before) && sub.Healthy() == nil, "" })

	if err := js.DeleteConsumer(context.Background(), testStream.Name, "workers"); err != nil {
		t.Fatal(err)
	}
	after := publish(t, js, "after", 20)
	// The loop hears of the deletion from its waiting pull request, or
	// from the pull it sends next finding nobody to answer it.
	testkit.Eventually(t, "a stall counted and recovered from", testkit.Bound, func() (bool, string) {
		return counter(t, reg, "orders_consume_stalls_total", "consumer_deleted")+counter(t, reg, "orders_consume_stalls_total", "no_responders") == 1 &&
			counter(t, reg, "orders_consume_recoveries_total", "") == 1 && sub.Healthy() == nil, ""
	})
	testkit.Eventually(t, "orders published while the durable was gone processed", testkit.Bound, func() (bool, string) { return r.all(after), "" })
	if _, err := js.Consumer(context.Background(), testStream.Name, "workers"); err != nil {
		t.Errorf("durable not recreated: %v", err)
	}
}

// While the durable cannot be recreated (its stream deleted with it) the
// subscription says why it is not delivering; once the stream is back it
// delivers again without help.
func TestUnhealthyWhileDurableCannotBeRecreated(t *testing.T) {
	srv := natstest.Run(t)
	js := newJetStream(t, srv)
	if _, err := jetstream.EnsureStream(context.Background(), js, testStream); err != nil {
		t.Fatal(err)
	}
	r := &received{ids: map[string]bool{}}
	sub := subscribe(t, newJetStream(t, srv), testStream.Name, r)
	testkit.Eventually(t, "healthy after subscribe", testkit.Bound, func() (bool, string) { return sub.Healthy() == nil, "" })

	if err := js.DeleteStream(context.Background(), testStream.Name); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "unhealthy, naming the missing stream", testkit.Bound, func() (bool, string) {
		err := sub.Healthy()
		return errors.Is(err, jetstream.ErrNotDelivering) && strings.Contains(err.Error(), "stream not found"), ""
	})
	if _, err := jetstream.EnsureStream(context.Background(), js, testStream); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "healthy once the stream is back", testkit.Bound, func() (bool, string) { return sub.Healthy() == nil, "" })
	ids := publish(t, js, "back", 10)
	testkit.Eventually(t, "orders after the stream came back processed", testkit.Bound, func() (bool, string) { return r.all(ids), "" })
}

// A replica that subscribes while its durable has no leader (a cluster
// that lost its majority, or is still electing) delivers soon after the
// leader is back; one that was running when the leader went recovers too.
// Both say they are not delivering meanwhile.
func TestDeliversOnceDurableHasLeader(t *testing.T) {
	c := natstest.RunCluster(t, 3)
	survivor := c.Servers[0]
	js := newJetStream(t, survivor)
	clustered := testStream
	clustered.Replicas = 3
	if _, err := jetstream.EnsureStream(context.Background(), js, clustered); err != nil {
		t.Fatal(err)
	}
	running := &received{ids: map[string]bool{}}
	runningSub := subscribe(t, newJetStream(t, survivor), clustered.Name, running)
	testkit.Eventually(t, "running subscription healthy", testkit.Bound, func() (bool, string) { return runningSub.Healthy() == nil, "" })

	// Two of three down: neither the durable nor the cluster has a majority.
	for _, s := range c.Servers[1:] {
		s.Shutdown()
		s.WaitForShutdown()
	}
	testkit.Eventually(t, "running subscription unhealthy", testkit.Bound, func() (bool, string) {
		return errors.Is(runningSub.Healthy(), jetstream.ErrNotDelivering), ""
	})

	late := &received{ids: map[string]bool{}}
	lateSub := make(chan messaging.Subscription, 1)
	lateSubscriber := jetstream.NewSubscriber(newJetStream(t, survivor), clustered.Name, "workers", healthCfg)
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	go func() { // subscribes as the consumer service does: retrying until it may
		for ctx.Err() == nil {
			// Without a deadline of its own an attempt gets the JetStream
			// API timeout, as in the consumer service.
			if s, err := lateSubscriber.Subscribe(context.Background(), messagingtest.Subject, late.handle); err == nil {
				lateSub <- s
				return
			}
			select { // pace the attempts
			case <-time.After(100 * time.Millisecond):
			case <-ctx.Done():
			}
		}
	}()
	for _, s := range c.Servers[1:] {
		s.Restart(t)
	}
	var lateHealth messaging.HealthChecker
	select {
	case s := <-lateSub:
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), within)
			defer cancel()
			_ = s.Drain(ctx)
		})
		lateHealth = s.(messaging.HealthChecker)
	case <-ctx.Done():
		t.Fatal("late subscription never subscribed")
	}
	testkit.Eventually(t, "both subscriptions healthy", testkit.Bound, func() (bool, string) { return runningSub.Healthy() == nil && lateHealth.Healthy() == nil, "" })
	ids := publish(t, js, "order", 40)
	testkit.Eventually(t, "every order processed", testkit.Bound, func() (bool, string) {
		both := &received{ids: map[string]bool{}}
		for _, r := range []*received{running, late} {
			r.mu.Lock()
			for id := range r.ids {
				both.ids[id] = true
			}
			r.mu.Unlock()
		}
		return both.all(ids), ""
	})
}

// Handlers slower than two pull heartbeats, with every worker busy, are
// no stall: the consume callback then waits for a worker longer than the
// heartbeat timeout. nats.go v1.55 stops its heartbeat timer while the
// callback runs; this test keeps an upgrade that changed that from
// turning busy replicas unready.
func TestSlowHandlersAreNoStall(t *testing.T) {
	srv := natstest.Run(t)
	js := newJetStream(t, srv)
	if _, err := jetstream.EnsureStream(context.Background(), js, testStream); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	// Each handler takes longer than two heartbeats (2 x 1s).
	r := &received{work: 5 * time.Second, ids: map[string]bool{}}
	sub := subscribeWith(t, js, testStream.Name,
		jetstream.ConsumerConfig{AckWait: time.Minute, MaxAckPending: 100, PullMaxMessages: 8},
		r, jetstream.WithConcurrency(1), jetstream.WithMetrics(reg))
	ids := publish(t, js, "slow", 2)
	testkit.Eventually(t, "both slow orders handled", testkit.Bound, func() (bool, string) { return r.all(ids), "" })
	if err := sub.Healthy(); err != nil {
		t.Errorf("unhealthy after slow handlers: %v", err)
	}
	if n := counter(t, reg, "orders_consume_stalls_total", "heartbeat_missed"); n != 0 {
		t.Errorf("%v heartbeat stalls counted while every worker was busy, want 0", n)
	}
}
