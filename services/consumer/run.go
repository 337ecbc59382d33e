package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/distsys-go/orders/platform/ledger"
	"github.com/distsys-go/orders/platform/messaging"
	"github.com/distsys-go/orders/platform/messaging/jetstream"
	"github.com/distsys-go/orders/platform/service"
	"github.com/distsys-go/orders/platform/tracing"
)

// run wires settings → NATS → ledger → subscription, then waits for ctx
// and shuts down: unready first, then drain the subscription (finishing
// and acknowledging what this replica holds), then the connection.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	var (
		own       settings
		streamCfg jetstream.StreamConfig
		consCfg   jetstream.ConsumerConfig
		ledgerCfg ledger.Config
	)
	rt, err := service.Start(name, version, args, stdout, &own, &streamCfg, &consCfg, &ledgerCfg,
		checkAcross(&own, &streamCfg, &consCfg, &ledgerCfg))
	if err != nil {
		return err
	}
	log := rt.Log

	var led *ledger.KV
	if err := service.Retry(ctx, log, "ensure ledger bucket", func(ctx context.Context) (err error) {
		led, err = ledger.EnsureKV(ctx, rt.JetStream, ledgerCfg)
		return err
	}); err != nil {
		return errors.Join(err, rt.Stop())
	}

	transport, err := rt.Transport(ctx, streamCfg)
	if err != nil {
		return errors.Join(err, rt.Stop())
	}
	sub := transport.Subscriber(service.SubscriberConfig{Group: own.QueueGroup, Consumer: consCfg, Concurrency: own.Concurrency})
	deadLetters, err := transport.Publisher()
	if err != nil {
		return errors.Join(err, rt.Stop())
	}

	// Tracing wraps the ledger (and the transport its publishers), so that
	// the ledger write and a dead letter are spans in their order's trace.
	f := &fulfiller{
		ledger:        rt.Tracing.Ledger(led),
		deadLetters:   deadLetters,
		deadLetterSub: own.DeadLetterSubject,
		maxPayload:    own.MaxPayloadBytes,
		maxDeliver:    consCfg.MaxDeliver,
		workTime:      own.WorkTime,
		instance:      rt.Settings.Instance,
		metrics:       newMetrics(rt.Metrics),
		log:           log,
		now:           time.Now,
	}
	// Handlers outlive ctx: a SIGTERM must let the order in hand finish.
	handlerCtx := context.WithoutCancel(ctx)
	exhausted, err := watchExhausted(handlerCtx, rt, streamCfg.Name, own.QueueGroup, f)
	if err != nil {
		return errors.Join(err, rt.Stop())
	}
	var subscription messaging.Subscription
	if err := service.Retry(ctx, log, "subscribe", func(context.Context) (err error) {
		subscription, err = sub.Subscribe(handlerCtx, rt.Settings.Subject, rt.Tracing.Handler(f.Handle,
			tracing.WithMessageIDAs(tracing.OrderIDKey), tracing.WithConsumerGroup(own.QueueGroup)))
		return err
	}); err != nil {
		return errors.Join(err, rt.Stop())
	}
	if hc, ok := subscription.(messaging.HealthChecker); ok {
		rt.Ready.Add(hc.Healthy) // unready while the subscription cannot deliver
	}
	waitGauges := startGauges(ctx, rt, streamCfg.Name, own.QueueGroup, ledgerCfg, own.MetricsInterval)
	rt.Ready.Started()
	log.Info("consuming", "subject", rt.Settings.Subject, "group", own.QueueGroup, "concurrency", own.Concurrency)

	<-ctx.Done()
	rt.Ready.ShutDown()
	log.Info("shutting down: draining subscription", "grace", rt.Settings.ShutdownGrace.String())
	graceCtx, cancel := rt.GraceContext()
	defer cancel()
	var errs []error
	if err := subscription.Drain(graceCtx); err != nil {
		errs = append(errs, fmt.Errorf("drain subscription: %w", err))
	}
	if err := exhausted.Drain(graceCtx); err != nil {
		errs = append(errs, err)
	}
	waitGauges()
	if err := rt.Close(graceCtx); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
