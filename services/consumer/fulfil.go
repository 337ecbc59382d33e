package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/distsys-go/orders/platform/events"
	"github.com/distsys-go/orders/platform/ledger"
	"github.com/distsys-go/orders/platform/messaging"
	"github.com/distsys-go/orders/platform/ops"
)

// maxNakDelay caps the pause before a failed order is tried again; the
// MAX_DELIVER description does its arithmetic with it.
const maxNakDelay = 30 * time.Second

// backoff is the pause before the next delivery of a message that failed
// on its deliveries-th: 1s, 2s, ... up to maxNakDelay.
func backoff(deliveries uint64) time.Duration {
	return min(time.Duration(deliveries)*time.Second, maxNakDelay)
}

// fulfiller is the consumer's business logic: decode, validate, process,
// acknowledge; every message ends acknowledged, dead-lettered or handed
// back for redelivery, never dropped and never blocking the stream. A
// message is handed back at most maxDeliver-1 times: on its last delivery
// a failure dead-letters it instead, so nothing loops for ever.
type fulfiller struct {
	ledger ledger.Ledger
	// full is /readyz while the ledger refuses records (no room) or
	// answers none (no leader); orders then wait, trying again every
	// fullRetry or when the ledger's stream has a new leader
	// (ledgerElected), until shutdown (stopping) begins.
	full          *ops.Streak
	fullRetry     time.Duration
	ledgerElected func() <-chan struct{}
	stopping      <-chan struct{}
	deadLetters   messaging.Publisher
	deadLetterSub string
	maxPayload    int
	maxDeliver    int
	workTime      time.Duration
	instance      string
	metrics       *metrics
	log           *slog.Logger
	now           func() time.Time
}

// Handler handles the messages of event version v (its durable's).
func (f *fulfiller) Handler(v events.Version) messaging.Handler {
	return func(ctx context.Context, msg *messaging.Message) { f.handle(ctx, v, msg) }
}

func (f *fulfiller) handle(ctx context.Context, v events.Version, msg *messaging.Message) {
	if msg.Deliveries > 1 {
		f.metrics.redelivered.Inc()
	}
	if len(msg.Data) > f.maxPayload {
		f.deadLetter(ctx, msg, events.ReasonOversized, fmt.Errorf("payload of %d bytes exceeds %d", len(msg.Data), f.maxPayload))
		return
	}
	order, err := v.Decode(msg.Header, msg.Data)
	if err != nil {
		f.deadLetter(ctx, msg, events.ReasonOf(err), err)
		return
	}
	if err := f.process(ctx, msg, order); err != nil {
		if errors.Is(err, errStopping) {
			// Not handed back: a Nak would count a delivery for the
			// ledger's fault. The ack wait returns it to the group.
			f.log.InfoContext(ctx, "shutting down while the ledger takes no records; the order will be redelivered after the ack wait", "order_id", order.ID)
			return
		}
		if errors.Is(err, ledger.ErrAlreadyRecorded) {
			f.metrics.duplicates.Inc()
			f.log.InfoContext(ctx, "duplicate order skipped", "order_id", order.ID, "deliveries", msg.Deliveries)
			f.settle(ctx, msg.Ack(), order.ID)
			return
		}
		if f.lastDelivery(msg) {
			f.deadLetter(ctx, msg, events.ReasonMaxDeliveries,
				fmt.Errorf("order %s failed on all %d deliveries, the last with: %w", order.ID, msg.Deliveries, err))
			return
		}
		f.metrics.failed.Inc()
		delay := backoff(msg.Deliveries)
		f.log.WarnContext(ctx, "order processing failed; will be redelivered", "order_id", order.ID, "deliveries", msg.Deliveries, "retry_in", delay.String(), "error", err)
		f.settle(ctx, msg.Nak(delay), order.ID)
		return
	}
	age := f.now().Sub(order.CreatedAt)
	f.metrics.processed.Inc()
	f.metrics.eventAge.Observe(age.Seconds())
	// LogAttrs, not Info: typed attributes are not boxed, a few
	// allocations less on the line every order logs. age_ms keeps
	// microseconds, so that latencies below a millisecond stay apart.
	f.log.LogAttrs(ctx, slog.LevelInfo, "received order", slog.String("order_id", order.ID),
		slog.String("version", order.Version), slog.Int("lines", len(order.Lines)),
		slog.Float64("age_ms", float64(age.Microseconds())/1000), slog.Uint64("deliveries", msg.Deliveries))
	f.settle(ctx, msg.Ack(), order.ID)
}

// process does the order's work. Recording it in the ledger is both the
// work's result and the de-duplication mark, in one atomic create.
func (f *fulfiller) process(ctx context.Context, msg *messaging.Message, order events.Order) error {
	if f.workTime > 0 {
		select {
		case <-time.After(f.workTime):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return f.record(ctx, msg, recordOf(order, f.instance, f.now().UTC()))
}

// recordOf is order's ledger record. A v1 order is recorded as every
// release has recorded it (product and quantity), a later one with its
// lines and currency.
func recordOf(order events.Order, by string, at time.Time) ledger.Record {
	r := ledger.Record{OrderID: order.ID, Version: order.Version, ProcessedBy: by, ProcessedAt: at}
	if order.Version == events.V1.Name {
		r.ProductID, r.Quantity = order.Lines[0].SKU, order.Lines[0].Quantity
		return r
	}
	r.Lines, r.Currency = order.Lines, order.Currency
	return r
}

// errStopping ends an order's wait for the ledger at shutdown.
var errStopping = errors.New("shutting down")

// record writes r to the ledger. A ledger that is full or has no leader
// is no fault of the order: handed back, the order would use up its
// deliveries and end dead-lettered, and every order behind it too. So it
// keeps its message, marked in progress so that it is not redelivered
// meanwhile, and tries again every fullRetry, or at once when the
// ledger's stream has a new leader, until the ledger takes it (records
// expired, the bucket grew, the election ended); /readyz says so
// meanwhile. Only shutdown ends the wait, with errStopping.
func (f *fulfiller) record(ctx context.Context, msg *messaging.Message, r ledger.Record) error {
	pause := f.fullRetry
	for {
		err := f.ledger.Record(ctx, r)
		reason := ledgerTrouble(err)
		if reason == "" {
			if err == nil || errors.Is(err, ledger.ErrAlreadyRecorded) {
				if d := f.full.OK(); d > 0 {
					f.log.InfoContext(ctx, "the ledger takes records again", "waited", d.Round(time.Millisecond).String())
				}
			}
			return err
		}
		if f.full.Failed(reason, err) {
			f.log.WarnContext(ctx, reason+": orders wait, holding their messages, until it takes records again", "error", err)
		}
		var elected <-chan struct{}
		if f.ledgerElected != nil {
			elected = f.ledgerElected()
		}
		select {
		case <-f.stopping:
			return fmt.Errorf("order %s: %w: %w", r.OrderID, errStopping, err)
		case <-time.After(pause):
			pause = min(2*pause, f.fullRetry)
		case <-elected:
			// A new leader announces itself a moment before it serves:
			// try again now and soon after, then back to every fullRetry.
			pause = f.fullRetry / 10
		}
		if err := msg.InProgress(); err != nil {
			// Debug: while the connection is down every held order fails
			// here each round; /readyz and the one WARN above say why.
			f.log.DebugContext(ctx, "could not mark the order in progress; it may be redelivered meanwhile", "order_id", r.OrderID, "error", err)
		}
	}
}

// ledgerTrouble names what keeps the ledger from taking any record (""
// when err is not that).
func ledgerTrouble(err error) string {
	switch {
	case errors.Is(err, ledger.ErrFull):
		return "ledger full"
	case errors.Is(err, ledger.ErrUnavailable):
		return "ledger unavailable"
	}
	return ""
}

// lastDelivery reports whether msg will not be delivered again if handed
// back: the server stops at the durable's MaxDeliver, which is maxDeliver.
func (f *fulfiller) lastDelivery(msg *messaging.Message) bool {
	return f.maxDeliver > 0 && msg.Deliveries >= uint64(f.maxDeliver)
}

// settle logs a failed acknowledgement. The message then comes back after
// the ack wait and the ledger recognises it, so nothing more is needed.
func (f *fulfiller) settle(ctx context.Context, err error, id string) {
	if err != nil {
		f.log.WarnContext(ctx, "acknowledgement failed; the message will be redelivered", "msg_id", id, "error", err)
	}
}
