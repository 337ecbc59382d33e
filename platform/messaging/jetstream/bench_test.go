package jetstream_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/distsys-go/orders/internal/messagingtest"
	"github.com/distsys-go/orders/internal/natstest"
	"github.com/distsys-go/orders/platform/messaging"
	"github.com/distsys-go/orders/platform/messaging/jetstream"
)

// payload is the size of an encoded OrderEvent.
var payload = []byte(`{"id":"order-9arEdZxmVVgHbUM7VwD108","product_id":"sku-pear","quantity":3,"created_at":"2026-11-25T08:19:48.614564937Z"}`)

func reportRate(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkPublish is the producer's path: one synchronous publish that
// returns once the server stored the message.
func BenchmarkPublish(b *testing.B) {
	srv := natstest.Run(b)
	js := newJetStream(b, srv)
	if _, err := jetstream.EnsureStream(context.Background(), js, testStream); err != nil {
		b.Fatal(err)
	}
	pub := jetstream.NewPublisher(js)
	ids := make([]string, b.N)
	for i := range ids {
		ids[i] = fmt.Sprintf("bench-%d", i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := pub.Publish(context.Background(), messaging.NewMessage(messagingtest.Subject, ids[i], payload)); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b)
}

// fillStream stores n messages, with flow control so none is dropped.
func fillStream(b *testing.B, js natsjs.JetStream, n int) {
	b.Helper()
	for range n {
		if _, err := js.PublishAsync(messagingtest.Subject, payload); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(time.Minute):
		b.Fatal("stream not filled")
	}
}

// BenchmarkConsume is the consumer's transport path: messages already in
// the stream are delivered through the shared durable consumer and acked.
func BenchmarkConsume(b *testing.B) {
	for _, concurrency := range []int{1, 4} {
		b.Run(fmt.Sprintf("concurrency=%d", concurrency), func(b *testing.B) {
			srv := natstest.Run(b)
			js := newJetStream(b, srv)
			if _, err := jetstream.EnsureStream(context.Background(), js, testStream); err != nil {
				b.Fatal(err)
			}
			fillStream(b, js, b.N)
			done := make(chan struct{})
			var n int64
			sub := jetstream.NewSubscriber(js, testStream.Name, "bench", jetstream.ConsumerConfig{AckWait: 30e9, MaxAckPending: 1000, PullMaxMessages: 64},
				jetstream.WithConcurrency(concurrency))
			var counter = make(chan struct{}, 1024)
			go func() {
				for range counter {
					n++
					if n == int64(b.N) {
						close(done)
					}
				}
			}()
			b.ReportAllocs()
			b.ResetTimer()
			s, err := sub.Subscribe(context.Background(), messagingtest.Subject, func(_ context.Context, m *messaging.Message) {
				_ = m.Ack()
				counter <- struct{}{}
			})
			if err != nil {
				b.Fatal(err)
			}
			<-done
			b.StopTimer()
			reportRate(b)
			_ = s.Drain(context.Background())
			close(counter)
		})
	}
}
