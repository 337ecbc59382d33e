package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/distsys-go/orders/platform/ledger"
	"github.com/distsys-go/orders/platform/messaging/jetstream"
	"github.com/distsys-go/orders/platform/natstest"
)

// BenchmarkPipeline is the whole consume path of one replica against a
// real server: pull from the shared durable consumer, decode, validate,
// record in the KV ledger (one server round trip), log as JSON, ack.
func BenchmarkPipeline(b *testing.B) {
	for _, concurrency := range []int{1, 4, 16} {
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
			led, err := ledger.EnsureKV(ctx, js, ledger.Config{Bucket: "orders-processed", TTL: time.Hour, Replicas: 1})
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
				ledger: led, deadLetters: jetstream.NewPublisher(js), deadLetterSub: testDLQ, maxPayload: 65536,
				instance: "bench", metrics: newMetrics(prometheus.NewRegistry()),
				log: slog.New(slog.NewJSONHandler(io.Discard, nil)), now: time.Now,
			}
			sub := jetstream.NewSubscriber(js, streamCfg.Name, "fulfilment-workers",
				jetstream.ConsumerConfig{AckWait: 30 * time.Second, MaxAckPending: 1000, PullMaxMessages: 64},
				jetstream.WithConcurrency(concurrency))
			b.ReportAllocs()
			b.ResetTimer()
			s, err := sub.Subscribe(ctx, testSubject, f.Handle)
			if err != nil {
				b.Fatal(err)
			}
			for testutil.ToFloat64(f.metrics.processed) < float64(b.N) {
				time.Sleep(time.Millisecond)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			_ = s.Drain(ctx)
		})
	}
}
