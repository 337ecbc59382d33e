// Package jetstream is the at-least-once transport over NATS JetStream:
// publishes count once the server stored them (de-duplicated by message
// id), and every subscriber replica binds to ONE durable pull consumer, so
// the replicas split the work like a queue group and a message not
// acknowledged within the ack wait is delivered again, to any replica.
package jetstream

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/distsys-go/orders/platform/messaging"
)

// StreamConfig is the stream's part of a service's environment. Producer
// and consumer both ensure the stream at start-up, so whichever starts
// first creates it; they must agree on these values.
type StreamConfig struct {
	Name            string        `envconfig:"STREAM_NAME" default:"ORDERS" desc:"JetStream stream holding the order events"`
	Subjects        []string      `envconfig:"STREAM_SUBJECTS" default:"orders.>" desc:"subjects the stream captures, comma-separated; must cover SUBJECT and the consumer's DEAD_LETTER_SUBJECT"`
	Replicas        int           `envconfig:"STREAM_REPLICAS" default:"1" desc:"stream replicas (1, or 3 on a 3-node NATS cluster)"`
	MaxAge          time.Duration `envconfig:"STREAM_MAX_AGE" default:"168h" desc:"how long the stream keeps events"`
	DuplicateWindow time.Duration `envconfig:"STREAM_DUPLICATE_WINDOW" default:"2m" desc:"window in which a republished order id is stored once"`
}

// Validate implements config.Validator.
func (c StreamConfig) Validate() error {
	if err := messaging.CheckName(c.Name); err != nil {
		return fmt.Errorf("STREAM_NAME=%q: %w", c.Name, err)
	}
	if len(c.Subjects) == 0 {
		return errors.New("STREAM_SUBJECTS: at least one subject is needed")
	}
	for _, s := range c.Subjects {
		if err := messaging.CheckFilter(s); err != nil {
			return fmt.Errorf("STREAM_SUBJECTS: %q: %w", s, err)
		}
	}
	switch {
	case c.Replicas < 1 || c.Replicas > 5:
		return fmt.Errorf("STREAM_REPLICAS=%d: want 1 to 5", c.Replicas)
	case c.MaxAge < 0:
		return fmt.Errorf("STREAM_MAX_AGE=%s: must not be negative (0 keeps events forever)", c.MaxAge)
	case c.DuplicateWindow < 0:
		return fmt.Errorf("STREAM_DUPLICATE_WINDOW=%s: must not be negative", c.DuplicateWindow)
	case c.MaxAge > 0 && c.DuplicateWindow > c.MaxAge:
		return fmt.Errorf("STREAM_DUPLICATE_WINDOW=%s: must not exceed STREAM_MAX_AGE=%s", c.DuplicateWindow, c.MaxAge)
	}
	return nil
}

// CheckCaptures returns an error naming variable unless the stream stores
// messages published on subject, its value: a publish the stream does not
// capture is never acknowledged, a consumer on it never gets anything.
func (c StreamConfig) CheckCaptures(variable, subject string) error {
	for _, filter := range c.Subjects {
		if messaging.SubjectMatches(filter, subject) {
			return nil
		}
	}
	return fmt.Errorf("%s=%q is not captured by STREAM_SUBJECTS=%s", variable, subject, strings.Join(c.Subjects, ","))
}

// EnsureStream creates the stream or updates it to cfg; running it from
// every replica at start-up is safe. A stream that already has cfg is left
// alone, so that replicas starting do not rewrite the configuration under
// the others' consumers: the race detector reported a data race in
// nats-server v2.15.2 between a stream update and a consumer being created
// on that stream, in our system tests.
func EnsureStream(ctx context.Context, js natsjs.JetStream, cfg StreamConfig) (natsjs.Stream, error) {
	want := natsjs.StreamConfig{
		Name:       cfg.Name,
		Subjects:   cfg.Subjects,
		Storage:    natsjs.FileStorage,
		Retention:  natsjs.LimitsPolicy,
		Replicas:   cfg.Replicas,
		MaxAge:     cfg.MaxAge,
		Duplicates: cfg.DuplicateWindow,
	}
	s, err := js.Stream(ctx, cfg.Name)
	if errors.Is(err, natsjs.ErrStreamNotFound) {
		s, err = js.CreateStream(ctx, want)
		if errors.Is(err, natsjs.ErrStreamNameAlreadyInUse) {
			// Another replica created it first, with another config.
			s, err = js.Stream(ctx, cfg.Name)
		}
	}
	if err == nil && !sameStream(s.CachedInfo().Config, want) {
		s, err = js.UpdateStream(ctx, want)
	}
	if err != nil {
		return nil, fmt.Errorf("ensure stream %s: %w", cfg.Name, err)
	}
	return s, nil
}

// sameStream compares the fields EnsureStream sets; the server fills in
// the rest.
func sameStream(have, want natsjs.StreamConfig) bool {
	return slices.Equal(have.Subjects, want.Subjects) && have.Storage == want.Storage &&
		have.Retention == want.Retention && have.Replicas == want.Replicas &&
		have.MaxAge == want.MaxAge && have.Duplicates == want.Duplicates
}
