package main

import (
	"fmt"
	"sync"
	"time"
)

// publishHealth remembers whether the last publish attempt failed, so that
// /readyz says why a producer is not getting orders out (a full stream,
// say) instead of looking fine while it retries.
type publishHealth struct {
	now func() time.Time

	mu      sync.Mutex
	err     error
	reason  string
	since   time.Time
	retries int
}

// failed records a failed attempt.
func (h *publishHealth) failed(reason string, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err == nil {
		h.since = h.now()
	}
	h.err, h.reason = err, reason
	h.retries++
}

// ok records an acknowledged publish.
func (h *publishHealth) ok() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.err, h.reason, h.retries = nil, "", 0
}

// Check is a readiness check: nil unless the last attempt failed.
func (h *publishHealth) Check() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err == nil {
		return nil
	}
	return fmt.Errorf("publishing failing (%s) for %s, %d attempts: %w",
		h.reason, h.now().Sub(h.since).Round(time.Millisecond), h.retries, h.err)
}
