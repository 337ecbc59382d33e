package jetstream

import (
	"context"
	"log/slog"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/distsys-go/orders/platform/messaging"
)

var (
	_ messaging.Subscriber    = (*Subscriber)(nil)
	_ messaging.Subscription  = (*subscription)(nil)
	_ messaging.HealthChecker = (*subscription)(nil)
)

// Pull timing. The server sends an idle heartbeat every pullHeartbeat while
// a pull request waits, and nats.go reports a missed heartbeat after two
// periods without one. nats.go's defaults (30s expiry, 15s heartbeat) let
// a replica whose pull request went nowhere (a consumer leader lost
// without a word) idle for 30s; 1s notices it within 2s for the cost of
// one tiny message a second per idle replica. The expiry must be at least
// twice the heartbeat; 10s renews an idle pull request rarely.
//
// The same timeout ends a stall of nats.go's own (v1.55): its consume loop
// skips the next pull request while the previous one is still being sent,
// and if the last orders outstanding all arrive in that moment nothing
// asks again; the server then holds no pull request and sends no
// heartbeat. It is rare, and a short heartbeat keeps each such stall short
// (how often, and what it cost: docs/performance.md, "Pull heartbeats and
// stalls").
//
// A stalled loop restarts after firstBackoff, doubling while restarts keep
// failing up to maxBackoff: a few seconds at most between attempts, so a
// replica delivers again soon after its consumer has a leader.
const (
	pullHeartbeat = 1 * time.Second
	pullExpiry    = 10 * time.Second
	firstBackoff  = 100 * time.Millisecond
	maxBackoff    = 2 * time.Second
	// probeTimeout bounds the consumer info request that confirms a
	// (re)started loop's consumer has a leader.
	probeTimeout = 2 * time.Second
	// startTimeout bounds a restart's ensure-the-durable request: with no
	// leader nobody answers, and the next attempt (or the new leader's
	// announcement) should not wait for the 5s API default.
	startTimeout = 2 * time.Second
)

// Option configures a Subscriber.
type Option func(*Subscriber)

// WithConcurrency sets how many messages one replica handles at once.
func WithConcurrency(n int) Option { return func(s *Subscriber) { s.concurrency = n } }

// WithLogger sets where consume stalls and recoveries go.
func WithLogger(l *slog.Logger) Option { return func(s *Subscriber) { s.log = l } }

// WithMetrics registers the consume-loop metrics (stalls by reason,
// recoveries) with r.
func WithMetrics(r prometheus.Registerer) Option {
	return func(s *Subscriber) { s.metrics.register(r) }
}

// Subscriber binds to the durable consumer named durable on stream.
type Subscriber struct {
	js          natsjs.JetStream
	stream      string
	durable     string
	cfg         ConsumerConfig
	concurrency int
	log         *slog.Logger
	metrics     *stallMetrics
}

// NewSubscriber returns a subscriber; every replica built with the same
// stream and durable shares one consumer.
func NewSubscriber(js natsjs.JetStream, stream, durable string, cfg ConsumerConfig, opts ...Option) *Subscriber {
	s := &Subscriber{
		js: js, stream: stream, durable: durable, cfg: cfg, concurrency: 1, log: slog.Default(),
		metrics: newStallMetrics(),
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Subscribe creates or updates the durable consumer filtered on subject and
// starts consuming from it. From then on the subscription watches its
// consume loop: when the loop stops delivering (the durable deleted, its
// leader lost, heartbeats missed) it reports itself unhealthy, ensures the
// durable again and restarts the loop until it delivers.
func (s *Subscriber) Subscribe(ctx context.Context, subject string, h messaging.Handler) (messaging.Subscription, error) {
	sub := &subscription{
		Subscriber: s,
		config:     s.cfg.durable(s.durable, subject),
		workers:    messaging.NewWorkers(s.concurrency),
		health:     newHealth(s.durable),
		kick:       make(chan struct{}, 1),
		done:       make(chan struct{}),
	}
	sub.handle = func(m natsjs.Msg) { h(ctx, toMessage(m)) }
	// A restart after the durable lost its leader goes as soon as the new
	// one is announced. Without the watch it still goes, after its pause.
	if el, err := WatchElections(s.js.Conn(), ConsumerLeaderElected(s.stream, s.durable)); err != nil {
		s.log.Warn("not watching the durable's leader elections; restarts wait out their pause", "consumer", s.durable, "error", err)
	} else {
		sub.elections = el
	}
	// The watch outlives ctx, as handlers do: only Drain ends it.
	sub.life, sub.end = context.WithCancel(context.WithoutCancel(ctx))
	cons, err := sub.start(ctx)
	if err != nil {
		sub.end()
		_ = sub.elections.Stop() // best effort: the subscription never ran
		return nil, err
	}
	go sub.supervise(cons)
	return sub, nil
}
