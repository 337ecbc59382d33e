package tracing_test

import (
	"context"
	"io"
	"log/slog"
	"reflect"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/trace"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/distsys-go/orders/internal/natstest"
	"github.com/distsys-go/orders/internal/tracingtest"
	"github.com/distsys-go/orders/platform/ledger"
	"github.com/distsys-go/orders/platform/messaging"
	"github.com/distsys-go/orders/platform/messaging/jetstream"
	"github.com/distsys-go/orders/platform/tracing"
)

const subject = "orders.created"

var discard = slog.New(slog.NewJSONHandler(io.Discard, nil))

// pipeline is a real JetStream stream and KV ledger.
func pipeline(t *testing.T) (natsjs.JetStream, *ledger.KV) {
	t.Helper()
	srv := natstest.Run(t)
	js, err := natsjs.New(srv.Connect(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := jetstream.EnsureStream(ctx, js, jetstream.StreamConfig{Name: "ORDERS", Subjects: []string{"orders.>"},
		Replicas: 1, MaxBytes: 1 << 20, MaxAge: time.Hour, DuplicateWindow: time.Minute}); err != nil {
		t.Fatal(err)
	}
	led, err := ledger.Ensure(ctx, js, ledger.Config{Bucket: ledger.Bucket{Name: "orders-processed"}, TTL: time.Hour, Replicas: 1})
	if err != nil {
		t.Fatal(err)
	}
	return js, led
}

// Without an endpoint the decorators are the identity: nothing is wrapped,
// so tracing off adds no work at all.
func TestOffWrapsNothing(t *testing.T) {
	p, err := tracing.Setup(context.Background(), tracing.Config{}, "svc", "v1", discard)
	if err != nil {
		t.Fatal(err)
	}
	if p.Enabled() {
		t.Fatal("enabled without an endpoint")
	}
	js, led := pipeline(t)
	pub := jetstream.NewPublisher(js)
	if got := p.Publisher(pub); got != messaging.Publisher(pub) {
		t.Errorf("Publisher wrapped %T", got)
	}
	if got := p.Ledger(led); got != ledger.Ledger(led) {
		t.Errorf("Ledger wrapped %T", got)
	}
	h := func(context.Context, *messaging.Message) {}
	if got := p.Handler(h); reflect.ValueOf(got).Pointer() != reflect.ValueOf(h).Pointer() {
		t.Error("Handler wrapped the handler")
	}
	ctx := context.Background()
	if p.FromMessage(ctx, messaging.NewMessage(subject, "o-1", nil)) != ctx {
		t.Error("FromMessage changed the context")
	}
	if err := p.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

// One trace per order over a real server: the publish span, a process
// span per delivery as its child (the first delivery handed back, the
// second recorded), the ledger write as a child of the second, all
// exported over OTLP/HTTP on Shutdown.
func TestOneTracePerOrder(t *testing.T) {
	rcv := tracingtest.NewReceiver(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", rcv.URL)
	t.Setenv("OTEL_SERVICE_NAME", "orders-test")
	ctx := context.Background()
	p, err := tracing.Setup(ctx, tracing.Config{Endpoint: rcv.URL}, "svc", "v1", discard)
	if err != nil {
		t.Fatal(err)
	}
	js, kv := pipeline(t)
	led := p.Ledger(kv)

	recorded := make(chan trace.SpanContext, 1)
	sub := jetstream.NewSubscriber(js, "ORDERS", "workers", jetstream.ConsumerConfig{AckWait: time.Minute, MaxAckPending: 10, PullMaxMessages: 4})
	s, err := sub.Subscribe(ctx, subject, p.Handler(func(ctx context.Context, m *messaging.Message) {
		if m.Deliveries == 1 {
			_ = m.Nak(0)
			return
		}
		if err := led.Record(ctx, ledger.Record{OrderID: m.ID}); err != nil {
			t.Errorf("record: %v", err)
		}
		_ = m.Ack()
		recorded <- trace.SpanContextFromContext(ctx)
	}, tracing.WithMessageIDAs(tracing.OrderIDKey)))
	if err != nil {
		t.Fatal(err)
	}
	msg := messaging.NewMessage(subject, "order-1", []byte(`{}`))
	if err := p.Publisher(jetstream.NewPublisher(js), tracing.WithMessageIDAs(tracing.OrderIDKey)).Publish(ctx, msg); err != nil {
		t.Fatal(err)
	}
	published := trace.SpanContextFromContext(p.FromMessage(ctx, msg))
	var processed trace.SpanContext
	select {
	case processed = <-recorded:
	case <-time.After(30 * time.Second):
		t.Fatal("order not recorded")
	}
	if err := s.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	pubSpans, procSpans, ledSpans := rcv.Named(tracing.PublishSpan("orders.created")), rcv.Named(tracing.ProcessSpan("orders.created")), rcv.Named(tracing.LedgerRecordSpan)
	if len(pubSpans) != 1 || len(procSpans) != 2 || len(ledSpans) != 1 {
		t.Fatalf("spans %+v: want 1 publish, 2 process, 1 ledger record", rcv.Spans())
	}
	pubSpan := pubSpans[0]
	if pubSpan.TraceID != published.TraceID().String() || pubSpan.SpanID != published.SpanID().String() {
		t.Errorf("FromMessage gave %s/%s, the publish span is %s/%s", published.TraceID(), published.SpanID(), pubSpan.TraceID, pubSpan.SpanID)
	}
	wantAttrs(t, pubSpan, tracepb.Span_SPAN_KIND_PRODUCER, map[string]string{"messaging.system": "nats", "messaging.destination.name": subject,
		"messaging.message.id": "order-1", "messaging.operation.type": "send", "messaging.operation.name": "publish", "order.id": "order-1"})
	if pubSpan.Service != "orders-test" {
		t.Errorf("service.name %q, want OTEL_SERVICE_NAME's", pubSpan.Service)
	}
	for _, sp := range procSpans {
		if sp.TraceID != pubSpan.TraceID || sp.ParentID != pubSpan.SpanID {
			t.Errorf("process span %s/%s parent %s, want a child of publish %s/%s", sp.TraceID, sp.SpanID, sp.ParentID, pubSpan.TraceID, pubSpan.SpanID)
		}
		wantAttrs(t, sp, tracepb.Span_SPAN_KIND_CONSUMER, map[string]string{"messaging.system": "nats", "messaging.destination.name": subject,
			"messaging.message.id": "order-1", "messaging.operation.type": "process", "order.id": "order-1"})
	}
	counts := map[string]string{}
	for _, sp := range procSpans {
		counts[sp.Attrs["messaging.nats.message.delivery_count"]] = sp.SpanID
	}
	if counts["1"] == "" || counts["2"] == "" {
		t.Errorf("delivery counts %v, want 1 and 2", counts)
	}
	if counts["2"] != processed.SpanID().String() {
		t.Errorf("the handler's context is span %s, want the second process span %s", processed.SpanID(), counts["2"])
	}
	if l := ledSpans[0]; l.TraceID != pubSpan.TraceID || l.ParentID != counts["2"] || l.Attrs["order.id"] != "order-1" || l.Error {
		t.Errorf("ledger span %+v: want a successful child of the second process span %s", l, counts["2"])
	}
}

func wantAttrs(t *testing.T, sp tracingtest.Span, kind tracepb.Span_SpanKind, want map[string]string) {
	t.Helper()
	if sp.Kind != kind {
		t.Errorf("%s: kind %v, want %v", sp.Name, sp.Kind, kind)
	}
	for k, v := range want {
		if sp.Attrs[k] != v {
			t.Errorf("%s: %s = %q, want %q", sp.Name, k, sp.Attrs[k], v)
		}
	}
}
