package tracing

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/distsys-go/orders/platform/ledger"
)

// AlreadyRecordedKey marks a ledger span whose order was recorded before:
// the expected end of a redelivery, not an error.
const AlreadyRecordedKey = attribute.Key("ledger.already_recorded")

var _ ledger.Ledger = (*tracedLedger)(nil)

type tracedLedger struct {
	next   ledger.Ledger
	tracer trace.Tracer
}

// Ledger returns l, each Record in a "ledger record" span. With tracing
// off it returns l itself.
func (p *Provider) Ledger(l ledger.Ledger) ledger.Ledger {
	if !p.Enabled() {
		return l
	}
	return &tracedLedger{next: l, tracer: p.tracer}
}

// Record implements ledger.Ledger.
func (l *tracedLedger) Record(ctx context.Context, r ledger.Record) error {
	ctx, span := l.tracer.Start(ctx, LedgerRecordSpan, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(OrderIDKey.String(r.OrderID)))
	defer span.End()
	err := l.next.Record(ctx, r)
	switch {
	case errors.Is(err, ledger.ErrAlreadyRecorded):
		span.SetAttributes(AlreadyRecordedKey.Bool(true))
	case err != nil:
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	return err
}
