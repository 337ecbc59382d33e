package jetstream

import (
	"context"
	"fmt"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"
)

// ConsumerConfig is the durable consumer's part of the consumer service's
// environment.
type ConsumerConfig struct {
	AckWait       time.Duration `envconfig:"ACK_WAIT" default:"30s" desc:"how long a delivered order may stay unacknowledged before it is redelivered"`
	MaxAckPending int           `envconfig:"MAX_ACK_PENDING" default:"5120" desc:"unacknowledged orders the durable consumer allows across all replicas; below replicas x (CONCURRENCY + PULL_MAX_MESSAGES) the replicas past it wait (the default fits 10 replicas of the defaults)"`
	// PullMaxMessages bounds what one replica buffers: keep it times the
	// handling time well under AckWait, or buffered messages time out.
	PullMaxMessages int `envconfig:"PULL_MAX_MESSAGES" default:"256" desc:"orders one replica buffers ahead of its handlers; less than CONCURRENCY leaves pipelined ledger writes waiting on the pull"`
	// MaxDeliver bounds the deliveries of one message, so that none loops
	// for ever. The consumer backs off 1s, 2s, ... (at most 30s) between
	// failed attempts: 20 deliveries span 1+2+...+19 = 190s, about three
	// minutes, before the order is dead-lettered as max-deliveries.
	MaxDeliver int `envconfig:"MAX_DELIVER" default:"20" desc:"deliveries of one order before it is dead-lettered as max-deliveries; with the 1s, 2s, ... (at most 30s) back-off, 20 retries a failing order for about 3 minutes (1+2+...+19 = 190s)"`
}

// Validate implements config.Validator.
func (c ConsumerConfig) Validate() error {
	switch {
	case c.AckWait <= 0:
		return fmt.Errorf("ACK_WAIT=%s: must be positive", c.AckWait)
	case c.MaxAckPending < 1:
		return fmt.Errorf("MAX_ACK_PENDING=%d: must be at least 1", c.MaxAckPending)
	case c.PullMaxMessages < 1:
		return fmt.Errorf("PULL_MAX_MESSAGES=%d: must be at least 1", c.PullMaxMessages)
	case c.MaxDeliver < 1:
		return fmt.Errorf("MAX_DELIVER=%d: must be at least 1 (1 = never redeliver)", c.MaxDeliver)
	}
	return nil
}

// durable is the server-side configuration of the shared durable consumer
// named name, filtered on subject. There is deliberately no inactivity
// threshold: the consumer is shared and must outlive every replica. The
// server stops delivering a message after MaxDeliver deliveries and
// announces it with a max-deliveries advisory (see WatchMaxDeliveries).
func (c ConsumerConfig) durable(name, subject string) natsjs.ConsumerConfig {
	return natsjs.ConsumerConfig{
		Durable:       name,
		FilterSubject: subject,
		AckPolicy:     natsjs.AckExplicitPolicy,
		AckWait:       c.AckWait,
		MaxAckPending: c.MaxAckPending,
		DeliverPolicy: natsjs.DeliverAllPolicy,
		MaxDeliver:    c.MaxDeliver,
	}
}

// EnsureConsumer creates the durable consumer named durable on stream,
// filtered on subject, or updates it to cfg: what the Subscriber does
// when it starts, done ahead by whatever provisions the stream, so that
// the durable (and its lag, which autoscalers read) exists before the
// first replica runs.
func EnsureConsumer(ctx context.Context, js natsjs.JetStream, stream, durable, subject string, cfg ConsumerConfig) error {
	if _, err := js.CreateOrUpdateConsumer(ctx, stream, cfg.durable(durable, subject)); err != nil {
		return fmt.Errorf("ensure consumer %s on %s: %w", durable, stream, err)
	}
	return nil
}
