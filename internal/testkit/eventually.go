package testkit

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// PollOption changes how Eventually polls.
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

// Eventually polls cond until it reports true, and fails t when bound
// passes first. cond returns whether the awaited state holds and what it
// saw, which the failure (and, with Verbose, each progress line) prints
// apart from what was awaited: "awaiting X; seen: Y". bound only limits
// how long a failing test hangs; a passing one returns as soon as cond
// holds, so a loaded machine slows it without failing it.
func Eventually(t testing.TB, what string, bound time.Duration, cond func() (bool, string), opts ...PollOption) {
	t.Helper()
	if err := Await(t, what, bound, cond, opts...); err != nil {
		t.Fatal(err)
	}
}

// ErrTimeout is what Await returns when bound passed first.
var ErrTimeout = errors.New("timed out")

// Await is Eventually for a test that goes on after a timeout (an audit
// that still reports what it can): it returns an error wrapping ErrTimeout
// instead of failing t.
func Await(t testing.TB, what string, bound time.Duration, cond func() (bool, string), opts ...PollOption) error {
	t.Helper()
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
			t.Logf("awaiting %s; seen: %s", what, seen)
			logged = seen
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("awaited %s for %s: %w; last seen: %s", what, bound, ErrTimeout, seen)
		}
		time.Sleep(p.every)
	}
}

// Until is Eventually within Bound for a condition with nothing to say
// about what it saw.
func Until(t testing.TB, what string, cond func() bool) {
	t.Helper()
	Eventually(t, what, Bound, func() (bool, string) { return cond(), "" })
}

// EventuallyNil is Eventually for a condition that returns why it does
// not hold yet (nil once it does); the last such error is what was seen.
func EventuallyNil(t testing.TB, what string, bound time.Duration, cond func() error) {
	t.Helper()
	Eventually(t, what, bound, func() (bool, string) {
		if err := cond(); err != nil {
			return false, err.Error()
		}
		return true, ""
	})
}
