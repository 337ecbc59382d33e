package jetstream

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/distsys-go/orders/platform/messaging"
	"github.com/distsys-go/orders/platform/messaging/natscore"
)

var _ messaging.Publisher = (*Publisher)(nil)

// Publisher publishes into a stream and waits for the server's ack.
type Publisher struct{ js natsjs.JetStream }

// NewPublisher returns a publisher on js.
func NewPublisher(js natsjs.JetStream) *Publisher { return &Publisher{js: js} }

// Publish returns nil only once the server stored msg. A message whose ID
// the stream saw within its duplicate window is acknowledged but stored
// once, so retrying a failed publish with the same ID is safe. An error
// that retrying cannot cure also wraps messaging.ErrRejected.
func (p *Publisher) Publish(ctx context.Context, msg *messaging.Message) error {
	_, err := p.js.PublishMsg(ctx, natscore.ToNATS(msg))
	switch {
	case err == nil:
		return nil
	case rejected(err):
		return fmt.Errorf("publish %s: %w: %w", msg.Subject, messaging.ErrRejected, err)
	default:
		return fmt.Errorf("publish %s: %w", msg.Subject, err)
	}
}

// rejected reports whether err is about the message itself. A stream not
// capturing the subject (no responders) is not among them: the stream may
// be being created or updated, and the caller bounds its retries anyway.
func rejected(err error) bool {
	return errors.Is(err, nats.ErrMaxPayload) || errors.Is(err, natsjs.ErrStreamMessageExceedsMaximum) ||
		errors.Is(err, nats.ErrBadSubject) || errors.Is(err, nats.ErrHeadersNotSupported)
}
