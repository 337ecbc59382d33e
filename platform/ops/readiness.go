package ops

import (
	"errors"
	"sync/atomic"
)

// ErrStarting is the readiness error until the service marks itself started.
var ErrStarting = errors.New("starting")

// Readiness answers /readyz: ready once the service has started, while
// every check passes, and until shutdown begins. Shutdown needs its own
// state because a draining NATS connection still reports itself connected.
type Readiness struct {
	checks       []func() error
	started      atomic.Bool
	shuttingDown atomic.Bool
}

// NewReadiness returns a Readiness that consults checks in order.
func NewReadiness(checks ...func() error) *Readiness {
	return &Readiness{checks: checks}
}

// Started marks the end of start-up (stream ensured, subscribed, …).
func (r *Readiness) Started() { r.started.Store(true) }

// ShutDown turns the service unready for good.
func (r *Readiness) ShutDown() { r.shuttingDown.Store(true) }

// Check returns nil when ready, else why not. A failing check is
// reported even during start-up, so that /readyz says "nats unreachable"
// rather than only "starting" while a pod waits for its server.
func (r *Readiness) Check() error {
	if r.shuttingDown.Load() {
		return ErrShuttingDown
	}
	for _, c := range r.checks {
		if err := c(); err != nil {
			return err
		}
	}
	if !r.started.Load() {
		return ErrStarting
	}
	return nil
}
