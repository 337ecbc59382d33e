// Package service holds what every orders service does the same way: read
// its settings, log, connect to NATS, serve its operational endpoints,
// retry start-up steps, and shut down in order.
package service

import (
	"fmt"
	"time"

	"github.com/distsys-go/orders/platform/messaging"
)

// Delivery modes, the values of DELIVERY_MODE.
const (
	// ModeJetStream is at-least-once: orders are stored in a stream and
	// survive restarts and rolling deploys of either side. The default.
	ModeJetStream = "jetstream"
	// ModeCore is at-most-once core NATS with a queue group, as in the
	// book: an order published while no consumer listens is gone.
	ModeCore = "core"
)

// Settings are the variables both services read besides the NATS, HTTP and
// logging ones.
type Settings struct {
	Instance      string        `envconfig:"INSTANCE" desc:"name of this replica in logs and NATS (default: the host name, i.e. the pod name)"`
	DeliveryMode  string        `envconfig:"DELIVERY_MODE" default:"jetstream" desc:"jetstream (at-least-once, survives restarts) or core (at-most-once core NATS)"`
	Subject       string        `envconfig:"SUBJECT" default:"orders.created" desc:"subject order events are published on"`
	ShutdownGrace time.Duration `envconfig:"SHUTDOWN_GRACE" default:"20s" desc:"how long shutdown may take to finish work in hand before giving up"`
}

// Validate implements config.Validator.
func (s Settings) Validate() error {
	switch s.DeliveryMode {
	case ModeJetStream, ModeCore:
	default:
		return fmt.Errorf("DELIVERY_MODE=%q: want %q or %q", s.DeliveryMode, ModeJetStream, ModeCore)
	}
	if err := messaging.CheckSubject(s.Subject); err != nil {
		return fmt.Errorf("SUBJECT=%q: %w", s.Subject, err)
	}
	if s.ShutdownGrace <= 0 {
		return fmt.Errorf("SHUTDOWN_GRACE=%s: must be positive", s.ShutdownGrace)
	}
	return nil
}

// Check is a rule between a service's own variables and the shared ones
// in Settings; pass it to Start among the specs. It runs once everything
// is loaded and validated, before anything connects.
type Check func(Settings) error
