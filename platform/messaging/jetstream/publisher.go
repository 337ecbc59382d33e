package jetstream

import (
	"context"
	"errors"
	"fmt"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/distsys-go/orders/platform/messaging"
	"github.com/distsys-go/orders/platform/messaging/internal/natsmsg"
)

var (
	_ messaging.AsyncPublisher = (*Publisher)(nil)
	_ messaging.PubAck         = pubAck{}
)

// Publisher publishes into a stream and waits for the server's ack.
type Publisher struct{ js natsjs.JetStream }

// NewPublisher returns a publisher on js. PublishAsync's acknowledgements
// time out after the js's natsjs.WithPublishAsyncTimeout (without it they
// wait until the connection is lost), and at most its
// natsjs.WithPublishAsyncMaxPending (4000 by default) are in flight.
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

// PublishAsync sends msg and returns at once; the PubAck's Wait returns
// what Publish would have. The client keeps the message until the server
// answers, and fails it with an unavailable error when the connection is
// lost meanwhile.
func (p *Publisher) PublishAsync(_ context.Context, msg *messaging.Message) (messaging.PubAck, error) {
	f, err := p.js.PublishMsgAsync(natsmsg.ToNATS(msg))
	if err != nil {
		return nil, publishError(msg.Subject, err)
	}
	return pubAck{f: f, subject: msg.Subject}, nil
}

type pubAck struct {
	f       natsjs.PubAckFuture
	subject string
}

// Wait implements messaging.PubAck.
func (a pubAck) Wait(ctx context.Context) error {
	select {
	case <-a.f.Ok():
		return nil
	case err := <-a.f.Err():
		if errors.Is(err, natsjs.ErrAsyncPublishTimeout) {
			// The same error a synchronous Publish whose context timed
			// out returns, so callers tell timeouts apart one way.
			err = fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
		}
		return publishError(a.subject, err)
	case <-ctx.Done():
		return ctx.Err()
	}
}
