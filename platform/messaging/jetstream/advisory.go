package jetstream

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/distsys-go/orders/platform/messaging"
	"github.com/distsys-go/orders/platform/messaging/internal/natsmsg"
)

var _ messaging.Subscription = (*advisorySubscription)(nil)

// maxDeliveriesSubject is where the server announces, per stream and
// consumer, a message it stopped delivering because the consumer's
// MaxDeliver was reached (nats-server's JSAdvisoryConsumerMaxDeliveryExceedPre).
const maxDeliveriesSubject = "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES"

// MaxDeliveries is one such announcement: the message at Sequence in
// Stream will not be delivered to Consumer again.
type MaxDeliveries struct {
	Stream     string
	Consumer   string
	Sequence   uint64
	Deliveries uint64
	// Original is the message as the stream still stores it (with Stream,
	// Sequence and Deliveries set), nil if it could not be read: OriginalErr
	// says why (deleted, aged out, the read failed).
	Original    *messaging.Message
	OriginalErr error
}

// maxDeliveriesAdvisory is the JSON the server sends, the fields of
// nats-server's JSConsumerDeliveryExceededAdvisory we use.
type maxDeliveriesAdvisory struct {
	Stream     string `json:"stream"`
	Consumer   string `json:"consumer"`
	StreamSeq  uint64 `json:"stream_seq"`
	Deliveries uint64 `json:"deliveries"`
}

// WatchMaxDeliveries calls h, with ctx, for each max-deliveries advisory of
// the durable consumer on stream. Watchers in the same queue group split
// the advisories, each going to one of them. The server sends an advisory
// once, as a core NATS message, and only if someone listens at that
// moment: a message that reaches MaxDeliver while no watcher runs is
// announced to nobody (it stays in the stream all the same).
func WatchMaxDeliveries(ctx context.Context, nc *nats.Conn, js natsjs.JetStream, stream, durable, group string,
	h func(context.Context, MaxDeliveries)) (messaging.Subscription, error) {
	subject := maxDeliveriesSubject + "." + stream + "." + durable
	sub, err := nc.QueueSubscribe(subject, group, func(m *nats.Msg) {
		var a maxDeliveriesAdvisory
		if err := json.Unmarshal(m.Data, &a); err != nil || a.StreamSeq == 0 {
			return // not an advisory of this schema; nothing to act on
		}
		ev := MaxDeliveries{Stream: a.Stream, Consumer: a.Consumer, Sequence: a.StreamSeq, Deliveries: a.Deliveries}
		ev.Original, ev.OriginalErr = storedMessage(ctx, js, a.Stream, a.StreamSeq)
		if ev.Original != nil {
			ev.Original.Deliveries = a.Deliveries
		}
		h(ctx, ev)
	})
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", subject, err)
	}
	// Registered before any Drain, so the closed status cannot be missed.
	return &advisorySubscription{sub: sub, closed: sub.StatusChanged(nats.SubscriptionClosed)}, nil
}

// storedMessage reads the message at seq in stream.
func storedMessage(ctx context.Context, js natsjs.JetStream, stream string, seq uint64) (*messaging.Message, error) {
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", stream, err)
	}
	raw, err := s.GetMsg(ctx, seq)
	if err != nil {
		return nil, fmt.Errorf("get %s #%d: %w", stream, seq, err)
	}
	header, id := natsmsg.FromHeader(raw.Header)
	msg := messaging.NewMessage(raw.Subject, id, raw.Data)
	msg.Header, msg.Stream, msg.Sequence = header, stream, seq
	return msg, nil
}

type advisorySubscription struct {
	sub    *nats.Subscription
	closed <-chan nats.SubStatus
}

// Drain stops taking advisories and waits until the one in hand is done.
func (s *advisorySubscription) Drain(ctx context.Context) error {
	if err := s.sub.Drain(); err != nil {
		return fmt.Errorf("drain advisories: %w", err)
	}
	select {
	case <-s.closed:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
