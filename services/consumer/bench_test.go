package main

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/distsys-go/orders/internal/natstest"
	"github.com/distsys-go/orders/internal/tracingtest"
	"github.com/distsys-go/orders/platform/events"
	"github.com/distsys-go/orders/platform/ledger"
	"github.com/distsys-go/orders/platform/logging"
	"github.com/distsys-go/orders/platform/messaging/jetstream"
	"github.com/distsys-go/orders/platform/ops"
	"github.com/distsys-go/orders/platform/tracing"
)

// BenchmarkPipeline is the whole consume path of one replica against a
// real server: pull from the shared durable consumer, decode, validate,
// record in the KV ledger (each handler waits for its own record, the
// records of all handlers in flight together), log as JSON, ack. It is
// wired as run wires it, with tracing off (no OTEL_EXPORTER_OTLP_ENDPOINT),
// at the old default concurrency (16) and the current one. An op is one
// order; its allocations include the in-process server's.
func BenchmarkPipeline(b *testing.B) {
	off, err := tracing.Setup(context.Background(), tracing.Config{}, "consumer", "bench", nil)
	if err != nil {
		b.Fatal(err)
	}
	benchPipeline(b, off)
}

// BenchmarkPipelineTraced is BenchmarkPipeline with tracing on: a process
// and a ledger span per order, exported in batches over OTLP/HTTP to an
// in-process receiver.
func BenchmarkPipelineTraced(b *testing.B) {
	rcv := tracingtest.NewReceiver(b)
	b.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", rcv.URL)
	log := logging.New(io.Discard, logging.Config{}, "consumer", "bench")
	on, err := tracing.Setup(context.Background(), tracing.Config{Endpoint: rcv.URL}, "consumer", "bench", log)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = on.Shutdown(context.Background()) })
	benchPipeline(b, on)
}

func benchPipeline(b *testing.B, tr *tracing.Provider) {
	for _, concurrency := range []int{16, 256} { // the old and the current CONCURRENCY default {
		b.Run(fmt.Sprintf("concurrency=%d", concurrency), func(b *testing.B) {
			srv := natstest.Run(b)
			js, err := natsjs.New(srv.Connect(b))
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			streamCfg := jetstream.StreamConfig{Name: "ORDERS", Subjects: []string{"orders.>"}, Replicas: 1, MaxBytes: 1 << 30, MaxAge: time.Hour, DuplicateWindow: time.Minute}
			if _, err := jetstream.EnsureStream(ctx, js, streamCfg); err != nil {
				b.Fatal(err)
			}
			led, err := ledger.Ensure(ctx, js, ledger.Config{Bucket: ledger.Bucket{Name: "orders-processed"}, TTL: time.Hour, Replicas: 1})
			if err != nil {
				b.Fatal(err)
			}
			for i := range b.N {
				if _, err := js.PublishAsync(testSubject, validOrder(fmt.Sprintf("order-%d", i))); err != nil {
					b.Fatal(err)
				}
			}
			<-js.PublishAsyncComplete()
			f := &fulfiller{
				ledger: tr.Ledger(led), deadLetters: tr.Publisher(jetstream.NewPublisher(js)), deadLetterSub: testDLQ, maxPayload: 65536,
				full: ops.NewStreak("recording orders", nil), instance: "bench", metrics: newMetrics(prometheus.NewRegistry()),
				log: logging.New(io.Discard, logging.Config{}, "consumer", "bench"), now: time.Now,
			}
			sub := jetstream.NewSubscriber(js, streamCfg.Name, "fulfilment-workers",
				jetstream.ConsumerConfig{AckWait: 30 * time.Second, MaxAckPending: 1000, PullMaxMessages: 64},
				jetstream.WithConcurrency(concurrency))
			b.ReportAllocs()
			b.ResetTimer()
			s, err := sub.Subscribe(ctx, testSubject, tr.Handler(f.Handler(events.V1), tracing.WithMessageIDAs(tracing.OrderIDKey)))
			if err != nil {
				b.Fatal(err)
			}
			// Polled tightly so the wait adds little to the measured time;
			// bounded so a lost message fails the benchmark, not hangs it.
			deadline := time.Now().Add(5 * time.Minute)
			for testutil.ToFloat64(f.metrics.processed) < float64(b.N) {
				if time.Now().After(deadline) {
					b.Fatalf("processed %v of %d orders in 5 minutes", testutil.ToFloat64(f.metrics.processed), b.N)
				}
				time.Sleep(time.Millisecond)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			_ = s.Drain(ctx)
		})
	}
}
