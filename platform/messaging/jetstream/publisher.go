package jetstream

import (
	"context"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/distsys-go/orders/platform/messaging"
	"github.com/distsys-go/orders/platform/messaging/internal/natsmsg"
)

var _ messaging.Publisher = (*Publisher)(nil)

// Publisher publishes into a stream and waits for the server's ack.
type Publisher struct{ js natsjs.JetStream }

// NewPublisher returns a publisher on js.
func NewPublisher(js natsjs.JetStream) *Publisher { return &Publisher{js: js} }

// Publish returns nil only once the server stored msg. A message whose ID
// the stream saw within its duplicate window is acknowledged but stored
// once, so retrying a failed publish with the same ID is safe. The error
// says whether retrying can help (see publishError).
func (p *Publisher) Publish(ctx context.Context, msg *messaging.Message) error {
	if _, err := p.js.PublishMsg(ctx, natsmsg.ToNATS(msg)); err != nil {
		return publishError(msg.Subject, err)
	}
	return nil
}
