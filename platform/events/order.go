// Package events holds the event types the producer and the consumer
// exchange. Both sides import it, so the wire format has one definition.
package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nuid"
)

// Errors returned by DecodeOrder, told apart so dead letters say why.
var (
	// ErrMalformed: the payload is not an OrderEvent in JSON (bad syntax,
	// a field of the wrong type).
	ErrMalformed = errors.New("malformed order event")
	// ErrInvalid: the event decoded but breaks a rule (a missing field, a
	// quantity out of range).
	ErrInvalid = errors.New("invalid order event")
)

// MaxQuantity bounds a single order line.
const MaxQuantity = 1000

// OrderEvent is published when an order is created.
type OrderEvent struct {
	ID        string    `json:"id"`
	ProductID string    `json:"product_id"`
	Quantity  int       `json:"quantity"`
	CreatedAt time.Time `json:"created_at"`
}

// NewOrderID returns an order id that is unique across producer replicas
// and restarts: a NUID is 22 characters drawn from a crypto-random prefix
// and a sequence, so no coordination or persisted counter is needed (the
// book's counter restarts at order-0001 and would collide).
func NewOrderID() string { return "order-" + nuid.Next() }

// Validate reports the first thing wrong with e, wrapping ErrInvalid.
func (e OrderEvent) Validate() error {
	switch {
	case e.ID == "":
		return fmt.Errorf("%w: id is empty", ErrInvalid)
	case len(e.ID) > 64:
		return fmt.Errorf("%w: id longer than 64 bytes", ErrInvalid)
	case !isToken(e.ID):
		return fmt.Errorf("%w: id %q has characters other than letters, digits, '-' and '_'", ErrInvalid, e.ID)
	case e.ProductID == "":
		return fmt.Errorf("%w: product_id is empty", ErrInvalid)
	case e.Quantity < 1 || e.Quantity > MaxQuantity:
		return fmt.Errorf("%w: quantity %d outside 1..%d", ErrInvalid, e.Quantity, MaxQuantity)
	case e.CreatedAt.IsZero():
		return fmt.Errorf("%w: created_at is missing", ErrInvalid)
	}
	return nil
}

// DecodeOrder parses and validates one event. Unknown fields are ignored,
// so a producer may add one before every consumer is rolled out.
func DecodeOrder(data []byte) (OrderEvent, error) {
	var e OrderEvent
	if err := json.Unmarshal(data, &e); err != nil {
		return OrderEvent{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return e, e.Validate()
}

// isToken reports whether s is made of letters, digits, '-' and '_' only:
// the id becomes a key in the processed-orders bucket and a NATS message id.
func isToken(s string) bool {
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
		default:
			return false
		}
	}
	return true
}
