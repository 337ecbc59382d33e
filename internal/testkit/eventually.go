package testkit

import (
	"errors"
	"fmt"
	"time"
)

// Cond is what a wait polls: whether the awaited state holds and what it
// saw, which a failure (and, with Verbose, each progress line) prints apart
// from what was awaited: "awaiting X; seen: Y".
type Cond func() (ok bool, seen string)

// NoError makes a Cond of a check that returns why the state does not hold
// yet (nil once it does); that error is what was seen.
func NoError(check func() error) Cond {
	return func() (bool, string) {
		if err := check(); err != nil {
			return false, err.Error()
		}
		return true, ""
	}
}

// PollOption changes how Await and Eventually poll.
type PollOption func(*poll)

type poll struct {
	every   time.Duration
	verbose bool
}

// Every sets the pause between two polls (default 20ms). A condition that
// runs a command (kubectl) wants seconds, not milliseconds.
func Every(d time.Duration) PollOption { return func(p *poll) { p.every = d } }

// Verbose logs each new observation while waiting, so a long wait shows its
// progress as it goes rather than only when it times out.
func Verbose() PollOption { return func(p *poll) { p.verbose = true } }

// ErrTimeout is what Await returns when its bound passed first.
var ErrTimeout = errors.New("timed out")

// Logger is where a Verbose wait writes its progress; a testing.TB is one.
type Logger interface {
	Helper()
	Logf(format string, args ...any)
}

// Await polls cond until it holds and returns nil, or returns an error
// wrapping ErrTimeout once bound passed first. bound only limits how long a
// failing wait hangs; a passing one returns as soon as cond holds, so a
// loaded machine slows it without failing it. It is the one poll loop of
// the tests: Eventually is Await for a test that cannot go on without the
// state; Await itself serves a caller that reports what it can after a
// timeout (an audit) or that is not a test (test/bench).
func Await(log Logger, what string, bound time.Duration, cond Cond, opts ...PollOption) error {
	log.Helper()
	p := poll{every: 20 * time.Millisecond}
	for _, o := range opts {
		o(&p)
	}
	deadline := time.Now().Add(bound)
	logged := ""
	for {
		ok, seen := cond()
		if ok {
			return nil
		}
		if p.verbose && seen != logged {
			log.Logf("awaiting %s; seen: %s", what, seen)
			logged = seen
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("awaited %s for %s: %w; last seen: %s", what, bound, ErrTimeout, seen)
		}
		time.Sleep(p.every)
	}
}

// Eventually is Await that fails t when bound passes first.
func Eventually(t TB, what string, bound time.Duration, cond Cond, opts ...PollOption) {
	t.Helper()
	if err := Await(t, what, bound, cond, opts...); err != nil {
		t.Fatalf("%v", err)
	}
}
