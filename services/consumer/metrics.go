package main

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/distsys-go/orders/platform/events"
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
	}
	for _, reason := range []string{events.ReasonOversized, events.ReasonMalformed, events.ReasonInvalid, events.ReasonMaxDeliveries} {
		// Export zeros so rate() works from the start.
		m.deadLettered.WithLabelValues(reason)
		m.deadLetterFailures.WithLabelValues(reason)
	}
	r.MustRegister(m.processed, m.failed, m.deadLettered, m.deadLetterFailures, m.redelivered, m.duplicates, m.eventAge)
	return m
}
