package jetstream

import (
	"errors"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// Stall reasons, the values of the reason label of
// orders_consume_stalls_total. A bounded set: every other error is "other".
const (
	reasonNoResponders      = "no_responders"
	reasonConsumerDeleted   = "consumer_deleted"
	reasonLeadershipChanged = "leadership_changed"
	reasonHeartbeatMissed   = "heartbeat_missed"
	reasonServerShutdown    = "server_shutdown"
	reasonConnectionClosed  = "connection_closed"
	reasonStopped           = "stopped"
	reasonOther             = "other"
)

// stallReasons are every reason label, exported as zeros from the start.
func stallReasons() []string {
	return []string{
		reasonNoResponders, reasonConsumerDeleted, reasonLeadershipChanged, reasonHeartbeatMissed,
		reasonServerShutdown, reasonConnectionClosed, reasonStopped, reasonOther,
	}
}

// stallReason names the consume error err for the metric label.
func stallReason(err error) string {
	for _, r := range []struct {
		err    error
		reason string
	}{
		{nats.ErrNoResponders, reasonNoResponders},
		{natsjs.ErrConsumerDeleted, reasonConsumerDeleted},
		{natsjs.ErrConsumerNotFound, reasonConsumerDeleted},
		{natsjs.ErrConsumerLeadershipChanged, reasonLeadershipChanged},
		{natsjs.ErrNoHeartbeat, reasonHeartbeatMissed},
		{natsjs.ErrServerShutdown, reasonServerShutdown},
		{natsjs.ErrConnectionClosed, reasonConnectionClosed},
		{nats.ErrConnectionClosed, reasonConnectionClosed},
		{errStopped, reasonStopped},
	} {
		if errors.Is(err, r.err) {
			return r.reason
		}
	}
	return reasonOther
}

// stallMetrics count the consume loop's stalls and recoveries; names are
// shared with dashboards and alerts, so treat them as API.
type stallMetrics struct {
	stalls     *prometheus.CounterVec
	recoveries prometheus.Counter
}

func newStallMetrics() *stallMetrics {
	m := &stallMetrics{
		stalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orders_consume_stalls_total",
			Help: "Times this replica's JetStream consume loop stopped delivering, by the reason that stopped it.",
		}, []string{"reason"}),
		recoveries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "orders_consume_recoveries_total",
			Help: "Times this replica's JetStream consume loop delivered again after a stall.",
		}),
	}
	for _, r := range stallReasons() {
		m.stalls.WithLabelValues(r) // export zeros so rate() works from the start
	}
	return m
}

// register adds the metrics to r, reusing the ones an earlier Subscriber
// registered there: a process may build more than one Subscriber.
func (m *stallMetrics) register(r prometheus.Registerer) {
	m.stalls = registerOrReuse(r, m.stalls)
	m.recoveries = registerOrReuse(r, m.recoveries)
}

// registerOrReuse registers c, or returns the equal collector already
// registered. Any other conflict is a programming error, so it panics as
// prometheus.MustRegister does.
func registerOrReuse[C prometheus.Collector](r prometheus.Registerer, c C) C {
	err := r.Register(c)
	if err == nil {
		return c
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing
		}
	}
	panic(err)
}
