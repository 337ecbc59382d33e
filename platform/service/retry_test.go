package service

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"
)

func TestRetry(t *testing.T) {
	errTransient, errFatal := errors.New("transient"), errors.New("fatal")
	woken := make(chan struct{})
	close(woken)
	for _, tc := range []struct {
		name     string
		failures int   // attempts that fail before one succeeds
		fail     error // what they fail with
		opts     []RetryOption
		// bound ends the retry: in 1s the pauses of 100ms, 200ms and 400ms
		// fit (4 attempts; the fifth is due at 1.5s), and any number of
		// immediate tries.
		bound        time.Duration
		want         error
		wantAttempts int
	}{
		{"succeeds at once", 0, nil, nil, time.Minute, nil, 1},
		{"succeeds after failures", 2, errTransient, nil, time.Minute, nil, 3},
		{"permanent error returned at once", 3, Permanent(errFatal), nil, time.Minute, errFatal, 1},
		{"pauses out its back-off", 5, errTransient, nil, time.Second, context.DeadlineExceeded, 4},
		{"woken pauses end at once", 5, errTransient, []RetryOption{WakeOn(func() <-chan struct{} { return woken })}, time.Second, nil, 6},
		{"a nil wake channel never wakes", 5, errTransient, []RetryOption{WakeOn(func() <-chan struct{} { return nil })}, time.Second, context.DeadlineExceeded, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), tc.bound)
			defer cancel()
			attempts := 0
			err := Retry(ctx, slog.New(slog.DiscardHandler), "test", func(context.Context) error {
				attempts++
				if attempts <= tc.failures {
					return tc.fail
				}
				return nil
			}, tc.opts...)
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Errorf("err %v, want %v", err, tc.want)
			}
			if attempts != tc.wantAttempts {
				t.Errorf("%d attempts, want %d", attempts, tc.wantAttempts)
			}
		})
	}
}

// TestRetryWokenDuringAttempt: an announcement that comes while an attempt
// runs (a new leader ending a publish to the old one) skips the pause
// after that attempt. Six failures would pause 100ms to 3.2s (6.3s) and
// overrun the bound; woken, they take no pause at all.
func TestRetryWokenDuringAttempt(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	next := make(chan struct{})
	attempts := 0
	err := Retry(ctx, slog.New(slog.DiscardHandler), "test", func(context.Context) error {
		attempts++
		if attempts > 6 {
			return nil
		}
		close(next) // the announcement, during the attempt
		next = make(chan struct{})
		return errors.New("sent to the old leader")
	}, WakeOn(func() <-chan struct{} { return next }))
	if err != nil || attempts != 7 {
		t.Errorf("err %v after %d attempts, want nil after 7", err, attempts)
	}
}
