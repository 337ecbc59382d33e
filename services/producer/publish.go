package main

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/distsys-go/orders/platform/events"
	"github.com/distsys-go/orders/platform/messaging"
	"github.com/distsys-go/orders/platform/service"
)

// eventSource is the CloudEvents source of the producer's events.
const eventSource = "/orders/producer"

// inFlight is an order sent and not yet acknowledged.
type inFlight struct {
	order events.Order
	msg   *messaging.Message
	ack   messaging.PubAck // nil when sending failed
	err   error            // why sending failed
	term  context.Context  // the stream's leadership term it was sent in
}

// send makes a new order and sends it without waiting for its
// acknowledgement (see messaging.PublishAsync: a transport that cannot
// publishes it synchronously here). ctx is the run's, without its
// cancellation: sending is not cut short by shutdown, so an order stored
// as the producer stops is still counted. The transport bounds it (a
// synchronous JetStream publish by its default timeout, core NATS only
// buffers), which spares a timer per order.
func (p *producer) send(ctx context.Context) *inFlight {
	order := p.newOrder()
	data, err := p.version.Encode(order)
	if err != nil { // newOrder makes what the version carries
		panic(fmt.Sprintf("encode order: %v", err))
	}
	msg := messaging.NewMessage(p.subject, order.ID, data)
	msg.Header = p.version.Headers(order, eventSource)
	f := &inFlight{order: order, msg: msg, term: p.terms.current()}
	f.ack, f.err = messaging.PublishAsync(ctx, p.pub, f.msg)
	return f
}

// collect waits for each sent order's acknowledgement, in the order they
// were sent, counts the acknowledged and hands each failed one to a retry
// goroutine, which holds retrying closed and its slot taken until it is
// done. It returns once sent is closed and drained.
func (p *producer) collect(ctx context.Context, sent <-chan *inFlight, slots <-chan struct{}, retries *sync.WaitGroup, retrying *gate, stop context.CancelFunc) {
	// An acknowledgement's wait is bounded by the publisher's timeout
	// (PUBLISH_TIMEOUT) and by the end of the leadership term the order
	// was sent in, not by shutdown.
	for f := range sent {
		err := f.err
		if err == nil {
			err = ended(f.term, f.ack.Wait(f.term))
		}
		if err == nil {
			p.health.OK()
			p.acknowledged(ctx, f)
			<-slots
			continue
		}
		retrying.hold()
		retries.Go(func() {
			defer func() {
				retrying.release()
				<-slots
			}()
			p.retry(ctx, f, err, stop)
		})
	}
}

// retry publishes an order whose first attempt failed with firstErr,
// retrying with backoff until the transport acknowledges it or ctx ends.
// Every attempt uses the order id as message id, so the stream stores a
// retried order once.
func (p *producer) retry(ctx context.Context, f *inFlight, firstErr error, stop context.CancelFunc) {
	first := true
	// The order id is an attribute, not part of the message, so that "publish
	// order failed; retrying" is one message to search the logs for.
	err := service.Retry(ctx, p.log.With("order_id", f.order.ID), "publish order", func(context.Context) error {
		if first {
			first = false
			err := p.failed(f.msg, firstErr)
			if !errors.Is(firstErr, errNewLeader) {
				return err
			}
			// Sent to a leader that is gone: send it to the new one now.
		}
		return p.attempt(ctx, f.msg)
	}, service.WakeOn(p.elections.Next))
	switch {
	case err == nil:
		p.acknowledged(ctx, f)
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		p.log.Info("order not published: shutting down", "order_id", f.order.ID)
	default: // the server rejected it: stop, returning its error
		p.mu.Lock()
		if p.err == nil {
			p.err = err
		}
		p.mu.Unlock()
		stop()
	}
}

// attempt publishes msg once and waits for the acknowledgement. Like send
// it is not cut short by shutdown.
func (p *producer) attempt(ctx context.Context, msg *messaging.Message) error {
	term := p.terms.current()
	attemptCtx, cancel := context.WithTimeout(term, p.timeout)
	defer cancel()
	if err := p.pub.Publish(attemptCtx, msg); err != nil {
		return p.failed(msg, ended(term, err))
	}
	p.health.OK()
	return nil
}

// failed records a failed attempt at msg in the metrics and readiness, and
// returns err, marked final when no retry can cure it.
func (p *producer) failed(msg *messaging.Message, err error) error {
	reason := publishErrorReason(err)
	p.metrics.publishErrors.WithLabelValues(reason).Inc()
	p.health.Failed(reason, err)
	if errors.Is(err, messaging.ErrRejected) {
		// The server will never take this order: retrying it would
		// stall every order behind it for ever.
		return service.Permanent(fmt.Errorf("order %s: %w", msg.ID, err))
	}
	return err
}

// acknowledged counts an order the server acknowledged: the metric, the
// ids VERIFY_TIMEOUT checks and the "published order" line the audits
// count.
func (p *producer) acknowledged(ctx context.Context, f *inFlight) {
	p.mu.Lock()
	p.published++
	if p.keepIDs {
		p.ids = append(p.ids, f.order.ID)
	}
	p.mu.Unlock()
	p.metrics.published.Inc()
	// Logged in the publish span's trace, from the message's headers.
	p.log.InfoContext(p.tracing.FromMessage(ctx, f.msg), "published order",
		"order_id", f.order.ID, "version", f.order.Version, "lines", len(f.order.Lines))
}

// acknowledgedCount is how many orders were acknowledged so far.
func (p *producer) acknowledgedCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.published
}
