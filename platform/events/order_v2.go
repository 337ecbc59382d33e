package events

import (
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"
)

// Bounds of a version 2 event.
const (
	// MaxLines bounds the lines of one order.
	MaxLines = 100
	// MaxSKU bounds a line's SKU in characters.
	MaxSKU = 64
	// MaxUnitPrice bounds a line's unit price, in minor units.
	MaxUnitPrice = 100_000_000
)

// OrderEventV2 is version 2 of the order-created event: line items with
// prices and the currency they are in. It is a breaking change against
// version 1 (product_id and quantity are gone), so it has its own
// subject.
type OrderEventV2 struct {
	ID string `json:"id"`
	// Lines are the products ordered, 1 to MaxLines.
	Lines []Line `json:"lines"`
	// Currency is an ISO 4217 code: three capital letters.
	Currency  string    `json:"currency"`
	CreatedAt time.Time `json:"created_at"`
}

// Validate reports the first thing wrong with e, wrapping ErrInvalid.
func (e OrderEventV2) Validate() error {
	if err := validID(e.ID); err != nil {
		return err
	}
	switch {
	case len(e.Lines) == 0:
		return fmt.Errorf("%w: no lines", ErrInvalid)
	case len(e.Lines) > MaxLines:
		return fmt.Errorf("%w: %d lines, more than %d", ErrInvalid, len(e.Lines), MaxLines)
	case !IsCurrency(e.Currency):
		return fmt.Errorf("%w: currency %q is not three capital letters (ISO 4217)", ErrInvalid, e.Currency)
	case e.CreatedAt.IsZero():
		return fmt.Errorf("%w: created_at is missing", ErrInvalid)
	}
	for i, l := range e.Lines {
		switch {
		case l.SKU == "":
			return fmt.Errorf("%w: lines[%d].sku is empty", ErrInvalid, i)
		case utf8.RuneCountInString(l.SKU) > MaxSKU:
			return fmt.Errorf("%w: lines[%d].sku longer than %d characters", ErrInvalid, i, MaxSKU)
		case l.Quantity < 1 || l.Quantity > MaxQuantity:
			return fmt.Errorf("%w: lines[%d].quantity %d outside 1..%d", ErrInvalid, i, l.Quantity, MaxQuantity)
		case l.UnitPrice < 0 || l.UnitPrice > MaxUnitPrice:
			return fmt.Errorf("%w: lines[%d].unit_price %d outside 0..%d", ErrInvalid, i, l.UnitPrice, MaxUnitPrice)
		}
	}
	return nil
}

// Order is e in the current model.
func (e OrderEventV2) Order() Order {
	return Order{ID: e.ID, Version: "v2", Lines: e.Lines, Currency: e.Currency, CreatedAt: e.CreatedAt}
}

// DecodeOrderV2 parses and validates one version 2 event; unknown fields
// are ignored. A line's unit_price is required: a missing or null price
// is an error, not a free line.
func DecodeOrderV2(data []byte) (OrderEventV2, error) {
	var w struct {
		OrderEventV2
		Lines []struct {
			Line
			UnitPrice *int64 `json:"unit_price"`
		} `json:"lines"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return OrderEventV2{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	e := w.OrderEventV2
	e.Lines = nil
	if w.Lines != nil {
		e.Lines = make([]Line, len(w.Lines))
	}
	for i, l := range w.Lines {
		if l.UnitPrice == nil {
			return OrderEventV2{}, fmt.Errorf("%w: lines[%d].unit_price is missing", ErrInvalid, i)
		}
		e.Lines[i] = Line{SKU: l.SKU, Quantity: l.Quantity, UnitPrice: *l.UnitPrice}
	}
	return e, e.Validate()
}

// IsCurrency reports whether s is an ISO 4217 code in form: three capital
// ASCII letters.
func IsCurrency(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := range 3 {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}
