package jetstream_test

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/distsys-go/orders/internal/natstest"
	"github.com/distsys-go/orders/internal/testkit"
	"github.com/distsys-go/orders/platform/ledger"
	"github.com/distsys-go/orders/platform/messaging/jetstream"
)

// gaugeRig is a real server with the orders stream, the ledger bucket and
// the shared durable, and the gauges reading them every few milliseconds.
type gaugeRig struct {
	js     natsjs.JetStream
	reg    *prometheus.Registry
	gauges *jetstream.Gauges
}

const (
	rigStream   = "ORDERS"
	rigDurable  = "fulfilment-workers"
	rigSubject  = "orders.created"
	rigMaxBytes = 1 << 20
	// rigDeadLetters is a subject of the stream no durable reads.
	rigDeadLetters = "orders.deadletter"
)

func newGaugeRig(t *testing.T, streams ...string) *gaugeRig {
	t.Helper()
	js, err := natsjs.New(natstest.Run(t).Connect(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := jetstream.EnsureStream(ctx, js, jetstream.StreamConfig{Name: rigStream, Subjects: []string{"orders.>"}, Replicas: 1,
		MaxBytes: rigMaxBytes, MaxAge: time.Hour, DuplicateWindow: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if _, err := ledger.Ensure(ctx, js, ledger.Config{Bucket: ledger.Bucket{Name: "orders-processed"}, TTL: time.Hour, MaxBytes: 1 << 19, Replicas: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateOrUpdateConsumer(ctx, rigStream, natsjs.ConsumerConfig{
		Durable: rigDurable, AckPolicy: natsjs.AckExplicitPolicy, FilterSubject: rigSubject, AckWait: time.Hour,
	}); err != nil {
		t.Fatal(err)
	}
	r := &gaugeRig{js: js, reg: prometheus.NewRegistry()}
	r.gauges = jetstream.NewGauges(js, jetstream.GaugesConfig{Namespace: "orders", Stream: rigStream, Durables: []string{rigDurable}, Streams: streams,
		Subjects: []string{rigDeadLetters}},
		slog.New(slog.DiscardHandler))
	r.reg.MustRegister(r.gauges)
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.gauges.Run(runCtx, 10*time.Millisecond)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return r
}

// values are the exported samples as name{label=value,…} → value, the
// labels in name order.
func (r *gaugeRig) values(t *testing.T) map[string]float64 {
	t.Helper()
	mfs, err := r.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			key := mf.GetName()
			if len(labels) > 0 {
				key += "{" + strings.Join(labels, ",") + "}"
			}
			switch {
			case m.GetGauge() != nil:
				out[key] = m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				out[key] = m.GetCounter().GetValue()
			}
		}
	}
	return out
}

// await waits until every wanted sample has its value.
func (r *gaugeRig) await(t *testing.T, what string, want map[string]float64) map[string]float64 {
	t.Helper()
	var got map[string]float64
	testkit.Eventually(t, what, testkit.Bound, func() (bool, string) {
		got = r.values(t)
		var off []string
		for k, w := range want {
			if v, ok := got[k]; !ok || v != w {
				off = append(off, fmt.Sprintf("%s=%v (present %v), want %v", k, v, ok, w))
			}
		}
		sort.Strings(off)
		return len(off) == 0, strings.Join(off, "; ")
	})
	return got
}

func (r *gaugeRig) publish(t *testing.T, n int) {
	t.Helper()
	for i := range n {
		if _, err := r.js.Publish(context.Background(), rigSubject, fmt.Appendf(nil, "order-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestGaugesFollowTheServer: the backlog, what is in flight and
// redelivered, and both streams' fill against their limits, as JetStream
// reports them.
func TestGaugesFollowTheServer(t *testing.T) {
	const kv = "KV_orders-processed"
	r := newGaugeRig(t, rigStream, kv)
	consumer := "{consumer=" + rigDurable + ",stream=" + rigStream + "}"
	got := r.await(t, "the empty state", map[string]float64{
		"orders_consumer_pending_messages" + consumer:                                             0,
		"orders_consumer_ack_pending_messages" + consumer:                                         0,
		"orders_stream_messages{stream=" + rigStream + "}":                                        0,
		"orders_stream_max_bytes{stream=" + rigStream + "}":                                       rigMaxBytes,
		"orders_stream_max_age_seconds{stream=" + rigStream + "}":                                 3600,
		"orders_stream_max_bytes{stream=" + kv + "}":                                              1 << 19,
		"orders_jetstream_info_errors_total":                                                      0,
		"orders_stream_subject_messages{stream=" + rigStream + ",subject=" + rigDeadLetters + "}": 0,
	})
	if got["orders_jetstream_info_last_success_timestamp_seconds"] <= 0 {
		t.Errorf("no last-success timestamp after a successful read: %v", got)
	}
	if _, ok := got["orders_stream_max_messages{stream="+rigStream+"}"]; ok {
		t.Error("orders_stream_max_messages exported for a stream without a message limit")
	}

	r.publish(t, 5)
	got = r.await(t, "the backlog of 5", map[string]float64{
		"orders_consumer_pending_messages" + consumer:      5,
		"orders_stream_messages{stream=" + rigStream + "}": 5,
	})
	if got["orders_stream_bytes{stream="+rigStream+"}"] <= 0 {
		t.Errorf("5 messages stored but orders_stream_bytes = %v", got["orders_stream_bytes{stream="+rigStream+"}"])
	}

	cons, err := r.js.Consumer(context.Background(), rigStream, rigDurable)
	if err != nil {
		t.Fatal(err)
	}
	batch, err := cons.FetchNoWait(2)
	if err != nil {
		t.Fatal(err)
	}
	var held []natsjs.Msg
	for m := range batch.Messages() {
		held = append(held, m)
	}
	if len(held) != 2 {
		t.Fatalf("fetched %d messages, want 2 (%v)", len(held), batch.Error())
	}
	r.await(t, "2 in flight", map[string]float64{
		"orders_consumer_pending_messages" + consumer:     3,
		"orders_consumer_ack_pending_messages" + consumer: 2,
		"orders_consumer_redelivered_messages" + consumer: 0,
	})

	// Handed back and delivered again: redelivered until acknowledged.
	if err := held[0].Nak(); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "the handed-back message is delivered again", testkit.Bound, testkit.NoError(func() error {
		b, err := cons.FetchNoWait(1)
		if err != nil {
			return err
		}
		for m := range b.Messages() {
			if md, _ := m.Metadata(); md != nil && md.NumDelivered == 2 {
				return nil
			}
			return fmt.Errorf("got a first delivery instead")
		}
		return fmt.Errorf("nothing delivered (%v)", b.Error())
	}))
	r.await(t, "1 redelivered", map[string]float64{
		"orders_consumer_redelivered_messages" + consumer: 1,
	})

	// Messages on a subject no durable reads: counted by subject.
	for range 2 {
		if _, err := r.js.Publish(context.Background(), rigDeadLetters, []byte("dead")); err != nil {
			t.Fatal(err)
		}
	}
	r.await(t, "2 dead letters", map[string]float64{
		"orders_stream_subject_messages{stream=" + rigStream + ",subject=" + rigDeadLetters + "}": 2,
	})
}

// TestGaugesKeepValuesWhenAReadFails: a stream that cannot be
// read counts as an error on every read and stops the last-success clock,
// while what could be read is still exported.
func TestGaugesKeepValuesWhenAReadFails(t *testing.T) {
	r := newGaugeRig(t, rigStream, "KV_no-such-bucket")
	r.publish(t, 1)
	r.await(t, "the readable stream's gauges", map[string]float64{
		"orders_stream_messages{stream=" + rigStream + "}":                                       1,
		"orders_consumer_pending_messages{consumer=" + rigDurable + ",stream=" + rigStream + "}": 1,
	})
	testkit.Eventually(t, "repeated read errors", testkit.Bound, func() (bool, string) {
		v := r.values(t)["orders_jetstream_info_errors_total"]
		return v >= 2, fmt.Sprintf("errors_total %v", v)
	})
	got := r.values(t)
	if _, ok := got["orders_jetstream_info_last_success_timestamp_seconds"]; ok {
		t.Error("a last-success timestamp although every read failed")
	}
	if _, ok := got["orders_stream_messages{stream=KV_no-such-bucket}"]; ok {
		t.Error("gauges exported for a stream that was never read")
	}
}
