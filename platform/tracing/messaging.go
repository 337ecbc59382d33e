package tracing

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/distsys-go/orders/platform/messaging"
)

// Attribute keys beyond OpenTelemetry's semantic conventions, which have
// neither an order id nor a transport-neutral delivery count.
const (
	// OrderIDKey is the order a span works on.
	OrderIDKey = attribute.Key("order.id")
	// DeliveryCountKey is how often the message was delivered, 1 the first
	// time: a redelivery is a second process span in the same trace with
	// 2 here. Named like messaging.servicebus.message.delivery_count.
	DeliveryCountKey = attribute.Key("messaging.nats.message.delivery_count")
)

// LedgerRecordSpan is the name of a Ledger's Record span.
const LedgerRecordSpan = "ledger record"

// PublishSpan is the name of a Publisher's span for subject, as the
// messaging conventions build it: "publish <subject>".
func PublishSpan(subject string) string { return "publish " + subject }

// ProcessSpan is the name of a Handler's span for subject: "process
// <subject>".
func ProcessSpan(subject string) string { return "process " + subject }

// system is messaging.system: OpenTelemetry has no constant for NATS.
var system = semconv.MessagingSystemKey.String("nats")

// Option adds attributes to the spans of a Publisher or Handler.
type Option func(*options)

type options struct {
	attrs  []attribute.KeyValue
	idAttr attribute.Key
}

// WithAttributes adds fixed attributes to every span (the consumer group,
// say).
func WithAttributes(kv ...attribute.KeyValue) Option {
	return func(o *options) { o.attrs = append(o.attrs, kv...) }
}

// WithConsumerGroup records the group that shares a Handler's messages
// (the queue group, the durable consumer) on its spans.
func WithConsumerGroup(name string) Option {
	return WithAttributes(semconv.MessagingConsumerGroupName(name))
}

// WithMessageIDAs records each message's id also under key, for messages
// whose id means something to the application (an order's id is its
// message id).
func WithMessageIDAs(key attribute.Key) Option {
	return func(o *options) { o.idAttr = key }
}

func newOptions(opts []Option) options {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// messageAttrs are the semantic-convention attributes of a span about msg.
func (o options) messageAttrs(msg *messaging.Message, extra ...attribute.KeyValue) []attribute.KeyValue {
	kv := append([]attribute.KeyValue{system, semconv.MessagingDestinationName(msg.Subject),
		semconv.MessagingMessageBodySize(len(msg.Data))}, o.attrs...)
	if msg.ID != "" {
		kv = append(kv, semconv.MessagingMessageID(msg.ID))
		if o.idAttr != "" {
			kv = append(kv, o.idAttr.String(msg.ID))
		}
	}
	return append(kv, extra...)
}

var (
	_ messaging.AsyncPublisher = (*publisher)(nil)
	_ messaging.PubAck         = tracedAck{}
)

// publisher starts a span per Publish and injects its context into the
// message's headers.
type publisher struct {
	next   messaging.Publisher
	tracer trace.Tracer
	prop   propagation.TextMapPropagator
	opts   options
}

// Publisher returns pub, publishing in a "publish <subject>" span whose
// trace context travels in the message's headers. With tracing off it
// returns pub itself. The result is a messaging.AsyncPublisher whatever
// pub is: PublishAsync forwards to pub's (see messaging.PublishAsync), the
// span lasting until the acknowledgement.
func (p *Provider) Publisher(pub messaging.Publisher, opts ...Option) messaging.Publisher {
	if !p.Enabled() {
		return pub
	}
	return &publisher{next: pub, tracer: p.tracer, prop: p.prop, opts: newOptions(opts)}
}

// Publish implements messaging.Publisher. It sets msg.Header's trace
// context: a retried msg carries the context of its latest attempt.
func (p *publisher) Publish(ctx context.Context, msg *messaging.Message) error {
	ctx, span := p.start(ctx, msg)
	err := p.next.Publish(ctx, msg)
	end(span, err)
	return err
}

// PublishAsync implements messaging.AsyncPublisher: the span ends when
// the PubAck's Wait returns.
func (p *publisher) PublishAsync(ctx context.Context, msg *messaging.Message) (messaging.PubAck, error) {
	ctx, span := p.start(ctx, msg)
	ack, err := messaging.PublishAsync(ctx, p.next, msg)
	if err != nil {
		end(span, err)
		return nil, err
	}
	return tracedAck{next: ack, span: span}, nil
}

// start starts msg's publish span and puts its context in msg's headers.
func (p *publisher) start(ctx context.Context, msg *messaging.Message) (context.Context, trace.Span) {
	ctx, span := p.tracer.Start(ctx, PublishSpan(msg.Subject), trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(p.opts.messageAttrs(msg, semconv.MessagingOperationTypeSend, semconv.MessagingOperationName("publish"))...))
	if msg.Header == nil {
		msg.Header = map[string]string{}
	}
	p.prop.Inject(ctx, propagation.MapCarrier(msg.Header))
	return ctx, span
}

// end ends a publish span with the publish's outcome.
func end(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// tracedAck ends its publish span with the outcome Wait returns.
type tracedAck struct {
	next messaging.PubAck
	span trace.Span
}

// Wait implements messaging.PubAck.
func (a tracedAck) Wait(ctx context.Context) error {
	err := a.next.Wait(ctx)
	end(a.span, err)
	return err
}

// Handler returns h, called in a "process <subject>" span that is a child
// of the span that published the message (when its headers carry one), so
// that h's own spans and logs join the message's trace. With tracing off
// it returns h itself.
func (p *Provider) Handler(h messaging.Handler, opts ...Option) messaging.Handler {
	if !p.Enabled() {
		return h
	}
	o := newOptions(opts)
	return func(ctx context.Context, msg *messaging.Message) {
		ctx = p.prop.Extract(ctx, propagation.MapCarrier(msg.Header))
		ctx, span := p.tracer.Start(ctx, ProcessSpan(msg.Subject), trace.WithSpanKind(trace.SpanKindConsumer),
			trace.WithAttributes(o.messageAttrs(msg, semconv.MessagingOperationTypeProcess, semconv.MessagingOperationName("process"),
				DeliveryCountKey.Int64(int64(msg.Deliveries)))...))
		defer span.End()
		h(ctx, msg)
	}
}

// FromMessage returns ctx carrying the trace context in msg's headers (the
// span that published msg), so that a log line about a published message
// carries its trace and work on a message outside a Handler (a dead letter
// for a message the server gave up on) joins it; ctx itself when msg has
// none or tracing is off.
func (p *Provider) FromMessage(ctx context.Context, msg *messaging.Message) context.Context {
	if !p.Enabled() {
		return ctx
	}
	return p.prop.Extract(ctx, propagation.MapCarrier(msg.Header))
}
