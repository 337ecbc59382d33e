package service

import (
	"context"
	"log/slog"
	"time"
)

// Backoff bounds for Retry.
const (
	firstBackoff = 100 * time.Millisecond
	maxBackoff   = 5 * time.Second
)

// Retry calls fn until it succeeds or ctx ends, doubling the pause between
// attempts up to 5s and logging each failure. It returns ctx's error, or
// nil once fn succeeded.
func Retry(ctx context.Context, log *slog.Logger, what string, fn func(context.Context) error) error {
	backoff := firstBackoff
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		if err == nil {
			return nil
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
