package main

import (
	"context"
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/distsys-go/orders/platform/messaging"
)

// metrics are the producer's counters; treat the names as API.
type metrics struct {
	published     prometheus.Counter
	publishErrors *prometheus.CounterVec
}

// Values of orders_publish_errors_total's reason label.
const (
	reasonFull        = "full"        // the stream or the server's store is full
	reasonUnavailable = "unavailable" // no server or stream answered
	reasonTimeout     = "timeout"     // no answer within PUBLISH_TIMEOUT
	reasonRejected    = "rejected"    // the server will never take this message
	reasonOther       = "other"
)

func newMetrics(r prometheus.Registerer) *metrics {
	m := &metrics{
		published: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "orders_published_total", Help: "Orders published (on JetStream: acknowledged by the server).",
		}),
		publishErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orders_publish_errors_total", Help: "Publish attempts that failed and were retried, by reason: full, unavailable, timeout, rejected, other.",
		}, []string{"reason"}),
	}
	for _, reason := range []string{reasonFull, reasonUnavailable, reasonTimeout, reasonRejected, reasonOther} {
		// Export zeros so rate() and alerts see the first error.
		m.publishErrors.WithLabelValues(reason)
	}
	r.MustRegister(m.published, m.publishErrors)
	return m
}

// publishErrorReason is the reason label of a failed publish.
func publishErrorReason(err error) string {
	switch {
	case errors.Is(err, messaging.ErrFull):
		return reasonFull
	case errors.Is(err, messaging.ErrUnavailable):
		return reasonUnavailable
	case errors.Is(err, messaging.ErrRejected):
		return reasonRejected
	case errors.Is(err, context.DeadlineExceeded):
		return reasonTimeout
	}
	return reasonOther
}
