package messaging

import (
	"sync"
	"time"
)

// Message is one message, as published and as delivered.
type Message struct {
	// Subject the message is published on.
	Subject string
	// ID identifies the message for publish de-duplication (the
	// Nats-Msg-Id header on JetStream). Publishing the same ID twice within
	// the transport's window stores it once.
	ID string
	// Header carries metadata such as a dead-letter reason.
	Header map[string]string
	// Data is the payload.
	Data []byte
	// Deliveries counts how often this message was delivered, 1 the first
	// time. Only set on delivered messages.
	Deliveries uint64
	// Stream names the stream that stores a delivered message, and
	// Sequence is its sequence there: together they find the message again
	// after it was settled. Empty and 0 on transports without a stream
	// (core NATS); the memory transport sets only Sequence.
	Stream   string
	Sequence uint64

	settler Settler
	mu      sync.Mutex
	settled settlement
}

// Settler is what a transport gives a delivered message so that it can be
// acknowledged. Implementations need not be idempotent: Message is.
type Settler interface {
	Ack() error
	Nak(delay time.Duration) error
	Term(reason string) error
	InProgress() error
}

type settlement int

const (
	pending settlement = iota
	acked
	naked
	termed
)

// NewMessage returns a message ready to publish.
func NewMessage(subject, id string, data []byte) *Message {
	return &Message{Subject: subject, ID: id, Data: data}
}

// NewDelivery returns a delivered message settled through s. Transports
// call it; applications receive its result in their Handler.
func NewDelivery(subject, id string, header map[string]string, data []byte, deliveries uint64, s Settler) *Message {
	return &Message{Subject: subject, ID: id, Header: header, Data: data, Deliveries: deliveries, settler: s}
}

// Ack acknowledges the message: it will not be delivered again.
func (m *Message) Ack() error { return m.settle(acked, m.settler.Ack) }

// Nak asks for redelivery after delay (0 for as soon as possible).
func (m *Message) Nak(delay time.Duration) error {
	return m.settle(naked, func() error { return m.settler.Nak(delay) })
}

// Term tells the transport never to deliver the message again, for the
// given reason. Use it once the message is dead-lettered.
func (m *Message) Term(reason string) error {
	return m.settle(termed, func() error { return m.settler.Term(reason) })
}

// InProgress resets the redelivery timer of a message still being worked
// on. It is a no-op once the message is settled.
func (m *Message) InProgress() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.settled != pending || m.settler == nil {
		return nil
	}
	return m.settler.InProgress()
}

// Settled reports whether Ack, Nak or Term succeeded on the message.
func (m *Message) Settled() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.settled != pending
}

// settle runs fn once: repeating the same settlement is a no-op, another
// one is ErrAlreadySettled. A failed fn leaves the message pending so the
// caller may try again.
func (m *Message) settle(to settlement, fn func() error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case m.settled == to:
		return nil
	case m.settled != pending:
		return ErrAlreadySettled
	}
	if m.settler != nil {
		if err := fn(); err != nil {
			return err
		}
	}
	m.settled = to
	return nil
}
