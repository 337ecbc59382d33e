package main

import (
	"context"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/distsys-go/orders/platform/deadletter"
	"github.com/distsys-go/orders/platform/events"
	"github.com/distsys-go/orders/platform/messaging"
)

// metricsNamespace starts the name of every orders metric, the JetStream
// gauges' too.
const metricsNamespace = "orders"

// metrics are the consumer's counters; names are shared with dashboards
// and alerts, so treat them as API.
type metrics struct {
	processed    prometheus.Counter
	failed       prometheus.Counter
	deadLettered *prometheus.CounterVec
	// deadLetterFailures counts messages given up on without a dead letter:
	// each is logged as an error with its stream and sequence.
	deadLetterFailures *prometheus.CounterVec
	redelivered        prometheus.Counter
	duplicates         prometheus.Counter
	eventAge           prometheus.Histogram
	// deadLetterActions counts the dead-letter tool's results, from its
	// audit records as they are published.
	deadLetterActions *prometheus.CounterVec
}

func newMetrics(r prometheus.Registerer) *metrics {
	m := &metrics{
		processed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "orders_processed_total", Help: "Orders processed and recorded by this replica.",
		}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "orders_failed_total", Help: "Processing attempts that failed transiently and were handed back for redelivery.",
		}),
		deadLettered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orders_dead_lettered_total", Help: "Messages sent to the dead-letter subject, by reason.",
		}, []string{"reason"}),
		deadLetterFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orders_dead_letter_failures_total",
			Help: "Dead-letter publishes given up on (rejected, or failing on the last delivery), one per delivery that gave up, by reason; the original stays in its stream, logged as an error with its stream and sequence.",
		}, []string{"reason"}),
		redelivered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "orders_redelivered_total", Help: "Deliveries that were not the first delivery of their message.",
		}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "orders_duplicates_skipped_total", Help: "Orders skipped because the ledger already had them.",
		}),
		eventAge: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "orders_event_age_seconds",
			Help:    "Time from an order's created_at to its processing.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10), // 0.5ms .. ~131s
		}),
		deadLetterActions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orders_dead_letter_actions_total",
			Help: "Dead letters the dead-letter tool replayed, skipped, refused, failed on or purged, by verb and outcome, counted by one running consumer replica from the tool's audit records.",
		}, []string{"verb", "outcome"}),
	}
	for _, o := range []string{deadletter.Replayed, deadletter.Failed} {
		m.deadLetterActions.WithLabelValues("replay", o)
	}
	m.deadLetterActions.WithLabelValues("purge", deadletter.Purged)
	for _, reason := range events.Reasons {
		// Export zeros so rate() works from the start.
		m.deadLettered.WithLabelValues(reason)
		m.deadLetterFailures.WithLabelValues(reason)
	}
	r.MustRegister(m.processed, m.failed, m.deadLettered, m.deadLetterFailures, m.redelivered, m.duplicates, m.eventAge, m.deadLetterActions)
	return m
}

// countAction counts the audit record msg of the dead-letter tool, whose
// subject ends in <verb>.<outcome>.
func (m *metrics) countAction(_ context.Context, msg *messaging.Message) {
	tokens := strings.Split(msg.Subject, ".")
	if len(tokens) < 2 {
		return
	}
	m.deadLetterActions.WithLabelValues(tokens[len(tokens)-2], tokens[len(tokens)-1]).Inc()
}
