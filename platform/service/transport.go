package service

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/distsys-go/orders/platform/messaging"
	"github.com/distsys-go/orders/platform/messaging/jetstream"
	"github.com/distsys-go/orders/platform/messaging/natscore"
	"github.com/distsys-go/orders/platform/tracing"
)

// Transport builds the publishers and subscribers of the service's
// DELIVERY_MODE. It is the one place that knows which messaging
// implementation each mode is: a new mode, or another kind of publisher,
// changes this file and no service.
type Transport struct {
	mode    string
	stream  string // the JetStream stream, in ModeJetStream
	nc      *nats.Conn
	js      natsjs.JetStream
	log     *slog.Logger
	metrics prometheus.Registerer
	tracing *tracing.Provider
}

// SubscriberConfig is what a Subscriber needs besides the transport.
type SubscriberConfig struct {
	// Group shares the messages between the replicas: the queue group on
	// core NATS, the durable consumer's name on JetStream.
	Group string
	// Consumer configures the durable consumer (JetStream only).
	Consumer jetstream.ConsumerConfig
	// Concurrency is how many messages one replica handles at once.
	Concurrency int
}

// Transport returns the service's transport. On JetStream it first ensures
// stream, retrying like EnsureStream until it exists or ctx ends; core NATS
// stores nothing, so stream is unused there.
func (r *Runtime) Transport(ctx context.Context, stream jetstream.StreamConfig) (*Transport, error) {
	t := &Transport{mode: r.Settings.DeliveryMode, nc: r.Conn, js: r.JetStream,
		log: r.Log, metrics: r.Metrics, tracing: r.Tracing}
	switch t.mode {
	case ModeJetStream:
		if err := r.EnsureStream(ctx, stream); err != nil {
			return nil, err
		}
		t.stream = stream.Name
	case ModeCore:
	default:
		// Settings.Validate refuses any other mode; this guards a
		// Runtime built by hand.
		return nil, fmt.Errorf("DELIVERY_MODE=%q: no transport", t.mode)
	}
	return t, nil
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
	case t.mode != ModeJetStream:
		pub = natscore.NewPublisher(t.nc)
	case o.ackTimeout > 0:
		// The acknowledgement timeout of asynchronous publishes is the
		// JetStream context's own, so this publisher gets one.
		js, err := natsjs.New(t.nc, natsjs.WithPublishAsyncTimeout(o.ackTimeout))
		if err != nil {
			return nil, fmt.Errorf("jetstream publisher: %w", err)
		}
		pub = jetstream.NewPublisher(js)
	default:
		pub = jetstream.NewPublisher(t.js)
	}
	return t.tracing.Publisher(pub, o.tracing...), nil
}

// Subscriber returns a subscriber of the transport's mode. On JetStream it
// binds to the durable consumer cfg.Group on the stream, logging its
// stalls and registering its metrics with the runtime's.
func (t *Transport) Subscriber(cfg SubscriberConfig) messaging.Subscriber {
	if t.mode == ModeJetStream {
		return jetstream.NewSubscriber(t.js, t.stream, cfg.Group, cfg.Consumer,
			jetstream.WithConcurrency(cfg.Concurrency), jetstream.WithLogger(t.log), jetstream.WithMetrics(t.metrics))
	}
	return natscore.NewSubscriber(t.nc, natscore.WithQueueGroup(cfg.Group), natscore.WithConcurrency(cfg.Concurrency))
}
