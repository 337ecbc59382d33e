package main

import (
	"context"
	"time"

	"github.com/distsys-go/orders/platform/ops"
	"github.com/distsys-go/orders/platform/service"
	"github.com/distsys-go/orders/platform/tracing"
)

// run wires ledger → transport → fulfiller → subscription and consumes
// until ctx ends. The runtime then shuts down what run registered: the
// gauges stop, the subscription drains (finishing and acknowledging what
// this replica holds), then the max-deliveries watch and the connection.
func run(ctx context.Context, rt *service.Runtime, cfg *config) error {
	led, err := rt.Ledger(ctx, cfg.Ledger)
	if err != nil {
		return err
	}
	transport, err := rt.Transport(ctx)
	if err != nil {
		return err
	}
	deadLetters, err := transport.Publisher()
	if err != nil {
		return err
	}
	// Orders waiting for a ledger without a leader go on as soon as its
	// stream has a new one.
	elections, err := transport.WatchElections(cfg.Ledger.StreamName())
	if err != nil {
		return err
	}
	if err := ensureAudit(ctx, rt, cfg); err != nil {
		return err
	}
	own := cfg.Worker
	m := newMetrics(rt.Metrics)
	f := &fulfiller{
		ledger:        led,
		full:          ops.NewStreak("recording orders", time.Now),
		fullRetry:     fullRetry(cfg.Durable.AckWait),
		ledgerElected: elections.Next,
		stopping:      ctx.Done(),
		deadLetters:   deadLetters,
		deadLetterSub: own.DeadLetterSubject,
		maxPayload:    own.MaxPayloadBytes,
		maxDeliver:    cfg.Durable.MaxDeliver,
		workTime:      own.WorkTime,
		instance:      cfg.Instance,
		metrics:       m,
		log:           rt.Log,
		now:           time.Now,
	}
	// Ready means orders get recorded: a full ledger says so on /readyz.
	rt.Ready.Add(f.full.Check)
	durables, subjects, err := consumeVersions(ctx, transport, cfg, f)
	if err != nil {
		return err
	}
	// One replica counts each of the dead-letter tool's audit records.
	if err := transport.Listen(ctx, cfg.Audit.Filter(), own.QueueGroup, m.countAction); err != nil {
		return err
	}
	transport.ExportGauges(ctx, service.Gauges{
		Namespace: metricsNamespace, Durables: durables, Interval: own.MetricsInterval,
		Streams: []string{cfg.Ledger.StreamName()}, Subjects: cfg.waitingSubjects(),
	})
	rt.Ready.Started()
	rt.Log.Info("consuming", "subjects", subjects, "durables", durables, "concurrency", own.Concurrency)
	<-ctx.Done()
	return nil
}

// consumeVersions consumes each of CONSUME_VERSIONS from its own subject
// through its own durable, with its max-deliveries watch, and returns the
// durables and subjects.
func consumeVersions(ctx context.Context, transport *service.Transport, cfg *config, f *fulfiller) (durables, subjects []string, err error) {
	for _, v := range cfg.versions() {
		durable, subject := v.Durable(cfg.Worker.QueueGroup), v.Subject(cfg.Subject)
		if err := transport.OnMaxDeliveries(ctx, durable, f.deadLetterExhausted); err != nil {
			return nil, nil, err
		}
		// An order's message id is the order id: its spans say so.
		if err := transport.Consume(ctx, service.Consumption{
			Subject: subject, Group: durable, Consumer: cfg.Durable, Concurrency: cfg.Worker.Concurrency,
			Tracing: []tracing.Option{tracing.WithMessageIDAs(tracing.OrderIDKey)},
		}, f.Handler(v)); err != nil {
			return nil, nil, err
		}
		durables, subjects = append(durables, durable), append(subjects, subject)
	}
	return durables, subjects, nil
}

// fullRetry is how often an order waiting for the ledger (full, or
// without a leader) tries again and marks its message in progress: each
// second, as room can come back any moment (records expire one by one),
// and at least twice per ack wait, so that the message is not redelivered
// meanwhile.
func fullRetry(ackWait time.Duration) time.Duration {
	return min(time.Second, ackWait/2)
}
