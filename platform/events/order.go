// Package events holds the events the producer and the consumer exchange,
// in every version still on the wire, and the model the consumer works
// on. Both sides import it, so the wire format has one definition; the
// contracts in schemas/ and asyncapi.yaml describe the same (tests keep
// them equal).
package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nuid"
)

// Errors returned by the decoders, told apart so dead letters say why.
var (
	// ErrMalformed: the payload is not the version's event in JSON (bad
	// syntax, a field of the wrong type).
	ErrMalformed = errors.New("malformed order event")
	// ErrInvalid: the event decoded but breaks a rule (a missing field, a
	// quantity out of range).
	ErrInvalid = errors.New("invalid order event")
	// ErrUnknownVersion: the message says it is an event of a version this
	// build does not know (its ce-type or ce-specversion): a newer
	// consumer may read it.
	ErrUnknownVersion = errors.New("unknown event version")
	// ErrVersionMismatch: the message is of one version and came on
	// another version's subject, or says it is one version and its body
	// is another's.
	ErrVersionMismatch = errors.New("event version mismatch")
)

// MaxQuantity bounds a single order line.
const MaxQuantity = 1000

// maxID bounds an order id: it becomes a ledger key and a message id.
const maxID = 64

// Order is an order as the consumer processes it, whatever version of
// the event brought it: each version's decoder migrates to this model.
type Order struct {
	ID string
	// Version is the event version it arrived as (Version.Name).
	Version string
	Lines   []Line
	// Currency is the ISO 4217 code of the lines' prices; "" when the
	// event had no prices (v1).
	Currency  string
	CreatedAt time.Time
}

// Line is one product of an order. UnitPrice is in the currency's minor
// unit (cents); 0 when the event had no price (v1).
type Line struct {
	SKU       string `json:"sku"`
	Quantity  int    `json:"quantity"`
	UnitPrice int64  `json:"unit_price"`
}

// OrderEvent is version 1 of the order-created event: one product and a
// quantity, no price.
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
	if err := validID(e.ID); err != nil {
		return err
	}
	switch {
	case e.ProductID == "":
		return fmt.Errorf("%w: product_id is empty", ErrInvalid)
	case e.Quantity < 1 || e.Quantity > MaxQuantity:
		return fmt.Errorf("%w: quantity %d outside 1..%d", ErrInvalid, e.Quantity, MaxQuantity)
	case e.CreatedAt.IsZero():
		return fmt.Errorf("%w: created_at is missing", ErrInvalid)
	}
	return nil
}

// Order migrates e to the current model: one line without a price.
func (e OrderEvent) Order() Order {
	return Order{ID: e.ID, Version: "v1", Lines: []Line{{SKU: e.ProductID, Quantity: e.Quantity}}, CreatedAt: e.CreatedAt}
}

// DecodeOrder parses and validates one version 1 event. Unknown fields
// are ignored, so a producer may add one before every consumer is rolled
// out.
func DecodeOrder(data []byte) (OrderEvent, error) {
	var e OrderEvent
	if err := json.Unmarshal(data, &e); err != nil {
		return OrderEvent{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return e, e.Validate()
}

// validID reports what is wrong with an order id, wrapping ErrInvalid.
func validID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("%w: id is empty", ErrInvalid)
	case len(id) > maxID:
		return fmt.Errorf("%w: id longer than %d bytes", ErrInvalid, maxID)
	case !isToken(id):
		return fmt.Errorf("%w: id %q has characters other than letters, digits, '-' and '_'", ErrInvalid, id)
	}
	return nil
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
