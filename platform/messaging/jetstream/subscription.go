package jetstream

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/distsys-go/orders/platform/messaging"
)

// errStopped is the fault of a consume loop that ended without saying why.
var errStopped = errors.New("consume loop stopped")

// subscription is a running consume loop on the durable and the goroutine
// (supervise) that restarts it when it stops delivering.
type subscription struct {
	*Subscriber
	config  natsjs.ConsumerConfig
	handle  func(natsjs.Msg)
	workers *messaging.Workers
	health  *health

	life context.Context // ends with Drain; bounds supervise
	end  context.CancelFunc
	kick chan struct{} // a fault was reported
	done chan struct{} // supervise returned
	// elections ends a restart's pause when the durable has a new leader
	// (nil: not watched, the pause runs out).
	elections *Elections

	// Written by Subscribe, then only by supervise; Drain reads them after
	// done.
	gen uint64
	cc  natsjs.ConsumeContext
}

// Healthy implements messaging.HealthChecker.
func (s *subscription) Healthy() error { return s.health.Healthy() }

// Drain stops the watch, stops pulling and waits until every buffered
// message went through a handler. Stop would throw the buffered messages
// away; they would come back only after the ack wait.
func (s *subscription) Drain(ctx context.Context) error {
	s.end()
	<-s.done
	if err := s.elections.Stop(); err != nil {
		s.log.Debug("stop watching the durable's leader elections", "consumer", s.durable, "error", err)
	}
	s.cc.Drain()
	select {
	case <-s.cc.Closed():
	case <-ctx.Done():
		return ctx.Err()
	}
	return s.workers.Wait(ctx)
}

// start ensures the durable (recreating it if it was deleted) and starts a
// new generation of the consume loop on it.
func (s *subscription) start(ctx context.Context) (natsjs.Consumer, error) {
	cons, err := s.js.CreateOrUpdateConsumer(ctx, s.stream, s.config)
	if err != nil {
		return nil, fmt.Errorf("ensure consumer %s on %s: %w", s.durable, s.stream, err)
	}
	gen := s.gen + 1
	s.health.begin(gen)
	cc, err := cons.Consume(func(m natsjs.Msg) {
		s.delivered(gen)
		s.workers.Go(func() { s.handle(m) })
	},
		natsjs.PullMaxMessages(s.cfg.PullMaxMessages),
		natsjs.PullExpiry(pullExpiry),
		natsjs.PullHeartbeat(pullHeartbeat),
		natsjs.ConsumeErrHandler(func(_ natsjs.ConsumeContext, err error) { s.fault(gen, err) }),
	)
	if err != nil {
		return nil, fmt.Errorf("consume %s: %w", s.durable, err)
	}
	s.gen, s.cc = gen, cc
	return cons, nil
}

// supervise restarts the consume loop each time it faults, until Drain.
func (s *subscription) supervise(cons natsjs.Consumer) {
	defer close(s.done)
	backoff := firstBackoff
	for {
		faulted, confirmed := s.watch(cons)
		if !faulted {
			return
		}
		if confirmed {
			backoff = firstBackoff
		}
		var ok bool
		if cons, ok = s.restart(&backoff); !ok {
			return
		}
	}
}

// watch waits until the running loop faults (true) or Drain begins
// (false). Meanwhile it asks the consumer for its info until that
// succeeds: only the consumer's leader answers, so an answer confirms the
// loop pulls from a consumer that can deliver.
func (s *subscription) watch(cons natsjs.Consumer) (faulted, confirmed bool) {
	probe := time.NewTimer(0)
	defer probe.Stop()
	closed := s.cc.Closed()
	elected := s.elections.Next()
	pause := firstBackoff
	for {
		select {
		case <-s.life.Done():
			return false, confirmed
		case <-elected:
			// The durable's new leader knows nothing of this loop's pull
			// requests, and nats.go would notice only after missed
			// heartbeats, seconds later: pull again now.
			s.log.Info("jetstream durable has a new leader; pulling again", "consumer", s.durable)
			return true, confirmed
		case <-s.kick:
			if s.health.isFaulted(s.gen) {
				return true, confirmed
			}
		case <-closed:
			// nats.go stops the loop itself when the durable is deleted;
			// its error handler said so already.
			s.fault(s.gen, errStopped)
			return true, confirmed
		case <-probe.C:
			if confirmed = s.probe(cons); !confirmed {
				probe.Reset(pause)
				pause = min(2*pause, maxBackoff)
			}
		}
	}
}

// probe confirms the current loop if the consumer's leader answers.
func (s *subscription) probe(cons natsjs.Consumer) bool {
	ctx, cancel := context.WithTimeout(s.life, probeTimeout)
	defer cancel()
	if _, err := cons.Info(ctx); err != nil {
		s.health.unconfirmed(s.gen, err)
		return false
	}
	s.delivered(s.gen)
	return true
}

// restart drains the faulted loop and starts a new one, pausing backoff
// first and doubling it after each failed attempt. A new leader of the
// durable ends the pause, or cuts short an attempt still waiting for an
// answer (no server answers while there is no leader) and goes again at
// once. It returns false if Drain began or the connection is closed for
// good.
func (s *subscription) restart(backoff *time.Duration) (natsjs.Consumer, bool) {
	s.cc.Drain() // messages it still buffers reach the handlers
	select {
	case <-s.cc.Closed():
	case <-s.life.Done():
		return nil, false
	}
	woken := false
	for {
		if !woken {
			var ok bool
			if woken, ok = s.pause(*backoff); !ok {
				return nil, false
			}
		}
		// After a new leader, start the back-off over: the leader
		// announces itself a moment before it serves.
		if woken {
			*backoff = firstBackoff
		} else {
			*backoff = min(2**backoff, maxBackoff)
		}
		var cons natsjs.Consumer
		var err error
		cons, woken, err = s.startUnlessElected()
		if err == nil {
			return cons, true
		}
		s.health.failed(err)
		switch {
		case s.life.Err() != nil:
			return nil, false
		case errors.Is(err, nats.ErrConnectionClosed):
			s.log.Error("jetstream consume cannot recover: connection closed", "consumer", s.durable)
			return nil, false
		}
		s.log.Debug("jetstream consume restart failed", "consumer", s.durable, "error", err, "new_leader", woken)
	}
}

// pause waits d, or until the durable's next new leader (elected); ok is
// false if Drain began.
func (s *subscription) pause(d time.Duration) (elected, ok bool) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return false, true
	case <-s.elections.Next():
		return true, true
	case <-s.life.Done():
		return false, false
	}
}

// startUnlessElected starts a new loop, within startTimeout; a new leader
// of the durable announced meanwhile cancels the attempt (elected true),
// as the next one will find that leader.
func (s *subscription) startUnlessElected() (cons natsjs.Consumer, elected bool, err error) {
	next := s.elections.Next()
	ctx, cancel := context.WithTimeout(s.life, startTimeout)
	defer cancel()
	go func() {
		select {
		case <-next:
			cancel()
		case <-ctx.Done():
		}
	}()
	cons, err = s.start(ctx)
	select {
	case <-next:
		elected = true
	default:
	}
	return cons, elected, err
}

// fault records that generation gen stopped delivering, logging and
// counting it if it starts a stall, and wakes supervise.
func (s *subscription) fault(gen uint64, err error) {
	if s.life.Err() != nil {
		return // Drain stops the loop; its errors are expected
	}
	reason := stallReason(err)
	if s.health.fault(gen, reason, err) {
		s.metrics.stalls.WithLabelValues(reason).Inc()
		s.log.Warn("jetstream consume stalled; restarting", "consumer", s.durable, "reason", reason, "error", err)
	}
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// delivered marks generation gen healthy, logging and counting the end of
// a stall.
func (s *subscription) delivered(gen uint64) {
	ended, reason, took := s.health.confirm(gen)
	if !ended {
		return
	}
	s.metrics.recoveries.Inc()
	s.log.Info("jetstream consume recovered", "consumer", s.durable, "reason", reason, "after", took.String())
}
