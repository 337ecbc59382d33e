package events_test

import (
	"errors"
	"testing"
	"time"

	"github.com/distsys-go/orders/platform/events"
)

const (
	v1Body = `{"id":"order-1","product_id":"sku-1","quantity":2,"created_at":"2026-12-05T08:00:00Z"}`
	v2Body = `{"id":"order-1","lines":[{"sku":"sku-1","quantity":2,"unit_price":250}],"currency":"EUR","created_at":"2026-12-05T08:00:00Z"}`
)

// Decode tells a version's event from another's by its headers and by its
// body, and migrates what it accepts to the one model.
func TestDecode(t *testing.T) {
	typed := func(v events.Version) map[string]string {
		return map[string]string{events.HeaderSpecVersion: events.SpecVersion, events.HeaderType: v.Type}
	}
	tests := []struct {
		name   string
		v      events.Version
		header map[string]string
		body   string
		want   error
		reason string // the dead letter's, when want is not nil
		lines  []events.Line
	}{
		{"v1 without headers (before versions)", events.V1, nil, v1Body, nil, "", []events.Line{{SKU: "sku-1", Quantity: 2}}},
		{"v1 with its headers", events.V1, typed(events.V1), v1Body, nil, "", []events.Line{{SKU: "sku-1", Quantity: 2}}},
		{"v2 with its headers", events.V2, typed(events.V2), v2Body, nil, "", []events.Line{{SKU: "sku-1", Quantity: 2, UnitPrice: 250}}},
		{"a v2 body on the v1 subject", events.V1, nil, v2Body, events.ErrVersionMismatch, events.ReasonVersionMismatch, nil},
		{"a v1 body on the v2 subject", events.V2, nil, v1Body, events.ErrVersionMismatch, events.ReasonVersionMismatch, nil},
		{"a v2 type on the v1 subject", events.V1, typed(events.V2), v2Body, events.ErrVersionMismatch, events.ReasonVersionMismatch, nil},
		{"a v1 type on a v2 body", events.V2, typed(events.V1), v2Body, events.ErrVersionMismatch, events.ReasonVersionMismatch, nil},
		{"an unknown type", events.V1, map[string]string{events.HeaderSpecVersion: "1.0", events.HeaderType: events.TypePrefix + "v9"}, v1Body, events.ErrUnknownVersion, events.ReasonUnknownVersion, nil},
		{"an unknown CloudEvents version", events.V1, map[string]string{events.HeaderSpecVersion: "2.0", events.HeaderType: events.V1.Type}, v1Body, events.ErrUnknownVersion, events.ReasonUnknownVersion, nil},
		{"neither version's body", events.V2, nil, `{"id":"order-1"}`, events.ErrInvalid, events.ReasonInvalid, nil},
		{"not JSON", events.V2, nil, `{`, events.ErrMalformed, events.ReasonMalformed, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := tc.v.Decode(tc.header, []byte(tc.body))
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("Decode: %v, want %v", err, tc.want)
			}
			if tc.want != nil {
				if got := events.ReasonOf(err); got != tc.reason {
					t.Errorf("ReasonOf(%v) = %q, want %q", err, got, tc.reason)
				}
				return
			}
			if o.ID != "order-1" || o.Version != tc.v.Name || len(o.Lines) != len(tc.lines) || o.Lines[0] != tc.lines[0] {
				t.Errorf("decoded %+v", o)
			}
		})
	}
}

// What a version encodes, it decodes to the same order; what it cannot
// carry it refuses.
func TestEncodeRoundTrip(t *testing.T) {
	at := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		v    events.Version
		o    events.Order
		want error
	}{
		{"v1: one line, no price", events.V1, events.Order{ID: "order-1", Lines: []events.Line{{SKU: "a", Quantity: 1}}, CreatedAt: at}, nil},
		{"v1 cannot carry two lines", events.V1, events.Order{ID: "order-1", Lines: []events.Line{{SKU: "a", Quantity: 1}, {SKU: "b", Quantity: 1}}, CreatedAt: at}, events.ErrInvalid},
		{"v1 cannot carry a price", events.V1, events.Order{ID: "order-1", Lines: []events.Line{{SKU: "a", Quantity: 1, UnitPrice: 5}}, Currency: "EUR", CreatedAt: at}, events.ErrInvalid},
		{"v2: priced lines", events.V2, events.Order{ID: "order-1", Lines: []events.Line{{SKU: "a", Quantity: 1, UnitPrice: 5}, {SKU: "b", Quantity: 3}}, Currency: "EUR", CreatedAt: at}, nil},
		{"v2 needs a currency", events.V2, events.Order{ID: "order-1", Lines: []events.Line{{SKU: "a", Quantity: 1}}, CreatedAt: at}, events.ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data, err := tc.v.Encode(tc.o)
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("Encode: %v, want %v", err, tc.want)
			}
			if tc.want != nil {
				return
			}
			back, err := tc.v.Decode(tc.v.Headers(tc.o, "/test"), data)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if back.ID != tc.o.ID || back.Currency != tc.o.Currency || !back.CreatedAt.Equal(at) || len(back.Lines) != len(tc.o.Lines) {
				t.Errorf("round trip %+v, want %+v", back, tc.o)
			}
			for i := range back.Lines {
				if back.Lines[i] != tc.o.Lines[i] {
					t.Errorf("line %d: %+v, want %+v", i, back.Lines[i], tc.o.Lines[i])
				}
			}
		})
	}
}

// Each version has its own subject and durable; v1 keeps the names it
// had before versions.
func TestSubjectsAndDurables(t *testing.T) {
	for _, tc := range []struct {
		v                events.Version
		subject, durable string
	}{
		{events.V1, "orders.created", "fulfilment-workers"},
		{events.V2, "orders.created.v2", "fulfilment-workers-v2"},
	} {
		if got := tc.v.Subject("orders.created"); got != tc.subject {
			t.Errorf("%s subject %q, want %q", tc.v.Name, got, tc.subject)
		}
		if got := tc.v.Durable("fulfilment-workers"); got != tc.durable {
			t.Errorf("%s durable %q, want %q", tc.v.Name, got, tc.durable)
		}
	}
	if _, err := events.LookupVersion("v3"); !errors.Is(err, events.ErrUnknownVersion) {
		t.Errorf("LookupVersion(v3): %v, want ErrUnknownVersion", err)
	}
}
