package main

import (
	"context"
	"fmt"
	"time"

	"github.com/distsys-go/orders/platform/ops"
	"github.com/distsys-go/orders/platform/service"
	"github.com/distsys-go/orders/platform/tracing"
)

// run wires transport → publisher and publishes until ctx ends or
// PUBLISH_COUNT orders went out (then, with VERIFY_TIMEOUT, waits for the
// consumers to have recorded them); the runtime then turns unready and
// drains the connection, flushing what is still in flight.
func run(ctx context.Context, rt *service.Runtime, cfg *config) error {
	transport, err := rt.Transport(ctx)
	if err != nil {
		return err
	}
	own, version := cfg.Publish, cfg.version()
	subject := version.Subject(cfg.Subject)
	// STREAM_SUBJECTS may not be the stream's (PROVISION=false): ask it.
	if err := transport.Captures(ctx, subject); err != nil {
		return fmt.Errorf("EVENT_VERSION=%s: %w", version.Name, err)
	}
	// An order's message id is the order id: its spans say so.
	pub, err := transport.Publisher(service.WithAckTimeout(own.PublishTimeout),
		service.WithTracing(tracing.WithMessageIDAs(tracing.OrderIDKey)))
	if err != nil {
		return err
	}
	// A publish retried while the stream has no leader goes again as soon
	// as a new one is announced, not after the rest of its back-off.
	elections, err := transport.WatchElections()
	if err != nil {
		return err
	}
	rt.Ready.Started()
	p := &producer{
		pub:       pub,
		elections: elections,
		tracing:   rt.Tracing,
		subject:   subject,
		version:   version,
		currency:  own.Currency,
		pace:      pace(own),
		count:     own.Count,
		keepIDs:   own.VerifyTimeout > 0,
		window:    own.MaxInFlight,
		timeout:   own.PublishTimeout,
		products:  own.ProductIDs,
		metrics:   newMetrics(rt.Metrics),
		health:    ops.NewStreak("publishing", time.Now),
		log:       rt.Log,
		now:       time.Now,
	}
	// Ready means orders get out: a producer whose every publish is
	// refused (a full stream, say) says so on /readyz.
	rt.Ready.Add(p.health.Check)
	rt.Log.Info("publishing", "subject", p.subject, "version", version.Name, "rate_per_s", float64(p.pace.Limit()), "count", p.count, "max_in_flight", p.window)
	ids, err := p.run(ctx)
	rt.Log.Info("publishing ended", "published", p.acknowledgedCount())
	if err != nil || own.VerifyTimeout == 0 || ctx.Err() != nil {
		return err
	}
	return verify(ctx, rt, cfg.Ledger, ids, own.VerifyTimeout)
}
