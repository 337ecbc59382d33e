package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"golang.org/x/time/rate"

	"github.com/distsys-go/orders/platform/events"
	"github.com/distsys-go/orders/platform/messaging"
	"github.com/distsys-go/orders/platform/service"
	"github.com/distsys-go/orders/platform/tracing"
)

// producer publishes orders at a steady pace.
type producer struct {
	pub      messaging.Publisher
	subject  string
	pace     *rate.Limiter
	count    int // 0: until stopped
	timeout  time.Duration
	products []string
	metrics  *metrics
	health   *publishHealth
	log      *slog.Logger
	tracing  *tracing.Provider // nil: off
	now      func() time.Time

	published int // acknowledged orders so far
}

// pace turns the settings into a limiter: PUBLISH_RATE per second when
// set, else one order per PUBLISH_INTERVAL, or no limit for 0.
func pace(s settings) *rate.Limiter {
	switch {
	case s.Rate > 0:
		return rate.NewLimiter(rate.Limit(s.Rate), 1)
	case s.Interval > 0:
		return rate.NewLimiter(rate.Every(s.Interval), 1)
	default:
		return rate.NewLimiter(rate.Inf, 1)
	}
}

// run publishes until ctx ends or count orders are acknowledged, and
// returns the ids it published. An order whose publish is in flight when
// ctx ends is still waited for; one not yet acknowledged by then is not
// counted as published.
func (p *producer) run(ctx context.Context) ([]string, error) {
	var ids []string
	for p.count == 0 || p.published < p.count {
		if err := p.pace.Wait(ctx); err != nil {
			return ids, nil // stopped
		}
		order := p.newOrder()
		if err := p.publish(ctx, order); err != nil {
			if ctx.Err() != nil {
				p.log.Info("order not published: shutting down", "order_id", order.ID)
				return ids, nil
			}
			return ids, err
		}
		if p.count > 0 {
			ids = append(ids, order.ID)
		}
	}
	return ids, nil
}

func (p *producer) newOrder() events.OrderEvent {
	return events.OrderEvent{
		ID:        events.NewOrderID(),
		ProductID: p.products[rand.IntN(len(p.products))],
		Quantity:  1 + rand.IntN(5),
		CreatedAt: p.now().UTC(),
	}
}

// publish sends one order, retrying with backoff until the transport
// accepts it or ctx ends. Retries reuse the order id as message id, so the
// stream stores a retried order once.
func (p *producer) publish(ctx context.Context, order events.OrderEvent) error {
	data, err := json.Marshal(order)
	if err != nil {
		return fmt.Errorf("encode order: %w", err)
	}
	msg := messaging.NewMessage(p.subject, order.ID, data)
	// The order id is an attribute, not part of the message, so that "publish
	// order failed; retrying" is one message to search the logs for.
	err = service.Retry(ctx, p.log.With("order_id", order.ID), "publish order", func(context.Context) error {
		// An attempt is not cut short by shutdown: it ends with the
		// server's answer or its own timeout.
		attemptCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.timeout)
		defer cancel()
		if err := p.pub.Publish(attemptCtx, msg); err != nil {
			reason := publishErrorReason(err)
			p.metrics.publishErrors.WithLabelValues(reason).Inc()
			p.health.failed(reason, err)
			if errors.Is(err, messaging.ErrRejected) {
				// The server will never take this order: retrying it
				// would stall every order behind it for ever.
				return service.Stop(fmt.Errorf("order %s: %w", order.ID, err))
			}
			return err
		}
		p.health.ok()
		return nil
	})
	if err != nil {
		return err
	}
	p.published++
	p.metrics.published.Inc()
	// Logged in the publish span's trace, from the message's headers.
	p.log.InfoContext(p.tracing.FromMessage(ctx, msg), "published order", "order_id", order.ID, "product_id", order.ProductID, "quantity", order.Quantity)
	return nil
}
