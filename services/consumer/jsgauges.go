package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/distsys-go/orders/platform/ledger"
	"github.com/distsys-go/orders/platform/service"
)

var _ prometheus.Collector = (*jetStreamGauges)(nil)

// jetStreamGauges exports what JetStream knows about the work: the
// durable's backlog and the streams' fill against their limits. It reads
// them on a timer, one info request per object per interval, and a scrape
// only copies the last reading: scrapes never reach NATS, so neither many
// replicas nor many Prometheus servers multiply the load on it beyond
// one request per object per replica per interval.
//
// Every replica reports the same shared values; dashboards and alerts
// aggregate them with max, not sum. A failed read keeps the last values,
// and orders_jetstream_info_last_success_timestamp_seconds shows how old
// they are.
type jetStreamGauges struct {
	js      natsjs.JetStream
	stream  string   // the durable's stream; "" when there is no durable (core delivery)
	durable string   // the shared durable consumer
	streams []string // the streams whose fill is exported
	log     *slog.Logger
	now     func() time.Time
	errors  prometheus.Counter

	mu          sync.Mutex
	consumer    *natsjs.ConsumerInfo
	streamInfos map[string]*natsjs.StreamInfo
	lastSuccess time.Time
	failing     bool
}

// Gauge descriptions; the names are API like the counters'.
var (
	consumerLabels         = []string{"stream", "consumer"}
	descConsumerPending    = prometheus.NewDesc("orders_consumer_pending_messages", "Messages in the stream the durable consumer has not delivered yet (the backlog).", consumerLabels, nil)
	descConsumerAckPending = prometheus.NewDesc("orders_consumer_ack_pending_messages", "Messages delivered to some replica and not acknowledged yet.", consumerLabels, nil)
	descConsumerRedeliv    = prometheus.NewDesc("orders_consumer_redelivered_messages", "Messages delivered more than once and not acknowledged yet.", consumerLabels, nil)
	descStreamMessages     = prometheus.NewDesc("orders_stream_messages", "Messages the stream holds.", []string{"stream"}, nil)
	descStreamBytes        = prometheus.NewDesc("orders_stream_bytes", "Bytes the stream holds.", []string{"stream"}, nil)
	descStreamMaxBytes     = prometheus.NewDesc("orders_stream_max_bytes", "The stream's byte limit; absent when unlimited.", []string{"stream"}, nil)
	descStreamMaxMessages  = prometheus.NewDesc("orders_stream_max_messages", "The stream's message limit; absent when unlimited.", []string{"stream"}, nil)
	descStreamMaxAge       = prometheus.NewDesc("orders_stream_max_age_seconds", "How long the stream keeps a message; absent when unlimited.", []string{"stream"}, nil)
	descLastSuccess        = prometheus.NewDesc("orders_jetstream_info_last_success_timestamp_seconds", "When the consumer and stream gauges were last read from JetStream without error (Unix time).", nil, nil)
)

// newJetStreamGauges returns the gauges of durable on stream (none when
// durable is "") and of streams. Register it, then run it.
func newJetStreamGauges(js natsjs.JetStream, stream, durable string, streams []string, log *slog.Logger) *jetStreamGauges {
	return &jetStreamGauges{
		js: js, stream: stream, durable: durable, streams: streams, log: log, now: time.Now,
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "orders_jetstream_info_errors_total",
			Help: "Reads of the consumer and stream gauges from JetStream that failed; the gauges keep their last values.",
		}),
		streamInfos: map[string]*natsjs.StreamInfo{},
	}
}

// minReadTimeout is how long one reading may take at least: a loaded
// server answers late, and a late answer is still worth having.
const minReadTimeout = 5 * time.Second

// run reads the gauges at once and then every interval until ctx ends.
func (g *jetStreamGauges) run(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		readCtx, cancel := context.WithTimeout(ctx, max(interval, minReadTimeout))
		g.report(g.refresh(readCtx))
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// refresh makes one info request per object and keeps what it got.
func (g *jetStreamGauges) refresh(ctx context.Context) error {
	var (
		errs []error
		ci   *natsjs.ConsumerInfo
		sis  = map[string]*natsjs.StreamInfo{}
	)
	if g.durable != "" {
		c, err := g.js.Consumer(ctx, g.stream, g.durable)
		if err != nil {
			errs = append(errs, fmt.Errorf("consumer %s on %s: %w", g.durable, g.stream, err))
		} else {
			ci = c.CachedInfo()
		}
	}
	for _, name := range g.streams {
		s, err := g.js.Stream(ctx, name)
		if err != nil {
			errs = append(errs, fmt.Errorf("stream %s: %w", name, err))
			continue
		}
		sis[name] = s.CachedInfo()
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if ci != nil {
		g.consumer = ci
	}
	for name, si := range sis {
		g.streamInfos[name] = si
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	g.lastSuccess = g.now()
	return nil
}

// report counts a failed read and logs when reading starts or stops
// failing, not at every interval.
func (g *jetStreamGauges) report(err error) {
	if err != nil {
		g.errors.Inc()
	}
	g.mu.Lock()
	was := g.failing
	g.failing = err != nil
	g.mu.Unlock()
	switch {
	case err != nil && !was:
		g.log.Warn("reading JetStream gauges failed; they keep their last values", "err", err)
	case err == nil && was:
		g.log.Info("reading JetStream gauges works again")
	}
}

// Describe implements prometheus.Collector.
func (g *jetStreamGauges) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descConsumerPending, descConsumerAckPending, descConsumerRedeliv,
		descStreamMessages, descStreamBytes, descStreamMaxBytes, descStreamMaxMessages, descStreamMaxAge, descLastSuccess} {
		ch <- d
	}
	g.errors.Describe(ch)
}

// Collect implements prometheus.Collector with the last reading; nothing
// that was never read is exported, so no false zero shows up at start.
func (g *jetStreamGauges) Collect(ch chan<- prometheus.Metric) {
	g.errors.Collect(ch)
	g.mu.Lock()
	defer g.mu.Unlock()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	if ci := g.consumer; ci != nil {
		gauge(descConsumerPending, float64(ci.NumPending), g.stream, g.durable)
		gauge(descConsumerAckPending, float64(ci.NumAckPending), g.stream, g.durable)
		gauge(descConsumerRedeliv, float64(ci.NumRedelivered), g.stream, g.durable)
	}
	for name, si := range g.streamInfos {
		gauge(descStreamMessages, float64(si.State.Msgs), name)
		gauge(descStreamBytes, float64(si.State.Bytes), name)
		// JetStream says "unlimited" with -1 (or 0): no limit, no series.
		if si.Config.MaxBytes > 0 {
			gauge(descStreamMaxBytes, float64(si.Config.MaxBytes), name)
		}
		if si.Config.MaxMsgs > 0 {
			gauge(descStreamMaxMessages, float64(si.Config.MaxMsgs), name)
		}
		if si.Config.MaxAge > 0 {
			gauge(descStreamMaxAge, si.Config.MaxAge.Seconds(), name)
		}
	}
	if !g.lastSuccess.IsZero() {
		gauge(descLastSuccess, float64(g.lastSuccess.UnixNano())/1e9)
	}
}

// startGauges registers the JetStream gauges in rt's registry and reads
// them every interval until ctx ends: the durable's backlog on stream (on
// JetStream delivery) and the fill of stream and of the ledger's stream.
// wait returns once the reading stopped.
func startGauges(ctx context.Context, rt *service.Runtime, stream, durable string, led ledger.Config, interval time.Duration) (wait func()) {
	streams := []string{led.StreamName()}
	if rt.Settings.DeliveryMode == service.ModeJetStream {
		streams = append([]string{stream}, streams...)
	} else {
		stream, durable = "", "" // core delivery: no stream of orders, no durable
	}
	g := newJetStreamGauges(rt.JetStream, stream, durable, streams, rt.Log)
	rt.Metrics.MustRegister(g)
	done := make(chan struct{})
	go func() {
		defer close(done)
		g.run(ctx, interval)
	}()
	return func() { <-done }
}
