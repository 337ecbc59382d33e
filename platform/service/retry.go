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

// stopError marks an error that another attempt cannot cure.
type stopError struct{ err error }

func (s *stopError) Error() string { return s.err.Error() }
func (s *stopError) Unwrap() error { return s.err }

// Stop wraps err so that Retry returns it at once instead of trying again:
// for a failure that no later attempt can cure (a message the server will
// never take, a stream that cannot be changed in place).
func Stop(err error) error { return &stopError{err} }

// Retry calls fn until it succeeds or ctx ends, doubling the pause between
// attempts up to 5s and logging each failure. It returns ctx's error, nil
// once fn succeeded, or at once the error fn wrapped with Stop.
func Retry(ctx context.Context, log *slog.Logger, what string, fn func(context.Context) error) error {
	backoff := firstBackoff
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		if err == nil {
			return nil
		}
		var stop *stopError
		if errors.As(err, &stop) {
			return stop.err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		log.Warn(what+" failed; retrying", "attempt", attempt, "backoff", backoff.String(), "error", err)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return ctx.Err()
		}
		backoff = min(2*backoff, maxBackoff)
	}
}
