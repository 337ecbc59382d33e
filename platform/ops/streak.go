package ops

import (
	"fmt"
	"sync"
	"time"
)

// Streak is a readiness check for work that keeps failing for a reason
// outside the service (a full stream, a full ledger): from the first
// failure until the next success it makes /readyz say what fails, why,
// for how long and how often, rather than look fine while retries pile up.
type Streak struct {
	what string
	now  func() time.Time

	mu       sync.Mutex
	err      error
	reason   string
	since    time.Time
	attempts int
}

// NewStreak returns a Streak for what ("publishing", say), using now for
// its durations (time.Now when nil).
func NewStreak(what string, now func() time.Time) *Streak {
	if now == nil {
		now = time.Now
	}
	return &Streak{what: what, now: now}
}

// Failed records a failed attempt and reports whether it began a streak
// (the first failure after a success), so the caller can log once.
func (s *Streak) Failed(reason string, err error) (began bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	began = s.err == nil
	if began {
		s.since = s.now()
	}
	s.err, s.reason = err, reason
	s.attempts++
	return began
}

// OK records a success and reports how long the streak it ended lasted
// (zero when there was none).
func (s *Streak) OK() (ended time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		ended = s.now().Sub(s.since)
	}
	s.err, s.reason, s.attempts = nil, "", 0
	return ended
}

// Check implements a readiness check: nil unless the last attempt failed.
// The error wraps the last attempt's error.
func (s *Streak) Check() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		return nil
	}
	return fmt.Errorf("%s failing (%s) for %s, %d attempts: %w",
		s.what, s.reason, s.now().Sub(s.since).Round(time.Millisecond), s.attempts, s.err)
}
