// Package memory is an in-process messaging transport for unit tests of
// business logic. It keeps JetStream's contract: messages are retained per
// subject, each group of subscribers gets every message once, unsettled
// messages come back after the ack wait, Nak redelivers, and publishing an
// ID twice within the de-duplication window stores it once.
package memory

import (
	"context"
	"maps"
	"sync"
	"time"

	"github.com/distsys-go/orders/platform/messaging"
)

var (
	_ messaging.Publisher    = (*Broker)(nil)
	_ messaging.Subscriber   = (*Subscriber)(nil)
	_ messaging.Subscription = (*subscription)(nil)
	_ messaging.Settler      = (*settler)(nil)
)

// Option configures a Broker.
type Option func(*Broker)

// WithAckWait sets how long a delivery may stay unsettled before it is
// delivered again. The default is 30s, as on JetStream.
func WithAckWait(d time.Duration) Option { return func(b *Broker) { b.ackWait = d } }

// WithDuplicateWindow sets how long a message ID is remembered for
// de-duplication. The default is 2m, as on JetStream.
func WithDuplicateWindow(d time.Duration) Option { return func(b *Broker) { b.dupWindow = d } }

// Broker holds the messages and the subscriber groups. It is also the
// Publisher.
type Broker struct {
	ackWait   time.Duration
	dupWindow time.Duration

	mu     sync.Mutex
	log    map[string][]record // subject -> every message published on it
	groups map[[2]string]*group
	seen   map[string]time.Time // message ID -> when first published
	seq    uint64               // sequence of the last stored message
}

type record struct {
	subject, id string
	header      map[string]string
	data        []byte
	seq         uint64
}

// NewBroker returns an empty broker.
func NewBroker(opts ...Option) *Broker {
	b := &Broker{
		ackWait:   30 * time.Second,
		dupWindow: 2 * time.Minute,
		log:       map[string][]record{},
		groups:    map[[2]string]*group{},
		seen:      map[string]time.Time{},
	}
	for _, o := range opts {
		o(b)
	}
	return b
}

// Publish stores msg and hands it to every group subscribed to its subject.
func (b *Broker) Publish(ctx context.Context, msg *messaging.Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	if msg.ID != "" {
		if at, ok := b.seen[msg.ID]; ok && now.Sub(at) < b.dupWindow {
			return nil
		}
		b.seen[msg.ID] = now
	}
	b.seq++
	rec := record{subject: msg.Subject, id: msg.ID, header: maps.Clone(msg.Header), data: append([]byte(nil), msg.Data...), seq: b.seq}
	b.log[msg.Subject] = append(b.log[msg.Subject], rec)
	for key, g := range b.groups {
		if key[0] == msg.Subject {
			g.push(&delivery{record: rec})
		}
	}
	return nil
}

// groupFor returns the group for subject and name, creating it with every
// message already published on subject, as a new durable consumer starts
// at the beginning of its stream.
func (b *Broker) groupFor(subject, name string) *group {
	b.mu.Lock()
	defer b.mu.Unlock()
	key := [2]string{subject, name}
	g, ok := b.groups[key]
	if !ok {
		g = &group{wake: make(chan struct{})}
		for _, rec := range b.log[subject] {
			g.queue = append(g.queue, &delivery{record: rec})
		}
		b.groups[key] = g
	}
	return g
}

// Subscriber returns a subscriber in the named group. Subscribers of one
// group split the messages; each group gets all of them.
func (b *Broker) Subscriber(group string, concurrency int) *Subscriber {
	return &Subscriber{broker: b, group: group, concurrency: concurrency}
}

// Subscriber is one member of a group.
type Subscriber struct {
	broker      *Broker
	group       string
	concurrency int
}

// Subscribe starts delivering subject's messages of this group to h.
func (s *Subscriber) Subscribe(ctx context.Context, subject string, h messaging.Handler) (messaging.Subscription, error) {
	sub := &subscription{
		group:   s.broker.groupFor(subject, s.group),
		ackWait: s.broker.ackWait,
		workers: messaging.NewWorkers(s.concurrency),
		stop:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	go sub.loop(ctx, h)
	return sub, nil
}

type group struct {
	mu    sync.Mutex
	queue []*delivery
	wake  chan struct{} // closed and replaced on every push
}

type delivery struct {
	record
	deliveries uint64
}

func (g *group) push(d *delivery) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.queue = append(g.queue, d)
	close(g.wake)
	g.wake = make(chan struct{})
}

// pop waits for the next delivery; it returns nil once stop is closed.
func (g *group) pop(stop <-chan struct{}) *delivery {
	for {
		g.mu.Lock()
		if len(g.queue) > 0 {
			d := g.queue[0]
			g.queue = g.queue[1:]
			g.mu.Unlock()
			return d
		}
		wake := g.wake
		g.mu.Unlock()
		select {
		case <-wake:
		case <-stop:
			return nil
		}
	}
}

type subscription struct {
	group    *group
	ackWait  time.Duration
	workers  *messaging.Workers
	stop     chan struct{}
	stopped  chan struct{}
	stopOnce sync.Once
}

func (s *subscription) loop(ctx context.Context, h messaging.Handler) {
	defer close(s.stopped)
	for {
		select {
		case <-s.stop:
			return
		default:
		}
		d := s.group.pop(s.stop)
		if d == nil {
			return
		}
		d.deliveries++
		st := newSettler(s.group, d, s.ackWait)
		msg := messaging.NewDelivery(d.subject, d.id, maps.Clone(d.header), d.data, d.deliveries, st)
		msg.Sequence = d.seq
		s.workers.Go(func() { h(ctx, msg) })
	}
}

func (s *subscription) Drain(ctx context.Context) error {
	s.stopOnce.Do(func() { close(s.stop) })
	select {
	case <-s.stopped:
	case <-ctx.Done():
		return ctx.Err()
	}
	return s.workers.Wait(ctx)
}

// settler settles one delivery; once settled (or redelivered after the ack
// wait) it does nothing more.
type settler struct {
	group    *group
	delivery *delivery
	ackWait  time.Duration

	mu    sync.Mutex
	timer *time.Timer
	done  bool
}

func newSettler(g *group, d *delivery, ackWait time.Duration) *settler {
	s := &settler{group: g, delivery: d, ackWait: ackWait}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.timer = time.AfterFunc(ackWait, func() { s.redeliver(0) })
	return s
}

func (s *settler) finish() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return false
	}
	s.done = true
	s.timer.Stop()
	return true
}

func (s *settler) redeliver(delay time.Duration) {
	if !s.finish() {
		return
	}
	time.AfterFunc(delay, func() { s.group.push(s.delivery) })
}

func (s *settler) Ack() error                { s.finish(); return nil }
func (s *settler) Term(string) error         { s.finish(); return nil }
func (s *settler) Nak(d time.Duration) error { s.redeliver(d); return nil }

func (s *settler) InProgress() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.done {
		s.timer.Reset(s.ackWait)
	}
	return nil
}
