package jetstream

import (
	"context"
	"fmt"
	"log/slog"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/distsys-go/orders/platform/messaging"
)

var (
	_ messaging.Subscriber   = (*Subscriber)(nil)
	_ messaging.Subscription = (*subscription)(nil)
)

// Option configures a Subscriber.
type Option func(*Subscriber)

// WithConcurrency sets how many messages one replica handles at once.
func WithConcurrency(n int) Option { return func(s *Subscriber) { s.concurrency = n } }

// WithLogger sets where consume errors (missed heartbeats, reconnects) go.
func WithLogger(l *slog.Logger) Option { return func(s *Subscriber) { s.log = l } }

// Subscriber binds to the durable consumer named durable on stream.
type Subscriber struct {
	js          natsjs.JetStream
	stream      string
	durable     string
	cfg         ConsumerConfig
	concurrency int
	log         *slog.Logger
}

// NewSubscriber returns a subscriber; every replica built with the same
// stream and durable shares one consumer.
func NewSubscriber(js natsjs.JetStream, stream, durable string, cfg ConsumerConfig, opts ...Option) *Subscriber {
	s := &Subscriber{js: js, stream: stream, durable: durable, cfg: cfg, concurrency: 1, log: slog.Default()}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Subscribe creates or updates the durable consumer filtered on subject and
// starts consuming from it.
func (s *Subscriber) Subscribe(ctx context.Context, subject string, h messaging.Handler) (messaging.Subscription, error) {
	cons, err := s.js.CreateOrUpdateConsumer(ctx, s.stream, s.cfg.durable(s.durable, subject))
	if err != nil {
		return nil, fmt.Errorf("ensure consumer %s on %s: %w", s.durable, s.stream, err)
	}
	workers := messaging.NewWorkers(s.concurrency)
	cc, err := cons.Consume(func(m natsjs.Msg) {
		workers.Go(func() { h(ctx, toMessage(m)) })
	},
		natsjs.PullMaxMessages(s.cfg.PullMaxMessages),
		natsjs.ConsumeErrHandler(func(_ natsjs.ConsumeContext, err error) {
			s.log.Warn("jetstream consume", "consumer", s.durable, "error", err)
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("consume %s: %w", s.durable, err)
	}
	return &subscription{cc: cc, workers: workers}, nil
}

type subscription struct {
	cc      natsjs.ConsumeContext
	workers *messaging.Workers
}

// Drain stops pulling and waits until every buffered message went through
// a handler. Stop would throw the buffered messages away; they would come
// back only after the ack wait.
func (s *subscription) Drain(ctx context.Context) error {
	s.cc.Drain()
	select {
	case <-s.cc.Closed():
	case <-ctx.Done():
		return ctx.Err()
	}
	return s.workers.Wait(ctx)
}
