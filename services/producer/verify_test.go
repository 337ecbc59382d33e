package main

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/distsys-go/orders/platform/ledger"
)

// records is a ledger reader holding the given order ids.
type records map[string]bool

func (r records) Get(_ context.Context, id string) (ledger.Record, error) {
	if !r[id] {
		return ledger.Record{}, errors.New("key not found")
	}
	return ledger.Record{OrderID: id}, nil
}

// Verification passes only when every published order is recorded: it
// fails naming a missing one, and refuses to prove anything from no
// orders at all.
func TestAwaitRecorded(t *testing.T) {
	tests := []struct {
		name    string
		ids     []string
		wantErr string
	}{
		{"all recorded", []string{"a", "b"}, ""},
		{"one missing", []string{"a", "lost", "b"}, "order lost not recorded"},
		{"nothing published", nil, errNothingToVerify.Error()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			err := awaitRecorded(ctx, records{"a": true, "b": true}, tc.ids, slog.New(slog.DiscardHandler))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("awaitRecorded: %v, want nil", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("awaitRecorded: %v, want an error with %q", err, tc.wantErr)
			}
		})
	}
}
