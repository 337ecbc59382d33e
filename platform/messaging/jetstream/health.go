package jetstream

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// Sentinel errors of a subscription's health.
var (
	// ErrNotDelivering wraps every reason a subscription gives for not
	// delivering.
	ErrNotDelivering = errors.New("jetstream: subscription not delivering")
	// errUnconfirmed is the reason until the consumer's leader answered
	// once for the running consume loop.
	errUnconfirmed = errors.New("consumer leader not confirmed yet")
)

// health is what a subscription knows about its consume loop. Each
// (re)started loop is a generation; reports from an older loop (one being
// drained) are ignored, so a late error cannot unmark a newer loop.
type health struct {
	mu      sync.Mutex
	durable string
	gen     uint64
	err     error     // nil while delivering
	faulted bool      // the current generation reported a fault
	since   time.Time // start of the current stall; zero when none
	reason  string    // what started the current stall
}

func newHealth(durable string) *health {
	return &health{durable: durable, err: errUnconfirmed}
}

// Healthy implements messaging.HealthChecker.
func (h *health) Healthy() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err == nil {
		return nil
	}
	return fmt.Errorf("consumer %s: %w: %w", h.durable, ErrNotDelivering, h.err)
}

// begin starts generation gen; the loop stays unhealthy (with the reason
// it had) until confirm.
func (h *health) begin(gen uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.gen, h.faulted = gen, false
}

// fault records that generation gen stopped delivering. It reports whether
// this fault starts a stall (the loop was not already stalled).
func (h *health) fault(gen uint64, reason string, err error) (stallStarted bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if gen != h.gen {
		return false
	}
	h.faulted, h.err = true, err
	if !h.since.IsZero() {
		return false
	}
	h.since, h.reason = time.Now(), reason
	return true
}

// failed replaces the reason while no loop runs (ensuring the consumer
// failed, say) without starting a stall: the fault that stopped the last
// loop already did.
func (h *health) failed(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.err = err
}

// unconfirmed records why generation gen could not be confirmed yet,
// unless it faulted: the fault says more.
func (h *health) unconfirmed(gen uint64, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if gen == h.gen && !h.faulted && h.err != nil {
		h.err = fmt.Errorf("%w: %w", errUnconfirmed, err)
	}
}

// confirm marks generation gen delivering unless it faulted meanwhile. If
// it ends a stall it returns the stall's reason and duration.
func (h *health) confirm(gen uint64) (ended bool, reason string, took time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if gen != h.gen || h.faulted {
		return false, "", 0
	}
	h.err = nil
	if h.since.IsZero() {
		return false, "", 0
	}
	ended, reason, took = true, h.reason, time.Now().Sub(h.since)
	h.since, h.reason = time.Time{}, ""
	return ended, reason, took
}

// isFaulted reports whether generation gen faulted.
func (h *health) isFaulted(gen uint64) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return gen == h.gen && h.faulted
}
