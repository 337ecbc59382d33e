package jetstream

import (
	"errors"
	"fmt"
	"sync"

	"github.com/nats-io/nats.go"
)

// Where the server that becomes the leader of a stream or a consumer
// announces it (nats-server's JSAdvisoryStreamLeaderElectedPre and
// JSAdvisoryConsumerLeaderElectedPre).
const (
	streamLeaderElected   = "$JS.EVENT.ADVISORY.STREAM.LEADER_ELECTED"
	consumerLeaderElected = "$JS.EVENT.ADVISORY.CONSUMER.LEADER_ELECTED"
)

// StreamLeaderElected is the subject of stream's new-leader announcements
// (a key-value bucket's stream is KV_<bucket>).
func StreamLeaderElected(stream string) string { return streamLeaderElected + "." + stream }

// ConsumerLeaderElected is the subject of the new-leader announcements of
// the consumer durable on stream.
func ConsumerLeaderElected(stream, durable string) string {
	return consumerLeaderElected + "." + stream + "." + durable
}

// Elections wakes whoever waits for a stream or consumer to have a leader
// again. When a clustered stream's leader crashes nothing is stored until
// the others elect a new one (nats-server 2.15 waits 4–9 s without
// heartbeats before a follower campaigns), and a retry pausing out its
// back-off would add up to that back-off to the outage; woken by the new
// leader's announcement it goes at once. The announcements are core NATS
// messages, sent only to whoever listens at that moment, so a waiter
// keeps its back-off as the fallback.
type Elections struct {
	mu   sync.Mutex
	next chan struct{} // closed at the next announcement
	subs []*nats.Subscription
}

// WatchElections subscribes to the announcements on subjects
// (StreamLeaderElected, ConsumerLeaderElected). Every watcher gets every
// announcement.
func WatchElections(nc *nats.Conn, subjects ...string) (*Elections, error) {
	e := &Elections{next: make(chan struct{})}
	for _, subject := range subjects {
		sub, err := nc.Subscribe(subject, func(*nats.Msg) { e.announce() })
		if err != nil {
			return nil, errors.Join(fmt.Errorf("watch %s: %w", subject, err), e.Stop())
		}
		e.subs = append(e.subs, sub)
	}
	return e, nil
}

// announce wakes every waiter and arms the next wait.
func (e *Elections) announce() {
	e.mu.Lock()
	defer e.mu.Unlock()
	close(e.next)
	e.next = make(chan struct{})
}

// Next returns a channel closed at the next announcement. On a nil
// *Elections (nothing to watch: core NATS has no leaders) it returns nil,
// which never fires.
func (e *Elections) Next() <-chan struct{} {
	if e == nil {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.next
}

// Stop ends the watch.
func (e *Elections) Stop() error {
	if e == nil {
		return nil
	}
	var errs []error
	for _, s := range e.subs {
		if err := s.Unsubscribe(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) && !errors.Is(err, nats.ErrBadSubscription) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
