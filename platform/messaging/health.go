package messaging

// HealthChecker is implemented by a Subscription that can tell whether it
// is delivering. It is optional: transports whose subscriptions cannot
// silently stall (core NATS, memory) do not implement it, so callers test
// for it with a type assertion.
type HealthChecker interface {
	// Healthy returns nil while the subscription delivers, else why it
	// cannot.
	Healthy() error
}
