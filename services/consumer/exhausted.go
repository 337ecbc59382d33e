package main

import (
	"context"

	"github.com/distsys-go/orders/platform/messaging"
	"github.com/distsys-go/orders/platform/messaging/jetstream"
	"github.com/distsys-go/orders/platform/service"
)

var _ messaging.Subscription = noSubscription{}

// watchExhausted dead-letters, through f, the messages JetStream stops
// delivering to the durable after MAX_DELIVER deliveries that f never saw
// fail (a crash or stall each time). The replicas share the work as a
// queue group named like the durable. Core NATS has no such limit: there
// it returns a subscription that has nothing to drain.
func watchExhausted(ctx context.Context, rt *service.Runtime, stream, durable string, f *fulfiller) (messaging.Subscription, error) {
	if rt.Settings.DeliveryMode != service.ModeJetStream {
		return noSubscription{}, nil
	}
	// The dead letter joins the trace of the message it refers to.
	return jetstream.WatchMaxDeliveries(ctx, rt.Conn, rt.JetStream, stream, durable, durable, func(ctx context.Context, ev jetstream.MaxDeliveries) {
		if ev.Original != nil {
			ctx = rt.Tracing.FromMessage(ctx, ev.Original)
		}
		f.deadLetterExhausted(ctx, ev)
	})
}

// noSubscription is a subscription to nothing.
type noSubscription struct{}

// Drain implements messaging.Subscription.
func (noSubscription) Drain(context.Context) error { return nil }
