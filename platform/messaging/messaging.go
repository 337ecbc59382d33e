// Package messaging is the small Pub/Sub SDK both services are written
// against: a Publisher, a Subscriber and the Message they exchange.
//
// Three implementations live in sub-packages: natscore (core NATS,
// at-most-once, queue groups), jetstream (at-least-once, one shared durable
// consumer) and memory (an in-process fake for unit tests). The
// messagingtest package holds the conformance suite every implementation
// passes, so the fake cannot drift from the real thing.
package messaging

import (
	"context"
	"errors"
)

// Sentinel errors returned by implementations.
var (
	// ErrAlreadySettled is returned when a message that was acknowledged one
	// way is settled another way (Nak after Ack, say). Repeating the same
	// settlement is not an error.
	ErrAlreadySettled = errors.New("messaging: message already settled")
	// ErrClosed is returned by operations on a drained subscription or a
	// closed publisher.
	ErrClosed = errors.New("messaging: closed")
	// ErrFull is wrapped by a Publish the transport refused because its
	// storage is full (a stream at its byte or message limit, a server out
	// of JetStream storage). Nothing was stored; the same message may be
	// published again once consumers made room.
	ErrFull = errors.New("messaging: storage full")
	// ErrUnavailable is wrapped by a Publish that no server or stream
	// answered: disconnected, no stream captures the subject, or a
	// clustered stream between leaders. It may succeed when retried.
	ErrUnavailable = errors.New("messaging: unavailable")
	// ErrRejected wraps a publish error that retrying the same message
	// cannot cure: it is too large for the server or the stream, or its
	// subject is not a valid one. Other publish errors may be transient.
	ErrRejected = errors.New("messaging: message rejected")
)

// Publisher sends messages. A nil error means the transport accepted the
// message: for JetStream that is the server's acknowledgement that the
// message is stored; for core NATS only that it was written to the socket.
type Publisher interface {
	Publish(ctx context.Context, msg *Message) error
}

// Handler processes one delivery. It must settle msg (Ack, Nak or Term);
// a message left unsettled is redelivered by at-least-once transports once
// its ack wait expires. The context is cancelled only on a hard stop, not
// by Drain, so that work in hand can finish.
type Handler func(ctx context.Context, msg *Message)

// Subscriber delivers messages published on subject to h. Subscribers that
// share a group (the queue group, or the durable consumer) split the
// messages between them: each message goes to one of them.
type Subscriber interface {
	Subscribe(ctx context.Context, subject string, h Handler) (Subscription, error)
}

// Subscription is a running subscription.
type Subscription interface {
	// Drain stops taking new messages, lets the handlers finish and settle
	// every message already delivered or buffered, and returns once they
	// have. If ctx ends first it returns ctx's error and the messages still
	// held are left to the transport's redelivery.
	Drain(ctx context.Context) error
}
