package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/distsys-go/orders/platform/ledger"
	"github.com/distsys-go/orders/platform/messaging"
	"github.com/distsys-go/orders/platform/messaging/jetstream"
	"github.com/distsys-go/orders/platform/messaging/natscore"
	"github.com/distsys-go/orders/platform/tracing"
)

// Transport builds the publishers and subscriptions of the service's
// DELIVERY_MODE, and whatever else the mode offers (max-deliveries
// advisories, backlog gauges). It is the one place that knows which
// messaging implementation each mode is: a new mode changes this file and
// no service. It applies tracing to every publisher and handler it
// builds.
type Transport struct {
	rt     *Runtime
	stream string // the JetStream stream; "" on core NATS
}

// Transport returns the service's transport. On JetStream it first ensures
// the stream (STREAM_*), or with PROVISION=false waits for it to exist,
// retrying until it does or ctx ends: NATS may start after the service. A
// stream no retry can fix (another retention policy) ends it at once with
// that error, so the service exits saying what to do instead of retrying
// silently for ever.
func (r *Runtime) Transport(ctx context.Context) (*Transport, error) {
	t := &Transport{rt: r}
	switch r.env.DeliveryMode {
	case ModeJetStream:
		name := r.env.StreamConfig.Name
		err := r.startStep(ctx, "stream "+name, func(ctx context.Context) error {
			if !r.env.Provision {
				_, err := r.js.Stream(ctx, name)
				return notProvisioned(err, natsjs.ErrStreamNotFound, "stream "+name)
			}
			_, err := jetstream.EnsureStream(ctx, r.js, r.env.StreamConfig)
			if errors.Is(err, jetstream.ErrRetentionChange) {
				return Permanent(err)
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		t.stream = name
	case ModeCore:
	default:
		// Env.Validate refuses any other mode; this guards a config built
		// by hand.
		return nil, fmt.Errorf("DELIVERY_MODE=%q: no transport", r.env.DeliveryMode)
	}
	return t, nil
}

// Captures returns an error unless the transport delivers what is
// published on subject: on JetStream the stream, as the server has it,
// must capture it (STREAM_SUBJECTS may not be the stream's when another
// user provisions it), or every publish there would fail. The error is
// Permanent: waiting cannot fix it.
func (t *Transport) Captures(ctx context.Context, subject string) error {
	if t.stream == "" {
		return nil
	}
	var subjects []string
	if err := t.rt.startStep(ctx, "stream "+t.stream+" subjects", func(ctx context.Context) error {
		s, err := t.rt.js.Stream(ctx, t.stream)
		if err == nil {
			subjects = s.CachedInfo().Config.Subjects
		}
		return err
	}); err != nil {
		return err
	}
	for _, filter := range subjects {
		if messaging.SubjectMatches(filter, subject) {
			return nil
		}
	}
	return Permanent(fmt.Errorf("stream %s does not capture %s (its subjects: %s): nothing published there would be stored",
		t.stream, subject, strings.Join(subjects, ", ")))
}

// notProvisioned says what is missing when err is notFound and
// PROVISION=false: nobody with the right to create it has yet.
func notProvisioned(err, notFound error, what string) error {
	if errors.Is(err, notFound) {
		return fmt.Errorf("%s does not exist yet; PROVISION=false: waiting for it to be provisioned ('consumer provision', the chart's provision Job): %w", what, err)
	}
	return err
}

// startStep runs a start-up step with Retry. Until it succeeds /readyz
// reports its last error (a stream not provisioned yet, a permission the
// service's NATS user lacks), not only "starting".
func (r *Runtime) startStep(ctx context.Context, what string, fn func(context.Context) error) error {
	var last atomic.Pointer[error]
	r.Ready.Add(func() error {
		if err := last.Load(); err != nil && *err != nil {
			return fmt.Errorf("%s: %w", what, *err)
		}
		return nil
	})
	return Retry(ctx, r.Log, what, func(ctx context.Context) error {
		err := fn(ctx)
		last.Store(&err)
		return err
	})
}

// PublisherOption configures Transport.Publisher.
type PublisherOption func(*publisherOptions)

type publisherOptions struct {
	tracing    []tracing.Option
	ackTimeout time.Duration
}

// WithTracing sets the options of the publisher's spans.
func WithTracing(opts ...tracing.Option) PublisherOption {
	return func(o *publisherOptions) { o.tracing = append(o.tracing, opts...) }
}

// WithAckTimeout bounds how long a message handed over with
// messaging.PublishAsync waits for the server's acknowledgement before
// its PubAck fails with a timeout. Without it such a wait ends only when
// the connection is lost, so a publisher that publishes asynchronously
// sets it.
func WithAckTimeout(d time.Duration) PublisherOption {
	return func(o *publisherOptions) { o.ackTimeout = d }
}

// Publisher returns a publisher of the transport's mode, publishing in a
// span (see tracing.Provider.Publisher). On JetStream its Publish returns
// once the server stored the message, and it is a
// messaging.AsyncPublisher.
func (t *Transport) Publisher(opts ...PublisherOption) (messaging.Publisher, error) {
	var o publisherOptions
	for _, opt := range opts {
		opt(&o)
	}
	var pub messaging.Publisher
	switch {
	case t.stream == "":
		pub = natscore.NewPublisher(t.rt.conn)
	case o.ackTimeout > 0:
		// The acknowledgement timeout of asynchronous publishes is the
		// JetStream context's own, so this publisher gets one.
		js, err := natsjs.New(t.rt.conn, natsjs.WithPublishAsyncTimeout(o.ackTimeout))
		if err != nil {
			return nil, fmt.Errorf("jetstream publisher: %w", err)
		}
		pub = jetstream.NewPublisher(js)
	default:
		pub = jetstream.NewPublisher(t.rt.js)
	}
	return t.rt.Tracing.Publisher(pub, o.tracing...), nil
}

// Consumption is what Consume needs besides the handler.
type Consumption struct {
	// Subject is what the replicas consume.
	Subject string
	// Group shares the messages between the replicas: the queue group on
	// core NATS, the durable consumer's name on JetStream.
	Group string
	// Consumer configures the durable consumer (JetStream only).
	Consumer jetstream.ConsumerConfig
	// Concurrency is how many messages one replica handles at once.
	Concurrency int
	// Tracing sets the options of the handler's spans.
	Tracing []tracing.Option
}

// Consume subscribes h, in a span per message, retrying until the
// subscription is in place or ctx ends. Handlers outlive ctx: a shutdown
// lets the messages in hand finish. /readyz reports the subscription
// unhealthy while it cannot deliver, and shutdown drains it (finishing and
// acknowledging what this replica holds).
func (t *Transport) Consume(ctx context.Context, c Consumption, h messaging.Handler) error {
	var sub messaging.Subscriber
	if t.stream != "" {
		sub = jetstream.NewSubscriber(t.rt.js, t.stream, c.Group, c.Consumer, jetstream.WithConcurrency(c.Concurrency),
			jetstream.WithLogger(t.rt.Log), jetstream.WithMetrics(t.rt.Metrics))
	} else {
		sub = natscore.NewSubscriber(t.rt.conn, c.Group, natscore.WithConcurrency(c.Concurrency))
	}
	handler := t.rt.Tracing.Handler(h, append(slices.Clip(c.Tracing), tracing.WithConsumerGroup(c.Group))...)
	handlerCtx := context.WithoutCancel(ctx)
	var subscription messaging.Subscription
	if err := Retry(ctx, t.rt.Log, "subscribe", func(context.Context) (err error) {
		subscription, err = sub.Subscribe(handlerCtx, c.Subject, handler)
		return err
	}); err != nil {
		return err
	}
	if hc, ok := subscription.(messaging.HealthChecker); ok {
		t.rt.Ready.Add(hc.Healthy)
	}
	t.rt.OnStop("drain subscription", subscription.Drain)
	return nil
}

// Listen hands each message published on filter to one replica of group
// over core NATS, whatever the mode: for notices stored elsewhere too (the
// dead-letter tool's audit records), where one missed while no replica
// runs costs a count, never an order. Shutdown drains it.
func (t *Transport) Listen(ctx context.Context, filter, group string, h messaging.Handler) error {
	sub, err := natscore.NewSubscriber(t.rt.conn, group).Subscribe(context.WithoutCancel(ctx), filter, h)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", filter, err)
	}
	t.rt.OnStop("drain "+filter, sub.Drain)
	return nil
}

// WatchElections returns the announcements of new leaders of the
// transport's stream (on JetStream) and of the other streams named (the
// ledger's, say): what a retry waiting for a leader is woken by
// (WakeOn(elections.Next)). Shutdown stops the watch. With nothing to
// watch it returns nil, whose Next never fires.
func (t *Transport) WatchElections(streams ...string) (*jetstream.Elections, error) {
	if t.stream != "" {
		streams = append([]string{t.stream}, streams...)
	}
	if len(streams) == 0 {
		return nil, nil
	}
	subjects := make([]string, len(streams))
	for i, s := range streams {
		subjects[i] = jetstream.StreamLeaderElected(s)
	}
	el, err := jetstream.WatchElections(t.rt.conn, subjects...)
	if err != nil {
		return nil, err
	}
	t.rt.OnStop("stop watching leader elections", func(context.Context) error { return el.Stop() })
	return el, nil
}

// OnMaxDeliveries calls h for each message the server stops delivering to
// the durable after its MaxDeliver deliveries, in the trace of that
// message; the replicas share the announcements as a queue group named
// like the durable, and shutdown drains the watch. Core NATS never
// redelivers, so there it does nothing.
func (t *Transport) OnMaxDeliveries(ctx context.Context, durable string, h func(context.Context, jetstream.MaxDeliveries)) error {
	if t.stream == "" {
		return nil
	}
	watch, err := jetstream.WatchMaxDeliveries(context.WithoutCancel(ctx), t.rt.conn, t.rt.js, t.stream, durable, durable,
		func(ctx context.Context, ev jetstream.MaxDeliveries) {
			if ev.Original != nil {
				ctx = t.rt.Tracing.FromMessage(ctx, ev.Original)
			}
			h(ctx, ev)
		})
	if err != nil {
		return err
	}
	t.rt.OnStop("drain max-deliveries watch", watch.Drain)
	return nil
}

// Gauges are what ExportGauges exports.
type Gauges struct {
	// Namespace starts every metric's name.
	Namespace string
	// Durables are the durables whose backlogs are exported (JetStream
	// only).
	Durables []string
	// Interval is how often JetStream is read.
	Interval time.Duration
	// Streams are other streams whose fill is exported (the ledger's).
	Streams []string
	// Subjects are subjects of the transport's stream whose messages are
	// counted (the dead letters; JetStream only).
	Subjects []string
}

// ExportGauges registers gauges of what JetStream knows about the work
// (see jetstream.Gauges) and reads them every interval until ctx ends or
// shutdown begins: the durables' backlogs, the stream's fill and its
// subjects' counts on JetStream, and on every mode the fill of the other
// streams named.
func (t *Transport) ExportGauges(ctx context.Context, gs Gauges) {
	cfg := jetstream.GaugesConfig{Namespace: gs.Namespace, Streams: gs.Streams}
	if t.stream != "" {
		cfg.Stream, cfg.Durables, cfg.Subjects = t.stream, gs.Durables, gs.Subjects
		cfg.Streams = append([]string{t.stream}, gs.Streams...)
	}
	g := jetstream.NewGauges(t.rt.js, cfg, t.rt.Log)
	t.rt.Metrics.MustRegister(g)
	// Stopped at shutdown even when ctx was not cancelled (a wiring that
	// returned on its own).
	ctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		g.Run(ctx, gs.Interval)
	}()
	t.rt.OnStop("stop gauges", func(ctx context.Context) error {
		stop()
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
}

// Ledger ensures the ledger's bucket, or with PROVISION=false waits for it
// to exist, retrying until it does or ctx ends, and returns the ledger
// with each record in a span.
func (r *Runtime) Ledger(ctx context.Context, cfg ledger.Config) (ledger.Ledger, error) {
	var led *ledger.KV
	if err := r.startStep(ctx, "ledger bucket "+cfg.Name, func(ctx context.Context) (err error) {
		if !r.env.Provision {
			led, err = ledger.Open(ctx, r.js, cfg.Bucket)
			return notProvisioned(err, natsjs.ErrBucketNotFound, "ledger bucket "+cfg.Name)
		}
		led, err = ledger.Ensure(ctx, r.js, cfg)
		return err
	}); err != nil {
		return nil, err
	}
	return r.Tracing.Ledger(led), nil
}

// EnsureConsumer creates or updates the durable c.Group on the stream, as
// Consume would, without consuming: what provisioning does so that the
// durable exists before the first replica starts. Core NATS has no
// durable: there it does nothing.
func (t *Transport) EnsureConsumer(ctx context.Context, c Consumption) error {
	if t.stream == "" {
		return nil
	}
	return t.rt.startStep(ctx, "durable "+c.Group, func(ctx context.Context) error {
		return jetstream.EnsureConsumer(ctx, t.rt.js, t.stream, c.Group, c.Subject, c.Consumer)
	})
}

// LedgerReader opens the ledger's existing bucket to read records, waiting
// (until ctx ends) for the consumers to have created it.
func (r *Runtime) LedgerReader(ctx context.Context, bucket ledger.Bucket) (*ledger.KV, error) {
	var led *ledger.KV
	err := Retry(ctx, r.Log, "open ledger bucket "+bucket.Name, func(ctx context.Context) (err error) {
		led, err = ledger.Open(ctx, r.js, bucket)
		return err
	})
	return led, err
}

// ErrNotJetStream: what was asked for exists only with
// DELIVERY_MODE=jetstream.
var ErrNotJetStream = errors.New("DELIVERY_MODE=" + ModeCore + " stores nothing: this needs " + ModeJetStream)

// JetStream returns the JetStream context, for a tool that reads and
// changes what the streams store (the dead letters): unlike Transport it
// neither creates nor waits for anything.
func (r *Runtime) JetStream() (natsjs.JetStream, error) {
	if r.env.DeliveryMode != ModeJetStream {
		return nil, ErrNotJetStream
	}
	return r.js, nil
}
