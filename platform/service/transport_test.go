package service_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/distsys-go/orders/internal/natstest"
	"github.com/distsys-go/orders/internal/testkit"
	"github.com/distsys-go/orders/platform/messaging"
	"github.com/distsys-go/orders/platform/messaging/jetstream"
	"github.com/distsys-go/orders/platform/service"
	"github.com/distsys-go/orders/platform/tracing"
)

var testStream = jetstream.StreamConfig{Name: "ORDERS", Subjects: []string{"orders.>"}, Replicas: 1, MaxBytes: 1 << 20}

// runtime is a Runtime on an in-process server, as Start would build it.
func runtime(t *testing.T, mode string) *service.Runtime {
	t.Helper()
	nc := natstest.Run(t).Connect(t)
	js, err := natsjs.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return &service.Runtime{
		Settings: service.Settings{DeliveryMode: mode, Subject: "orders.created"},
		Log:      slog.New(slog.DiscardHandler), Metrics: prometheus.NewRegistry(),
		Conn: nc, JetStream: js, Tracing: &tracing.Provider{},
	}
}

// Each mode's publisher and subscriber reach each other, and JetStream's
// go through the stream the transport ensured.
func TestTransportModes(t *testing.T) {
	tests := []struct {
		mode   string
		stored bool // the stream holds the message once published
	}{
		{service.ModeJetStream, true},
		{service.ModeCore, false},
	}
	for _, tc := range tests {
		t.Run(tc.mode, func(t *testing.T) {
			rt := runtime(t, tc.mode)
			ctx := context.Background()
			tr, err := rt.Transport(ctx, testStream)
			if err != nil {
				t.Fatal(err)
			}
			got := make(chan *messaging.Message, 1)
			sub, err := tr.Subscriber(service.SubscriberConfig{Group: "workers", Concurrency: 1,
				Consumer: jetstream.ConsumerConfig{AckWait: time.Minute, MaxAckPending: 10, PullMaxMessages: 4, MaxDeliver: 2}}).
				Subscribe(ctx, "orders.created", func(_ context.Context, m *messaging.Message) {
					_ = m.Ack()
					got <- m
				})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = sub.Drain(context.Background()) })
			pub, err := tr.Publisher(service.WithAckTimeout(time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			if err := pub.Publish(ctx, messaging.NewMessage("orders.created", "order-1", []byte("{}"))); err != nil {
				t.Fatal(err)
			}
			_, err = rt.JetStream.Stream(ctx, testStream.Name)
			if stored := err == nil; stored != tc.stored {
				t.Errorf("stream %s exists: %v, want %v", testStream.Name, stored, tc.stored)
			}
			select {
			case m := <-got:
				if m.ID != "order-1" {
					t.Errorf("received id %q, want order-1", m.ID)
				}
			case <-time.After(testkit.Bound):
				t.Fatal("nothing received")
			}
		})
	}
}

func TestTransportUnknownMode(t *testing.T) {
	if _, err := runtime(t, "carrier-pigeon").Transport(context.Background(), testStream); err == nil {
		t.Fatal("a transport for an unknown mode")
	}
}
