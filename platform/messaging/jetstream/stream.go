// Package jetstream is the at-least-once transport over NATS JetStream:
// publishes count once the server stored them (de-duplicated by message
// id), and every subscriber replica binds to ONE durable pull consumer, so
// the replicas split the work like a queue group and a message not
// acknowledged within the ack wait is delivered again, to any replica.
package jetstream

import (
	"context"
	"fmt"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"
)

// StreamConfig is the stream's part of a service's environment. Producer
// and consumer both ensure the stream at start-up, so whichever starts
// first creates it; they must agree on these values.
type StreamConfig struct {
	Name            string        `envconfig:"STREAM_NAME" default:"ORDERS" desc:"JetStream stream holding the order events"`
	Subjects        []string      `envconfig:"STREAM_SUBJECTS" default:"orders.>" desc:"subjects the stream captures, comma-separated; must cover SUBJECT and DEAD_LETTER_SUBJECT"`
	Replicas        int           `envconfig:"STREAM_REPLICAS" default:"1" desc:"stream replicas (1, or 3 on a 3-node NATS cluster)"`
	MaxAge          time.Duration `envconfig:"STREAM_MAX_AGE" default:"168h" desc:"how long the stream keeps events"`
	DuplicateWindow time.Duration `envconfig:"STREAM_DUPLICATE_WINDOW" default:"2m" desc:"window in which a republished order id is stored once"`
}

// EnsureStream creates the stream or updates it to cfg; running it from
// every replica at start-up is safe.
func EnsureStream(ctx context.Context, js natsjs.JetStream, cfg StreamConfig) (natsjs.Stream, error) {
	s, err := js.CreateOrUpdateStream(ctx, natsjs.StreamConfig{
		Name:       cfg.Name,
		Subjects:   cfg.Subjects,
		Storage:    natsjs.FileStorage,
		Retention:  natsjs.LimitsPolicy,
		Replicas:   cfg.Replicas,
		MaxAge:     cfg.MaxAge,
		Duplicates: cfg.DuplicateWindow,
	})
	if err != nil {
		return nil, fmt.Errorf("ensure stream %s: %w", cfg.Name, err)
	}
	return s, nil
}
