package ops

import "sync/atomic"

// Readiness answers /readyz: ready while every check passes and shutdown
// has not begun. Shutdown needs its own state because a draining NATS
// connection still reports itself connected.
type Readiness struct {
	checks       []func() error
	shuttingDown atomic.Bool
}

// NewReadiness returns a Readiness that consults checks in order.
func NewReadiness(checks ...func() error) *Readiness {
	return &Readiness{checks: checks}
}

// ShutDown turns the service unready for good.
func (r *Readiness) ShutDown() { r.shuttingDown.Store(true) }

// Check returns nil when ready, else why not.
func (r *Readiness) Check() error {
	if r.shuttingDown.Load() {
		return ErrShuttingDown
	}
	for _, c := range r.checks {
		if err := c(); err != nil {
			return err
		}
	}
	return nil
}
