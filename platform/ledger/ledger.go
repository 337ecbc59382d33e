// Package ledger records fulfilled orders. Recording an order is the
// consumer's unit of work AND its de-duplication mark in one atomic step:
// the record is created only if no record for that order id exists, so a
// redelivered or republished order is recognised whichever replica gets
// it, and a crash can neither lose the work (the mark is the work) nor
// double it (a second create fails).
package ledger

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/distsys-go/orders/platform/events"
)

var (
	// ErrAlreadyRecorded is returned for an order that was recorded before.
	ErrAlreadyRecorded = errors.New("order already recorded")
	// ErrFull is wrapped by a Record the ledger refused for lack of room
	// (its byte limit, or the server's JetStream storage, is used up). The
	// order was not recorded; it may be recorded once records expire or
	// the ledger grows.
	ErrFull = errors.New("ledger full")
	// ErrUnavailable is wrapped by a Record no server answered: the
	// bucket's stream has no leader (an election after a crash), the
	// connection is down, or the acknowledgement timed out. The order may
	// have been recorded (a timeout); a later Record then says
	// ErrAlreadyRecorded.
	ErrUnavailable = errors.New("ledger unavailable")
)

// Record is what the ledger keeps per fulfilled order.
type Record struct {
	OrderID string `json:"order_id"`
	// Version is the event version the order came as (v1, v2).
	Version string `json:"version,omitempty"`
	// ProductID and Quantity are a v1 order's one line, as every release
	// has recorded it.
	ProductID string `json:"product_id,omitempty"`
	Quantity  int    `json:"quantity,omitempty"`
	// Lines and Currency are a v2 order's (events.Order).
	Lines       []events.Line `json:"lines,omitempty"`
	Currency    string        `json:"currency,omitempty"`
	ProcessedBy string        `json:"processed_by"`
	ProcessedAt time.Time     `json:"processed_at"`
}

// Ledger records each order once.
type Ledger interface {
	// Record stores r unless its order is already recorded, in which case
	// it returns ErrAlreadyRecorded. Any other error is transient: the
	// order was not recorded and may be tried again.
	Record(ctx context.Context, r Record) error
}

var (
	_ Ledger = (*Memory)(nil)
	_ Ledger = (*KV)(nil)
)

// Memory is an in-process Ledger for unit tests.
type Memory struct {
	mu      sync.Mutex
	records map[string]Record
}

// NewMemory returns an empty in-process ledger.
func NewMemory() *Memory { return &Memory{records: map[string]Record{}} }

// Record implements Ledger.
func (m *Memory) Record(_ context.Context, r Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.records[r.OrderID]; ok {
		return ErrAlreadyRecorded
	}
	m.records[r.OrderID] = r
	return nil
}

// Records returns a copy of everything recorded, by order id.
func (m *Memory) Records() map[string]Record {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]Record, len(m.records))
	for k, v := range m.records {
		out[k] = v
	}
	return out
}
