package main

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/distsys-go/orders/platform/messaging/jetstream"
	"github.com/distsys-go/orders/platform/service"
	"github.com/distsys-go/orders/platform/tracing"
)

// run wires settings → NATS → publisher and publishes until ctx ends or
// PUBLISH_COUNT orders went out; then it turns unready and drains the
// connection.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	var (
		own       settings
		streamCfg jetstream.StreamConfig
	)
	rt, err := service.Start(name, version, args, stdout, &own, &streamCfg, service.Check(func(s service.Settings) error {
		if s.DeliveryMode != service.ModeJetStream {
			return nil
		}
		return streamCfg.CheckCaptures("SUBJECT", s.Subject)
	}))
	if err != nil {
		return err
	}
	transport, err := rt.Transport(ctx, streamCfg)
	if err != nil {
		return errors.Join(err, rt.Stop())
	}
	// An order's message id is the order id: its spans say so.
	pub, err := transport.Publisher(service.WithAckTimeout(own.PublishTimeout),
		service.WithTracing(tracing.WithMessageIDAs(tracing.OrderIDKey)))
	if err != nil {
		return errors.Join(err, rt.Stop())
	}
	rt.Ready.Started()
	p := &producer{
		pub:      pub,
		tracing:  rt.Tracing,
		subject:  rt.Settings.Subject,
		pace:     pace(own),
		count:    own.Count,
		keepIDs:  own.VerifyTimeout > 0,
		window:   own.MaxInFlight,
		timeout:  own.PublishTimeout,
		products: own.ProductIDs,
		metrics:  newMetrics(rt.Metrics),
		health:   &publishHealth{now: time.Now},
		log:      rt.Log,
		now:      time.Now,
	}
	// Ready means orders get out: a producer whose every publish is
	// refused (a full stream, say) says so on /readyz.
	rt.Ready.Add(p.health.Check)
	rt.Log.Info("publishing", "subject", p.subject, "rate_per_s", float64(p.pace.Limit()), "count", p.count, "max_in_flight", p.window)
	ids, err := p.run(ctx)
	if err == nil && own.VerifyTimeout > 0 && ctx.Err() == nil {
		err = verify(ctx, rt.JetStream, own.DedupBucket, ids, own.VerifyTimeout, rt.Log)
	}
	rt.Ready.ShutDown()
	rt.Log.Info("shutting down", "published", p.acknowledgedCount())
	return errors.Join(err, rt.Stop())
}
