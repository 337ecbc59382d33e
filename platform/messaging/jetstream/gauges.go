package jetstream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

var _ prometheus.Collector = (*Gauges)(nil)

// Gauges exports what JetStream knows about the work: durables' backlogs
// and streams' fill against their limits. It reads them on a timer, one
// info request per object per interval, and a scrape only copies the last
// reading: scrapes never reach NATS, so neither many replicas nor many
// Prometheus servers multiply the load on it beyond one request per
// object per replica per interval.
//
// Every replica reports the same shared values; dashboards and alerts
// aggregate them with max, not sum. A failed read keeps the last values,
// and <namespace>_jetstream_info_last_success_timestamp_seconds shows how
// old they are.
type Gauges struct {
	js     natsjs.JetStream
	cfg    GaugesConfig
	descs  gaugeDescs
	log    *slog.Logger
	now    func() time.Time
	errors prometheus.Counter

	mu          sync.Mutex
	consumers   map[string]*natsjs.ConsumerInfo
	streamInfos map[string]*natsjs.StreamInfo
	subjects    map[string]uint64
	lastSuccess time.Time
	failing     bool
}

// GaugesConfig says what Gauges reads and how its metrics are named.
type GaugesConfig struct {
	// Namespace starts every metric name (orders_consumer_pending_messages
	// for "orders"); the names are API like any metric's.
	Namespace string
	// Stream and Durables name the durable consumers whose backlogs are
	// exported (none when Durables is empty); Stream is also the stream
	// Subjects are counted in.
	Stream   string
	Durables []string
	// Streams are the streams whose fill is exported.
	Streams []string
	// Subjects are subjects of Stream whose messages are counted (the
	// dead letters, say): one more request per subject and reading.
	Subjects []string
}

// gaugeDescs are the gauges' descriptions.
type gaugeDescs struct {
	consumerPending, consumerAckPending, consumerRedelivered                     *prometheus.Desc
	streamMessages, streamBytes, streamMaxBytes, streamMaxMessages, streamMaxAge *prometheus.Desc
	subjectMessages, lastSuccess                                                 *prometheus.Desc
}

func newGaugeDescs(ns string) gaugeDescs {
	consumer, stream := []string{"stream", "consumer"}, []string{"stream"}
	d := func(name, help string, labels []string) *prometheus.Desc {
		return prometheus.NewDesc(ns+"_"+name, help, labels, nil)
	}
	return gaugeDescs{
		consumerPending:     d("consumer_pending_messages", "Messages in the stream the durable consumer has not delivered yet (the backlog).", consumer),
		consumerAckPending:  d("consumer_ack_pending_messages", "Messages delivered to some replica and not acknowledged yet.", consumer),
		consumerRedelivered: d("consumer_redelivered_messages", "Messages delivered more than once and not acknowledged yet.", consumer),
		streamMessages:      d("stream_messages", "Messages the stream holds.", stream),
		streamBytes:         d("stream_bytes", "Bytes the stream holds.", stream),
		streamMaxBytes:      d("stream_max_bytes", "The stream's byte limit; absent when unlimited.", stream),
		streamMaxMessages:   d("stream_max_messages", "The stream's message limit; absent when unlimited.", stream),
		streamMaxAge:        d("stream_max_age_seconds", "How long the stream keeps a message; absent when unlimited.", stream),
		subjectMessages:     d("stream_subject_messages", "Messages the stream holds on one subject (the dead letters' backlog).", []string{"stream", "subject"}),
		lastSuccess:         d("jetstream_info_last_success_timestamp_seconds", "When the consumer and stream gauges were last read from JetStream without error (Unix time).", nil),
	}
}

// NewGauges returns the gauges cfg names. Register them, then Run them.
func NewGauges(js natsjs.JetStream, cfg GaugesConfig, log *slog.Logger) *Gauges {
	return &Gauges{
		js: js, cfg: cfg, descs: newGaugeDescs(cfg.Namespace), log: log, now: time.Now,
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: cfg.Namespace + "_jetstream_info_errors_total",
			Help: "Reads of the consumer and stream gauges from JetStream that failed; the gauges keep their last values.",
		}),
		consumers:   map[string]*natsjs.ConsumerInfo{},
		streamInfos: map[string]*natsjs.StreamInfo{},
		subjects:    map[string]uint64{},
	}
}

// minReadTimeout is how long one reading may take at least: a loaded
// server answers late, and a late answer is still worth having.
const minReadTimeout = 5 * time.Second

// Run reads the gauges at once and then every interval until ctx ends.
func (g *Gauges) Run(ctx context.Context, interval time.Duration) {
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
func (g *Gauges) refresh(ctx context.Context) error {
	var (
		errs []error
		cis  = map[string]*natsjs.ConsumerInfo{}
		sis  = map[string]*natsjs.StreamInfo{}
	)
	for _, durable := range g.cfg.Durables {
		c, err := g.js.Consumer(ctx, g.cfg.Stream, durable)
		if err != nil {
			errs = append(errs, fmt.Errorf("consumer %s on %s: %w", durable, g.cfg.Stream, err))
			continue
		}
		cis[durable] = c.CachedInfo()
	}
	for _, name := range g.cfg.Streams {
		s, err := g.js.Stream(ctx, name)
		if err != nil {
			errs = append(errs, fmt.Errorf("stream %s: %w", name, err))
			continue
		}
		sis[name] = s.CachedInfo()
	}
	counts, err := g.countSubjects(ctx)
	if err != nil {
		errs = append(errs, err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for durable, ci := range cis {
		g.consumers[durable] = ci
	}
	for name, si := range sis {
		g.streamInfos[name] = si
	}
	for subject, n := range counts {
		g.subjects[subject] = n
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	g.lastSuccess = g.now()
	return nil
}

// countSubjects reads how many messages Stream holds on each of Subjects.
func (g *Gauges) countSubjects(ctx context.Context) (map[string]uint64, error) {
	if len(g.cfg.Subjects) == 0 {
		return nil, nil
	}
	s, err := g.js.Stream(ctx, g.cfg.Stream)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", g.cfg.Stream, err)
	}
	counts := map[string]uint64{}
	for _, subject := range g.cfg.Subjects {
		si, err := s.Info(ctx, natsjs.WithSubjectFilter(subject))
		if err != nil {
			return counts, fmt.Errorf("stream %s, subject %s: %w", g.cfg.Stream, subject, err)
		}
		counts[subject] = si.State.Subjects[subject] // absent: none
	}
	return counts, nil
}

// report counts a failed read and logs when reading starts or stops
// failing, not at every interval.
func (g *Gauges) report(err error) {
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
func (g *Gauges) Describe(ch chan<- *prometheus.Desc) {
	d := g.descs
	for _, desc := range []*prometheus.Desc{d.consumerPending, d.consumerAckPending, d.consumerRedelivered,
		d.streamMessages, d.streamBytes, d.streamMaxBytes, d.streamMaxMessages, d.streamMaxAge, d.subjectMessages, d.lastSuccess} {
		ch <- desc
	}
	g.errors.Describe(ch)
}

// Collect implements prometheus.Collector with the last reading; nothing
// that was never read is exported, so no false zero shows up at start.
func (g *Gauges) Collect(ch chan<- prometheus.Metric) {
	g.errors.Collect(ch)
	g.mu.Lock()
	defer g.mu.Unlock()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	d, stream := g.descs, g.cfg.Stream
	for durable, ci := range g.consumers {
		gauge(d.consumerPending, float64(ci.NumPending), stream, durable)
		gauge(d.consumerAckPending, float64(ci.NumAckPending), stream, durable)
		gauge(d.consumerRedelivered, float64(ci.NumRedelivered), stream, durable)
	}
	for name, si := range g.streamInfos {
		gauge(d.streamMessages, float64(si.State.Msgs), name)
		gauge(d.streamBytes, float64(si.State.Bytes), name)
		// JetStream says "unlimited" with -1 (or 0): no limit, no series.
		if si.Config.MaxBytes > 0 {
			gauge(d.streamMaxBytes, float64(si.Config.MaxBytes), name)
		}
		if si.Config.MaxMsgs > 0 {
			gauge(d.streamMaxMessages, float64(si.Config.MaxMsgs), name)
		}
		if si.Config.MaxAge > 0 {
			gauge(d.streamMaxAge, si.Config.MaxAge.Seconds(), name)
		}
	}
	for subject, n := range g.subjects {
		gauge(d.subjectMessages, float64(n), stream, subject)
	}
	if !g.lastSuccess.IsZero() {
		gauge(d.lastSuccess, float64(g.lastSuccess.UnixNano())/1e9)
	}
}
