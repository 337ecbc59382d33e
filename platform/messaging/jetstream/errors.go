package jetstream

import (
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/distsys-go/orders/platform/messaging"
)

// JetStream API error codes a full store answers a publish with: the
// stream's own limits under DiscardNew (its description then says which:
// "maximum bytes exceeded", "maximum messages exceeded"), or the server's
// or account's JetStream storage used up.
const (
	errCodeStoreFailed           natsjs.ErrorCode = 10077
	errCodeInsufficientResources natsjs.ErrorCode = 10023
)

// publishError wraps err with the messaging sentinel that tells callers
// what they can do about it: nothing (ErrRejected), wait for room
// (ErrFull) or for a server (ErrUnavailable).
func publishError(subject string, err error) error {
	switch {
	case rejected(err):
		return fmt.Errorf("publish %s: %w: %w", subject, messaging.ErrRejected, err)
	case IsFull(err):
		return fmt.Errorf("publish %s: %w: %w", subject, messaging.ErrFull, err)
	case IsUnavailable(err):
		return fmt.Errorf("publish %s: %w: %w", subject, messaging.ErrUnavailable, err)
	}
	return fmt.Errorf("publish %s: %w", subject, err)
}

// IsUnavailable reports whether err says no server took the write: the
// stream has no leader (no responders), or the connection is down.
func IsUnavailable(err error) bool {
	return errors.Is(err, natsjs.ErrNoStreamResponse) || errors.Is(err, nats.ErrNoResponders) ||
		errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, nats.ErrConnectionReconnecting) ||
		errors.Is(err, nats.ErrDisconnected)
}

// IsFull reports whether err is the server refusing a write for lack of
// room: a stream (or key-value bucket) at its limits under DiscardNew, or
// JetStream's storage used up.
func IsFull(err error) bool {
	var apiErr *natsjs.APIError
	return errors.As(err, &apiErr) && full(apiErr)
}

// full reports whether the server refused a message for lack of room. The
// store-failed code also answers a message over the stream's size limit
// ("message too large"), which rejected covers.
func full(e *natsjs.APIError) bool {
	return e.ErrorCode == errCodeInsufficientResources ||
		e.ErrorCode == errCodeStoreFailed && strings.HasSuffix(e.Description, "exceeded")
}

// rejected reports whether err is about the message itself. A stream not
// capturing the subject (no responders) is not among them: the stream may
// be being created or updated, and the caller bounds its retries anyway.
func rejected(err error) bool {
	var apiErr *natsjs.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode == errCodeStoreFailed && strings.HasSuffix(apiErr.Description, "too large") {
		return true
	}
	return errors.Is(err, nats.ErrMaxPayload) || errors.Is(err, natsjs.ErrStreamMessageExceedsMaximum) ||
		errors.Is(err, nats.ErrBadSubject) || errors.Is(err, nats.ErrHeadersNotSupported)
}
