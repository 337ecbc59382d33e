package main

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/distsys-go/orders/platform/messaging"
	"github.com/distsys-go/orders/platform/messaging/jetstream"
)

// errNewLeader fails the wait for an acknowledgement of a publish sent
// before the stream got a new leader.
var errNewLeader = fmt.Errorf("%w: the stream has a new leader since this was sent", messaging.ErrUnavailable)

// terms hands out one context per leadership term of the stream, cancelled
// when the next new leader is announced. A publish sent to a leader that
// is gone (crashed, or stepped down in lame duck) may never be
// acknowledged: waiting for its acknowledgement in its term's context, the
// producer sends it again as soon as the new leader is announced instead
// of after PUBLISH_TIMEOUT. The resend carries the same message id, so the
// stream stores the order once even if the old leader had stored it.
type terms struct {
	mu     sync.Mutex
	ctx    context.Context
	cancel context.CancelFunc
	base   context.Context
}

// watchTerms starts the terms on base (whose cancellation they do not
// inherit, as acknowledgements are awaited through shutdown) and follows
// el until done closes. With nil el (no leaders) the term never ends.
func watchTerms(base context.Context, el *jetstream.Elections, done <-chan struct{}) *terms {
	t := &terms{base: context.WithoutCancel(base)}
	t.ctx, t.cancel = context.WithCancel(t.base)
	if el != nil {
		go t.follow(el, done)
	}
	return t
}

func (t *terms) follow(el *jetstream.Elections, done <-chan struct{}) {
	next := el.Next()
	for {
		select {
		case <-next:
			// The next announcement's channel first, then the new term:
			// one made in between is not missed.
			next = el.Next()
			t.mu.Lock()
			t.cancel()
			t.ctx, t.cancel = context.WithCancel(t.base)
			t.mu.Unlock()
		case <-done:
			return
		}
	}
}

// current is the context of the current term.
func (t *terms) current() context.Context {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.ctx
}

// ended turns the cancellation of a term's context into errNewLeader.
func ended(term context.Context, err error) error {
	if errors.Is(err, context.Canceled) && term.Err() != nil {
		return errNewLeader
	}
	return err
}
