// Package service holds what every orders service does the same way: read
// its one typed config, log, connect to NATS, serve its operational
// endpoints, build its transport, retry start-up steps, and shut down in
// order. A service's main is one call to Main with a function that wires
// the service; the runtime owns everything before and after it.
package service

import (
	"fmt"
	"time"

	"github.com/distsys-go/orders/platform/messaging"
	"github.com/distsys-go/orders/platform/messaging/jetstream"
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

// Settings are the variables every service reads about itself.
type Settings struct {
	Instance      string        `envconfig:"INSTANCE" desc:"name of this replica in logs and NATS (default: the host name, i.e. the pod name)"`
	DeliveryMode  string        `envconfig:"DELIVERY_MODE" default:"jetstream" desc:"jetstream (at-least-once, survives restarts) or core (at-most-once core NATS)"`
	Subject       string        `envconfig:"SUBJECT" default:"orders.created" desc:"subject order events are published on"`
	ShutdownGrace time.Duration `envconfig:"SHUTDOWN_GRACE" default:"20s" desc:"how long shutdown may take to finish work in hand before giving up"`
	// Provision is off where a NATS user of its own provisions (the
	// chart's provision Job): the services' users may not create streams.
	Provision bool `envconfig:"PROVISION" default:"true" desc:"create or update the stream and the ledger bucket at start; false: wait until they exist (made by 'consumer provision')"`
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

// Env is the part of the environment every service's config shares: who
// it is and how its messages are delivered (the mode and, on JetStream,
// the stream). Embed it in the service's config; the runtime reads it
// from there.
type Env struct {
	Settings
	jetstream.StreamConfig
}

// Validate implements config.Validator: each part, and on JetStream that
// the stream captures SUBJECT.
func (e Env) Validate() error {
	if err := e.Settings.Validate(); err != nil {
		return err
	}
	if err := e.StreamConfig.Validate(); err != nil {
		return err
	}
	return e.Delivers("SUBJECT", e.Subject)
}

// Delivers returns an error naming variable unless the transport delivers
// messages published on subject, its value: on JetStream the stream must
// capture it (a publish it does not capture is never acknowledged); core
// NATS delivers every subject.
func (e Env) Delivers(variable, subject string) error {
	if e.DeliveryMode != ModeJetStream {
		return nil
	}
	return e.CheckCaptures(variable, subject)
}

// Redelivers reports whether the transport delivers a message again when
// it is not acknowledged (JetStream), so that rules about redeliveries
// (ack wait, max deliveries) apply.
func (e Env) Redelivers() bool { return e.DeliveryMode == ModeJetStream }

// env lets the runtime find the Env embedded in a service's config.
func (e *Env) env() *Env { return e }

// Config is a service's one typed configuration: a struct that embeds Env
// and whose other fields are the parts it reads (structs with envconfig
// tags; a part that has a Validate method checks its own variables).
// Its own Validate checks the rules across the parts, once every part is
// loaded and valid; an error names the variables.
type Config interface {
	Validate() error
	env() *Env
}
