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

// Retry calls fn until it succeeds or ctx ends, doubling the pause between
// attempts up to 5s and logging each failure. It returns ctx's error, nil
// once fn succeeded, or at once the error fn wrapped with Permanent.
func Retry(ctx context.Context, log *slog.Logger, what string, fn func(context.Context) error) error {
	backoff := firstBackoff
	for attempt := 1; ; attempt++ {
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
		case <-ctx.Done():
			return ctx.Err()
		}
		backoff = min(2*backoff, maxBackoff)
	}
}
