package main

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/distsys-go/orders/internal/natstest"
	"github.com/distsys-go/orders/platform/logging"
	"github.com/distsys-go/orders/platform/messaging/jetstream"
)

// BenchmarkPublish is the producer's publish path against a real
// in-process server, wired as run wires it (asynchronous publishes whose
// acks time out, JSON log lines, tracing off) without a pace: b.N orders,
// each counted on its own acknowledgement, with up to window in flight.
// allocs/op is per order, client and server together (one process).
func BenchmarkPublish(b *testing.B) {
	for _, window := range []int{1, 16, 256, 1024} {
		b.Run(fmt.Sprintf("window=%d", window), func(b *testing.B) {
			srv := natstest.Run(b)
			js, err := natsjs.New(srv.Connect(b), natsjs.WithPublishAsyncTimeout(10*time.Second))
			if err != nil {
				b.Fatal(err)
			}
			cfg := jetstream.StreamConfig{Name: "ORDERS", Subjects: []string{"orders.>"}, Replicas: 1, MaxBytes: 1 << 30, MaxAge: time.Hour, DuplicateWindow: time.Minute}
			if _, err := jetstream.EnsureStream(context.Background(), js, cfg); err != nil {
				b.Fatal(err)
			}
			p := newTestProducer(jetstream.NewPublisher(js), b.N)
			p.window = window
			p.log = logging.New(io.Discard, logging.Config{}, "producer", "bench")
			b.ReportAllocs()
			b.ResetTimer()
			ids, err := p.run(context.Background())
			b.StopTimer()
			if err != nil || len(ids) != b.N {
				b.Fatalf("run: %d of %d orders, %v", len(ids), b.N, err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "orders/s")
		})
	}
}
