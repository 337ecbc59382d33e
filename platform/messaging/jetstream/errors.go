package jetstream

import (
	"errors"
	"fmt"

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
// what they can do about it.
func publishError(subject string, err error) error {
	var apiErr *natsjs.APIError
	switch {
	case errors.As(err, &apiErr) && (apiErr.ErrorCode == errCodeStoreFailed || apiErr.ErrorCode == errCodeInsufficientResources):
		return fmt.Errorf("publish %s: %w: %w", subject, messaging.ErrFull, err)
	case errors.Is(err, natsjs.ErrNoStreamResponse), errors.Is(err, nats.ErrNoResponders),
		errors.Is(err, nats.ErrConnectionClosed), errors.Is(err, nats.ErrConnectionReconnecting),
		errors.Is(err, nats.ErrDisconnected):
		return fmt.Errorf("publish %s: %w: %w", subject, messaging.ErrUnavailable, err)
	}
	return fmt.Errorf("publish %s: %w", subject, err)
}
