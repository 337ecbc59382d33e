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
	Name     string   `envconfig:"STREAM_NAME" default:"ORDERS" desc:"JetStream stream holding the order events"`
	Subjects []string `envconfig:"STREAM_SUBJECTS" default:"orders.>" desc:"subjects the stream captures, comma-separated; must cover SUBJECT and the consumer's DEAD_LETTER_SUBJECT"`
	Replicas int      `envconfig:"STREAM_REPLICAS" default:"1" desc:"stream replicas (1, or 3 on a 3-node NATS cluster)"`
	// MaxBytes bounds the stream on disk. The stream is a work queue that
	// refuses new publishes when full (DiscardNew), so this is the largest
	// backlog of unprocessed orders plus dead letters it can hold.
	MaxBytes        int64         `envconfig:"STREAM_MAX_BYTES" default:"268435456" desc:"bytes the stream may hold (unprocessed orders and dead letters); when full, publishes are refused until consumers make room"`
	MaxAge          time.Duration `envconfig:"STREAM_MAX_AGE" default:"168h" desc:"how long an unprocessed order or a dead letter stays in the stream before it expires; 0 = until processed"`
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
	case c.MaxBytes < minStreamBytes:
		return fmt.Errorf("STREAM_MAX_BYTES=%d: want at least %d (one large order and its dead letter)", c.MaxBytes, minStreamBytes)
	case c.MaxAge < 0:
		return fmt.Errorf("STREAM_MAX_AGE=%s: must not be negative (0 keeps events forever)", c.MaxAge)
	case c.DuplicateWindow < 0:
		return fmt.Errorf("STREAM_DUPLICATE_WINDOW=%s: must not be negative", c.DuplicateWindow)
	case c.MaxAge > 0 && c.DuplicateWindow > c.MaxAge:
		return fmt.Errorf("STREAM_DUPLICATE_WINDOW=%s: must not exceed STREAM_MAX_AGE=%s", c.DuplicateWindow, c.MaxAge)
	}
	return nil
}

// minStreamBytes is the smallest STREAM_MAX_BYTES accepted: room for a few
// orders and dead letters, so that a typo (a size in MiB, not bytes) is
// refused at start rather than filling the stream at once.
const minStreamBytes = 64 << 10

// ErrRetentionChange is returned by EnsureStream when the stream exists with
// a retention policy the server cannot change in place; retrying cannot
// help, an operator must move the stream.
var ErrRetentionChange = errors.New("the stream's retention policy cannot be changed in place")

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
//
// The stream is a work queue: an order leaves it once the durable consumer
// acknowledged (or terminated) it, so its size follows the backlog, not the
// history. It refuses new publishes when full (DiscardNew) rather than
// dropping stored orders nobody processed (DiscardOld would). The server
// cannot turn a stream of another retention into a work queue; then
// EnsureStream returns ErrRetentionChange with what to do.
func EnsureStream(ctx context.Context, js natsjs.JetStream, cfg StreamConfig) (natsjs.Stream, error) {
	want := cfg.server()
	s, err := js.Stream(ctx, cfg.Name)
	if errors.Is(err, natsjs.ErrStreamNotFound) {
		s, err = js.CreateStream(ctx, want)
		if errors.Is(err, natsjs.ErrStreamNameAlreadyInUse) {
			// Another replica created it first, with another config.
			s, err = js.Stream(ctx, cfg.Name)
		}
	}
	if err == nil {
		have := s.CachedInfo().Config
		switch {
		case have.Retention != want.Retention:
			return nil, fmt.Errorf("ensure stream: STREAM_NAME=%s has retention %s, want %s: %w; "+
				"drain it (stop the producers, let the consumers empty it), then delete it (nats stream rm %s) and restart, see docs/kubernetes.md",
				cfg.Name, have.Retention, want.Retention, ErrRetentionChange, cfg.Name)
		case !sameStream(have, want):
			s, err = js.UpdateStream(ctx, want)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("ensure stream %s: %w", cfg.Name, err)
	}
	return s, nil
}

// server is the stream's configuration on the server.
func (c StreamConfig) server() natsjs.StreamConfig {
	return natsjs.StreamConfig{
		Name:       c.Name,
		Subjects:   c.Subjects,
		Storage:    natsjs.FileStorage,
		Retention:  natsjs.WorkQueuePolicy,
		Discard:    natsjs.DiscardNew,
		Replicas:   c.Replicas,
		MaxBytes:   c.MaxBytes,
		MaxAge:     c.MaxAge,
		Duplicates: c.DuplicateWindow,
	}
}

// sameStream compares the fields EnsureStream sets; the server fills in
// the rest.
func sameStream(have, want natsjs.StreamConfig) bool {
	return slices.Equal(have.Subjects, want.Subjects) && have.Storage == want.Storage &&
		have.Retention == want.Retention && have.Discard == want.Discard &&
		have.Replicas == want.Replicas && have.MaxBytes == want.MaxBytes &&
		have.MaxAge == want.MaxAge && have.Duplicates == want.Duplicates
}
