// Package natsconn opens the NATS connection both services use: it retries
// the first connect and reconnects forever, logs every state change,
// follows servers into lame-duck mode, and counts reconnects and
// slow-consumer errors.
package natsconn

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
)

// Config is the connection's part of a service's environment.
type Config struct {
	URL string `envconfig:"NATS_URL" default:"nats://127.0.0.1:4222" desc:"NATS server URL(s), comma-separated"`
	// ReconnectWait is also the pause between failed first connects.
	ReconnectWait time.Duration `envconfig:"NATS_RECONNECT_WAIT" default:"1s" desc:"pause between reconnect attempts"`
	// ConnectTimeout bounds one attempt, so that a server that does not
	// answer (a recreated pod's old address, still in DNS caches) costs
	// this much before the next server is tried.
	ConnectTimeout time.Duration `envconfig:"NATS_CONNECT_TIMEOUT" default:"2s" desc:"how long one connection attempt (dial, TLS, CONNECT) may take before the next server is tried"`
	Security
}

// Validate implements config.Validator.
func (c Config) Validate() error {
	for _, u := range strings.Split(c.URL, ",") {
		if strings.TrimSpace(u) == "" {
			return fmt.Errorf("NATS_URL=%q: want one or more comma-separated URLs such as nats://nats:4222", c.URL)
		}
	}
	if c.ReconnectWait <= 0 {
		return fmt.Errorf("NATS_RECONNECT_WAIT=%s: must be positive", c.ReconnectWait)
	}
	if c.ConnectTimeout <= 0 {
		return fmt.Errorf("NATS_CONNECT_TIMEOUT=%s: must be positive", c.ConnectTimeout)
	}
	return c.Security.Validate()
}

// Option adjusts the connection.
type Option func(*options)

type options struct {
	registerer prometheus.Registerer
	status     **Status
	extra      []nats.Option
}

// WithMetrics registers the connection's counters with r.
func WithMetrics(r prometheus.Registerer) Option { return func(o *options) { o.registerer = r } }

// WithStatus sets *s to the connection's Status, for readiness checks.
func WithStatus(s **Status) Option { return func(o *options) { o.status = s } }

// WithNATSOptions passes further options to nats.Connect.
func WithNATSOptions(opts ...nats.Option) Option {
	return func(o *options) { o.extra = append(o.extra, opts...) }
}

// Connect returns a connection named name. It does not wait for the server:
// until the first connect succeeds the connection reports RECONNECTING, so
// a pod can start before NATS does and is simply not ready yet.
func Connect(cfg Config, name string, log *slog.Logger, opts ...Option) (*nats.Conn, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	reconnects := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "orders_nats_reconnects_total", Help: "Reconnections to the NATS server.",
	})
	slow := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "orders_nats_slow_consumer_total", Help: "Slow-consumer errors: messages the NATS client dropped because a subscription's buffer was full.",
	})
	if o.registerer != nil {
		if err := registerAll(o.registerer, reconnects, slow); err != nil {
			return nil, fmt.Errorf("register nats metrics: %w", err)
		}
	}
	status := newStatus(cfg, log)
	if o.status != nil {
		*o.status = status
	}
	security, err := cfg.Security.options()
	if err != nil {
		return nil, err
	}
	natsOpts := append([]nats.Option{
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.RetryOnFailedConnect(true),
		nats.ReconnectWait(cfg.ReconnectWait),
		// Credentials may be fixed (a rotated password file) while the
		// client retries: never give up on an authorization error.
		nats.IgnoreAuthErrorAbort(),
	}, handlers(log, status, reconnects, slow)...)
	if cfg.ConnectTimeout > 0 { // zero: nats.go's own (2s)
		natsOpts = append(natsOpts, nats.Timeout(cfg.ConnectTimeout))
	}
	natsOpts = append(append(natsOpts, security...), o.extra...)
	log.Info("connecting to nats", "url", status.urls)
	nc, err := nats.Connect(cfg.URL, natsOpts...)
	if err != nil {
		return nil, fmt.Errorf("connect nats %s: %w", status.urls, err)
	}
	status.nc.Store(nc)
	return nc, nil
}

// handlers log every change of the connection's state, count reconnects
// and slow-consumer drops, and keep status current.
func handlers(log *slog.Logger, status *Status, reconnects, slow prometheus.Counter) []nats.Option {
	return []nats.Option{
		nats.ConnectHandler(func(nc *nats.Conn) {
			log.Info("nats connected", "url", nc.ConnectedUrlRedacted(), "server", nc.ConnectedServerName(), "failed_attempts", status.connected())
		}),
		nats.ReconnectErrHandler(status.attemptFailed),
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			if nc.IsClosed() || err == nil {
				return // our own Close or Drain; ClosedHandler logs it
			}
			log.Warn("nats disconnected; reconnecting", "error", err)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			reconnects.Inc()
			log.Info("nats reconnected", "url", nc.ConnectedUrlRedacted(), "server", nc.ConnectedServerName(), "failed_attempts", status.connected())
		}),
		nats.LameDuckModeHandler(func(nc *nats.Conn) {
			log.Warn("nats server entering lame-duck mode; will reconnect elsewhere", "server", nc.ConnectedServerName())
		}),
		nats.ClosedHandler(func(*nats.Conn) { log.Info("nats connection closed") }),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subject := ""
			if sub != nil {
				subject = sub.Subject
			}
			if errors.Is(err, nats.ErrSlowConsumer) {
				slow.Inc()
				log.Error("nats slow consumer: client dropped messages", "subject", subject, "error", err)
				return
			}
			if errors.Is(err, nats.ErrPermissionViolation) {
				status.denied(err)
				log.Error("nats refused an operation: the NATS user lacks the permission", "error", err)
				return
			}
			log.Error("nats async error", "subject", subject, "error", err)
		}),
	}
}

func registerAll(r prometheus.Registerer, cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			return err
		}
	}
	return nil
}
