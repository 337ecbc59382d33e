package main

import "github.com/prometheus/client_golang/prometheus"

// metrics are the producer's counters; treat the names as API.
type metrics struct {
	published     prometheus.Counter
	publishErrors prometheus.Counter
}

func newMetrics(r prometheus.Registerer) *metrics {
	m := &metrics{
		published: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "orders_published_total", Help: "Orders published (on JetStream: acknowledged by the server).",
		}),
		publishErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "orders_publish_errors_total", Help: "Publish attempts that failed and were retried.",
		}),
	}
	r.MustRegister(m.published, m.publishErrors)
	return m
}
