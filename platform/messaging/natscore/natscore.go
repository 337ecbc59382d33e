// Package natscore is the at-most-once transport over core NATS: publishes
// are fire-and-forget and subscribers share the work in a queue group.
// Nothing is stored, so a message published while no subscriber listens,
// or dropped by a slow subscriber, is gone; acknowledgements are no-ops.
package natscore

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/distsys-go/orders/platform/messaging"
	"github.com/distsys-go/orders/platform/messaging/internal/natsmsg"
)

var (
	_ messaging.Publisher    = (*Publisher)(nil)
	_ messaging.Subscriber   = (*Subscriber)(nil)
	_ messaging.Subscription = (*subscription)(nil)
	_ messaging.Settler      = settler{}
)

// Publisher publishes on core NATS.
type Publisher struct{ nc *nats.Conn }

// NewPublisher returns a publisher on nc.
func NewPublisher(nc *nats.Conn) *Publisher { return &Publisher{nc: nc} }

// Publish writes msg to the connection. A nil error does not mean any
// subscriber received it.
func (p *Publisher) Publish(_ context.Context, msg *messaging.Message) error {
	if err := p.nc.PublishMsg(natsmsg.ToNATS(msg)); err != nil {
		return fmt.Errorf("publish %s: %w", msg.Subject, err)
	}
	return nil
}

// Flush returns once the server has processed every message published
// before it. Publish only buffers the message in the client, so a caller
// that needs the server to have it (before another connection subscribes,
// or before the process exits) flushes; a deadline on ctx bounds the wait,
// else the client's 10s default does.
func (p *Publisher) Flush(ctx context.Context) error {
	var err error
	if _, ok := ctx.Deadline(); ok {
		err = p.nc.FlushWithContext(ctx)
	} else {
		err = p.nc.Flush()
	}
	if err != nil {
		return fmt.Errorf("flush publishes: %w", err)
	}
	return nil
}

// Option configures a Subscriber.
type Option func(*Subscriber)

// WithConcurrency sets how many messages are handled at once (default 1).
func WithConcurrency(n int) Option { return func(s *Subscriber) { s.concurrency = n } }

// Subscriber is one member of a queue group.
type Subscriber struct {
	nc          *nats.Conn
	group       string
	concurrency int
}

// NewSubscriber returns a member of the queue group named group on nc;
// every replica built with the same group shares the messages.
func NewSubscriber(nc *nats.Conn, group string, opts ...Option) *Subscriber {
	s := &Subscriber{nc: nc, group: group, concurrency: 1}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Pending limits of a subscription's client-side buffer (see Subscribe).
const (
	pendingMsgs  = 1 << 10
	pendingBytes = 1 << 20
)

// Subscribe joins the queue group on subject. It returns once the server
// has the subscription (it flushes the SUB and waits for the server's
// answer), so nothing published afterwards, from any connection, is
// missed: core NATS keeps nothing for a subscription not yet in place.
func (s *Subscriber) Subscribe(ctx context.Context, subject string, h messaging.Handler) (messaging.Subscription, error) {
	workers := messaging.NewWorkers(s.concurrency)
	sub, err := s.nc.QueueSubscribe(subject, s.group, func(m *nats.Msg) {
		msg := natsmsg.Delivery(m.Subject, m.Header, m.Data, 1, settler{})
		workers.Go(func() { h(ctx, msg) })
	})
	if err != nil {
		return nil, fmt.Errorf("queue subscribe %s in %s: %w", subject, s.group, err)
	}
	// Core NATS stores nothing: what a replica cannot keep up with waits in
	// this client's buffer, and past its limits the client drops it (a
	// slow consumer). The client's defaults would let a replica that falls
	// behind grow by tens of megabytes for orders already seconds old;
	// these hold about a tenth of a second at full rate (figures:
	// docs/performance.md, "Core NATS slow consumers").
	if err := sub.SetPendingLimits(pendingMsgs, pendingBytes); err != nil {
		_ = sub.Unsubscribe()
		return nil, fmt.Errorf("queue subscribe %s: pending limits: %w", subject, err)
	}
	if err := s.nc.Flush(); err != nil {
		_ = sub.Unsubscribe()
		return nil, fmt.Errorf("queue subscribe %s: flush: %w", subject, err)
	}
	return &subscription{sub: sub, closed: sub.StatusChanged(nats.SubscriptionClosed), workers: workers}, nil
}

type subscription struct {
	sub     *nats.Subscription
	closed  <-chan nats.SubStatus
	workers *messaging.Workers
}

// Drain unsubscribes, lets the client hand over what it already buffered
// and waits for the handlers.
func (s *subscription) Drain(ctx context.Context) error {
	if err := s.sub.Drain(); err != nil && s.sub.IsValid() {
		return fmt.Errorf("drain subscription: %w", err)
	}
	select {
	case <-s.closed:
	case <-ctx.Done():
		return ctx.Err()
	}
	return s.workers.Wait(ctx)
}

// settler does nothing: core NATS has no acknowledgements, so a Nak'd
// message is not redelivered.
type settler struct{}

func (settler) Ack() error              { return nil }
func (settler) Nak(time.Duration) error { return nil }
func (settler) Term(string) error       { return nil }
func (settler) InProgress() error       { return nil }
