package tracing_test

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/trace"

	"github.com/distsys-go/orders/internal/tracingtest"
	"github.com/distsys-go/orders/platform/messaging"
	"github.com/distsys-go/orders/platform/messaging/jetstream"
	"github.com/distsys-go/orders/platform/tracing"
)

// A traced publisher forwards PublishAsync: each message is published in
// one span that ends with its acknowledgement and says how it went, and
// whose context the message carries.
func TestPublishAsyncSpans(t *testing.T) {
	rcv := tracingtest.NewReceiver(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", rcv.URL)
	ctx := context.Background()
	p, err := tracing.Setup(ctx, tracing.Config{Endpoint: rcv.URL}, "svc", "v1", discard)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := pipeline(t)
	pub := p.Publisher(jetstream.NewPublisher(js))
	if _, ok := pub.(messaging.AsyncPublisher); !ok {
		t.Fatal("the traced publisher does not publish asynchronously")
	}
	tests := []struct {
		subject string
		wantErr bool
	}{
		{subject, false},
		{"elsewhere.created", true}, // no stream captures it
	}
	var sent []trace.SpanContext
	for _, tc := range tests {
		msg := messaging.NewMessage(tc.subject, "order-1", []byte(`{}`))
		ack, err := messaging.PublishAsync(ctx, pub, msg)
		if err == nil {
			err = ack.Wait(ctx)
		}
		if (err != nil) != tc.wantErr {
			t.Fatalf("publish on %s: %v, want an error: %v", tc.subject, err, tc.wantErr)
		}
		sent = append(sent, trace.SpanContextFromContext(p.FromMessage(ctx, msg)))
	}
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	for i, tc := range tests {
		spans := rcv.Named(tracing.PublishSpan(tc.subject))
		if len(spans) != 1 {
			t.Fatalf("%d spans for %s, want 1: %+v", len(spans), tc.subject, rcv.Spans())
		}
		if s := spans[0]; s.SpanID != sent[i].SpanID().String() || s.Error != tc.wantErr {
			t.Errorf("span %s error %v; the message carries span %s, want error %v", s.SpanID, s.Error, sent[i].SpanID(), tc.wantErr)
		}
	}
}
