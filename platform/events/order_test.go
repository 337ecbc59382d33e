package events_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/distsys-go/orders/platform/events"
)

func TestDecodeOrder(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		want    error
	}{
		{"valid", `{"id":"order-1","product_id":"sku-1","quantity":2,"created_at":"2026-11-25T08:00:00Z"}`, nil},
		{"unknown field ignored", `{"id":"order-1","product_id":"sku-1","quantity":2,"created_at":"2026-11-25T08:00:00Z","coupon":"X"}`, nil},
		{"not json", `{"id":`, events.ErrMalformed},
		{"quantity is a string", `{"id":"order-1","product_id":"sku-1","quantity":"2","created_at":"2026-11-25T08:00:00Z"}`, events.ErrMalformed},
		{"created_at not a time", `{"id":"order-1","product_id":"sku-1","quantity":2,"created_at":"yesterday"}`, events.ErrMalformed},
		{"missing id", `{"product_id":"sku-1","quantity":2,"created_at":"2026-11-25T08:00:00Z"}`, events.ErrInvalid},
		{"id with a dot", `{"id":"order.1","product_id":"sku-1","quantity":2,"created_at":"2026-11-25T08:00:00Z"}`, events.ErrInvalid},
		{"id too long", `{"id":"` + strings.Repeat("a", 65) + `","product_id":"sku-1","quantity":2,"created_at":"2026-11-25T08:00:00Z"}`, events.ErrInvalid},
		{"missing product", `{"id":"order-1","quantity":2,"created_at":"2026-11-25T08:00:00Z"}`, events.ErrInvalid},
		{"zero quantity", `{"id":"order-1","product_id":"sku-1","quantity":0,"created_at":"2026-11-25T08:00:00Z"}`, events.ErrInvalid},
		{"quantity too large", `{"id":"order-1","product_id":"sku-1","quantity":1001,"created_at":"2026-11-25T08:00:00Z"}`, events.ErrInvalid},
		{"missing created_at", `{"id":"order-1","product_id":"sku-1","quantity":2}`, events.ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := events.DecodeOrder([]byte(tc.payload))
			if tc.want == nil {
				if err != nil {
					t.Fatalf("DecodeOrder: %v", err)
				}
				if e.ID != "order-1" || e.Quantity != 2 || !e.CreatedAt.Equal(time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)) {
					t.Errorf("decoded %+v", e)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("DecodeOrder error %v, want %v", err, tc.want)
			}
		})
	}
}

func TestNewOrderIDIsUniqueAndValid(t *testing.T) {
	seen := map[string]bool{}
	for range 10000 {
		id := events.NewOrderID()
		if seen[id] {
			t.Fatalf("duplicate id %s", id)
		}
		seen[id] = true
		e := events.OrderEvent{ID: id, ProductID: "p", Quantity: 1, CreatedAt: time.Now()}
		if err := e.Validate(); err != nil {
			t.Fatalf("generated id %s fails validation: %v", id, err)
		}
	}
}
