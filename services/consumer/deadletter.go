package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/distsys-go/orders/platform/events"
	"github.com/distsys-go/orders/platform/messaging"
	"github.com/distsys-go/orders/platform/messaging/jetstream"
)

// deadLetter publishes a reference to msg on the dead-letter subject, then
// terminates msg. A publish that failed is retried through redelivery with
// back-off. When retrying cannot help (the transport rejected the dead
// letter) or msg is on its last delivery, msg is logged as an error with
// where it is stored, counted, and handed back all the same rather than
// terminated: on a work-queue stream Term deletes it, and with it the only
// copy. MAX_DELIVER bounds its deliveries; then the server keeps it,
// unacknowledged, and announces it (see deadLetterExhausted).
func (f *fulfiller) deadLetter(ctx context.Context, msg *messaging.Message, reason string, cause error) {
	err := f.deadLetters.Publish(ctx, deadLetterFor(f.deadLetterSub, msg, reason, cause))
	switch {
	case err == nil:
		f.metrics.deadLettered.WithLabelValues(reason).Inc()
		f.log.WarnContext(ctx, "message dead-lettered", append(origin(msg), "reason", reason, "error", cause.Error(),
			"dead_letter_subject", f.deadLetterSub)...)
		f.settle(ctx, msg.Term(reason), msg.ID)
	case errors.Is(err, messaging.ErrRejected) || f.lastDelivery(msg):
		f.metrics.deadLetterFailures.WithLabelValues(reason).Inc()
		f.log.ErrorContext(ctx, "dead-letter publish failed for good; message left in its stream",
			append(origin(msg), "reason", reason, "cause", cause.Error(), "error", err)...)
		f.settle(ctx, msg.Nak(maxNakDelay), msg.ID)
	default:
		f.metrics.failed.Inc()
		delay := backoff(msg.Deliveries)
		f.log.WarnContext(ctx, "dead-letter publish failed; message handed back",
			append(origin(msg), "reason", reason, "retry_in", delay.String(), "error", err)...)
		f.settle(ctx, msg.Nak(delay), msg.ID)
	}
}

// deadLetterExhausted dead-letters the message a max-deliveries advisory
// announces: the server stopped delivering it after deliveries that all
// ended without the consumer settling it (it crashed or stalled each
// time), so there is nothing to settle, only the reference to publish. A
// dead letter the consumer already published for it (its last delivery
// failed, but the Term did not reach the server) has the same message id,
// and the stream stores it once.
func (f *fulfiller) deadLetterExhausted(ctx context.Context, ev jetstream.MaxDeliveries) {
	cause := fmt.Errorf("delivered %d times without being acknowledged (the consumer crashed or stalled each time, or could not publish a dead letter)", ev.Deliveries)
	orig := ev.Original
	if orig == nil {
		orig = &messaging.Message{Stream: ev.Stream, Sequence: ev.Sequence, Deliveries: ev.Deliveries}
		cause = fmt.Errorf("%w; original not read: %w", cause, ev.OriginalErr)
	}
	dl := deadLetterFor(f.deadLetterSub, orig, events.ReasonMaxDeliveries, cause)
	if ev.Original == nil {
		delete(dl.Header, events.HeaderOriginalSize)
		dl.Header[events.HeaderDeadLetterTruncated] = "true"
	}
	if err := f.deadLetters.Publish(ctx, dl); err != nil {
		f.metrics.deadLetterFailures.WithLabelValues(events.ReasonMaxDeliveries).Inc()
		f.log.ErrorContext(ctx, "dead-letter publish failed; the message stays in its stream",
			append(origin(orig), "reason", events.ReasonMaxDeliveries, "cause", cause.Error(), "error", err)...)
		return
	}
	f.metrics.deadLettered.WithLabelValues(events.ReasonMaxDeliveries).Inc()
	f.log.WarnContext(ctx, "message dead-lettered", append(origin(orig), "reason", events.ReasonMaxDeliveries,
		"error", cause.Error(), "dead_letter_subject", f.deadLetterSub)...)
}

// origin are the log attributes that find msg again.
func origin(msg *messaging.Message) []any {
	return []any{"stream", msg.Stream, "stream_seq", msg.Sequence, "msg_id", msg.ID, "deliveries", msg.Deliveries}
}

// deadLetterFor returns the dead letter of msg on subject: a reference
// (see platform/events) that fits under any server's max_payload however
// large msg is, because it carries at most events.DeadLetterMaxBody bytes
// of the body and bounded headers. Its message id is derived from where
// msg is stored, so that publishing it again is de-duplicated.
func deadLetterFor(subject string, msg *messaging.Message, reason string, cause error) *messaging.Message {
	body, truncated := msg.Data, false
	if len(body) > events.DeadLetterMaxBody {
		body, truncated = body[:events.DeadLetterMaxBody], true
	}
	dl := messaging.NewMessage(subject, deadLetterID(msg), body)
	dl.Header = map[string]string{
		events.HeaderDeadLetterReason:    reason,
		events.HeaderDeadLetterError:     headerValue(cause.Error(), events.DeadLetterMaxError),
		events.HeaderDeadLetterTruncated: strconv.FormatBool(truncated),
		events.HeaderOriginalSubject:     headerValue(msg.Subject, events.DeadLetterMaxField),
		events.HeaderOriginalSize:        strconv.Itoa(len(msg.Data)),
		events.HeaderDeliveries:          strconv.FormatUint(msg.Deliveries, 10),
	}
	if msg.ID != "" {
		dl.Header[events.HeaderOriginalID] = headerValue(msg.ID, events.DeadLetterMaxField)
	}
	if t := msg.Header[events.HeaderType]; t != "" {
		dl.Header[events.HeaderOriginalType] = headerValue(t, events.DeadLetterMaxField)
	}
	if msg.Stream != "" {
		dl.Header[events.HeaderOriginalStream] = headerValue(msg.Stream, events.DeadLetterMaxField)
	}
	if msg.Sequence > 0 {
		dl.Header[events.HeaderOriginalSequence] = strconv.FormatUint(msg.Sequence, 10)
	}
	// A replayed order that fails again carries its replay count on, so
	// that the dead-letter tool stops replaying it at its limit.
	if n, err := strconv.ParseUint(msg.Header[events.HeaderReplays], 10, 16); err == nil && n > 0 {
		dl.Header[events.HeaderReplays] = strconv.FormatUint(n, 10)
	}
	return dl
}

// deadLetterID is "dead-<stream>-<sequence>" for a message from a stream,
// else "dead-<message id>", else empty (no de-duplication possible).
func deadLetterID(msg *messaging.Message) string {
	switch {
	case msg.Stream != "" && msg.Sequence > 0:
		return "dead-" + headerValue(msg.Stream, events.DeadLetterMaxField) + "-" + strconv.FormatUint(msg.Sequence, 10)
	case msg.ID != "":
		return "dead-" + headerValue(msg.ID, events.DeadLetterMaxField)
	}
	return ""
}

// headerValue makes s safe as a header value of at most n bytes: control
// characters (a CR or LF would end the header) become spaces, and a longer
// value is cut at a character boundary.
func headerValue(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == utf8.RuneError || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}
