package jetstream

import (
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/distsys-go/orders/platform/messaging"
	"github.com/distsys-go/orders/platform/messaging/internal/natsmsg"
)

var _ messaging.Settler = settler{}

func toMessage(m natsjs.Msg) *messaging.Message {
	meta, err := m.Metadata()
	if err != nil {
		// Only a message not delivered by a consumer lacks metadata.
		return natsmsg.Delivery(m.Subject(), m.Headers(), m.Data(), 1, settler{m})
	}
	msg := natsmsg.Delivery(m.Subject(), m.Headers(), m.Data(), meta.NumDelivered, settler{m})
	msg.Stream, msg.Sequence = meta.Stream, meta.Sequence.Stream
	return msg
}

type settler struct{ m natsjs.Msg }

func (s settler) Ack() error { return s.m.Ack() }

func (s settler) Nak(delay time.Duration) error {
	if delay > 0 {
		return s.m.NakWithDelay(delay)
	}
	return s.m.Nak()
}

func (s settler) Term(reason string) error { return s.m.TermWithReason(reason) }
func (s settler) InProgress() error        { return s.m.InProgress() }
