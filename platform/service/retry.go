package service

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// Backoff bounds for Retry.
const (
	firstBackoff = 100 * time.Millisecond
	maxBackoff   = 5 * time.Second
)

// permanentError marks an error that another attempt cannot cure.
type permanentError struct{ err error }

func (p *permanentError) Error() string { return p.err.Error() }
func (p *permanentError) Unwrap() error { return p.err }

// Permanent wraps err so that Retry returns it at once instead of trying
// again: for a failure that no later attempt can cure (a message the
// server will never take, a stream that cannot be changed in place).
func Permanent(err error) error { return &permanentError{err} }

// RetryOption changes how Retry pauses.
type RetryOption func(*retryOptions)

type retryOptions struct {
	wake func() <-chan struct{}
}

// WakeOn ends a pause early when the channel wake returned before it is
// closed, and starts the back-off over: for an event after which the next
// attempts are likely to succeed (a stream's new leader, say), so they
// need not wait out a back-off grown during the outage. wake is called
// before each attempt, so an event during the attempt (often what ended
// it) skips the pause after it. A nil channel never wakes.
func WakeOn(wake func() <-chan struct{}) RetryOption {
	return func(o *retryOptions) { o.wake = wake }
}

// Retry calls fn until it succeeds or ctx ends, doubling the pause between
// attempts up to 5s and logging each failure. It returns ctx's error, nil
// once fn succeeded, or at once the error fn wrapped with Permanent.
func Retry(ctx context.Context, log *slog.Logger, what string, fn func(context.Context) error, opts ...RetryOption) error {
	var o retryOptions
	for _, opt := range opts {
		opt(&o)
	}
	backoff := firstBackoff
	for attempt := 1; ; attempt++ {
		var wake <-chan struct{}
		if o.wake != nil {
			wake = o.wake()
		}
		err := fn(ctx)
		if err == nil {
			return nil
		}
		var permanent *permanentError
		if errors.As(err, &permanent) {
			return permanent.err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		log.Warn(what+" failed; retrying", "attempt", attempt, "backoff", backoff.String(), "error", err)
		select {
		case <-time.After(backoff):
			backoff = min(2*backoff, maxBackoff)
		case <-wake:
			// What was awaited may need a moment more (a new leader
			// announces itself before it serves): start the back-off over.
			backoff = firstBackoff
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
