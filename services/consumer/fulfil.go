package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/distsys-go/orders/platform/events"
	"github.com/distsys-go/orders/platform/ledger"
	"github.com/distsys-go/orders/platform/messaging"
)

// Dead-letter reasons, the value of the reason header and metric label.
const (
	reasonOversized = "oversized"
	reasonMalformed = "malformed"
	reasonInvalid   = "invalid"
)

// Headers set on a dead letter.
const (
	HeaderDeadLetterReason = "Orders-Dead-Letter-Reason"
	HeaderDeadLetterError  = "Orders-Dead-Letter-Error"
	HeaderOriginalSubject  = "Orders-Original-Subject"
	HeaderDeliveries       = "Orders-Deliveries"
)

// maxNakDelay caps the pause before a failed order is tried again.
const maxNakDelay = 30 * time.Second

// fulfiller is the consumer's business logic: decode, validate, process,
// acknowledge; every message ends acknowledged, dead-lettered or handed
// back for redelivery, never dropped and never blocking the stream.
type fulfiller struct {
	ledger        ledger.Ledger
	deadLetters   messaging.Publisher
	deadLetterSub string
	maxPayload    int
	workTime      time.Duration
	instance      string
	metrics       *metrics
	log           *slog.Logger
	now           func() time.Time
}

// Handle implements messaging.Handler.
func (f *fulfiller) Handle(ctx context.Context, msg *messaging.Message) {
	if msg.Deliveries > 1 {
		f.metrics.redelivered.Inc()
	}
	if len(msg.Data) > f.maxPayload {
		f.deadLetter(ctx, msg, reasonOversized, fmt.Errorf("payload of %d bytes exceeds %d", len(msg.Data), f.maxPayload))
		return
	}
	order, err := events.DecodeOrder(msg.Data)
	switch {
	case errors.Is(err, events.ErrMalformed):
		f.deadLetter(ctx, msg, reasonMalformed, err)
		return
	case err != nil:
		f.deadLetter(ctx, msg, reasonInvalid, err)
		return
	}
	if err := f.process(ctx, order); err != nil {
		if errors.Is(err, ledger.ErrAlreadyRecorded) {
			f.metrics.duplicates.Inc()
			f.log.Info("duplicate order skipped", "order_id", order.ID, "deliveries", msg.Deliveries)
			f.settle(msg.Ack(), order.ID)
			return
		}
		f.metrics.failed.Inc()
		delay := min(time.Duration(msg.Deliveries)*time.Second, maxNakDelay)
		f.log.Warn("order processing failed; will be redelivered", "order_id", order.ID, "deliveries", msg.Deliveries, "retry_in", delay.String(), "error", err)
		f.settle(msg.Nak(delay), order.ID)
		return
	}
	age := f.now().Sub(order.CreatedAt)
	f.metrics.processed.Inc()
	f.metrics.eventAge.Observe(age.Seconds())
	f.log.Info("received order", "order_id", order.ID, "product_id", order.ProductID,
		"quantity", order.Quantity, "age_ms", age.Milliseconds(), "deliveries", msg.Deliveries)
	f.settle(msg.Ack(), order.ID)
}

// process does the order's work. Recording it in the ledger is both the
// work's result and the de-duplication mark, in one atomic create.
func (f *fulfiller) process(ctx context.Context, order events.OrderEvent) error {
	if f.workTime > 0 {
		select {
		case <-time.After(f.workTime):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return f.ledger.Record(ctx, ledger.Record{
		OrderID:     order.ID,
		ProductID:   order.ProductID,
		Quantity:    order.Quantity,
		ProcessedBy: f.instance,
		ProcessedAt: f.now().UTC(),
	})
}

// deadLetter republishes msg on the dead-letter subject with why in its
// headers, then terminates it. If the dead letter cannot be published the
// message is handed back, so it is never lost.
func (f *fulfiller) deadLetter(ctx context.Context, msg *messaging.Message, reason string, cause error) {
	dl := messaging.NewMessage(f.deadLetterSub, "", msg.Data)
	if msg.ID != "" {
		dl.ID = "dead-" + msg.ID
	}
	dl.Header = map[string]string{
		HeaderDeadLetterReason: reason,
		HeaderDeadLetterError:  cause.Error(),
		HeaderOriginalSubject:  msg.Subject,
		HeaderDeliveries:       strconv.FormatUint(msg.Deliveries, 10),
	}
	if err := f.deadLetters.Publish(ctx, dl); err != nil {
		f.metrics.failed.Inc()
		f.log.Error("dead-letter publish failed; message handed back", "msg_id", msg.ID, "reason", reason, "error", err)
		f.settle(msg.Nak(time.Second), msg.ID)
		return
	}
	f.metrics.deadLettered.WithLabelValues(reason).Inc()
	f.log.Warn("message dead-lettered", "msg_id", msg.ID, "reason", reason, "error", cause.Error(), "dead_letter_subject", f.deadLetterSub)
	f.settle(msg.Term(reason), msg.ID)
}

// settle logs a failed acknowledgement. The message then comes back after
// the ack wait and the ledger recognises it, so nothing more is needed.
func (f *fulfiller) settle(err error, id string) {
	if err != nil {
		f.log.Warn("acknowledgement failed; the message will be redelivered", "msg_id", id, "error", err)
	}
}
