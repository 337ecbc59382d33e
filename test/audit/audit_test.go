package audit

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go"
)

func TestRetrierAgain(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name  string
		ctx   context.Context
		err   error
		tries int
		want  bool
	}{
		{"no responders, right after a restart", context.Background(), fmt.Errorf("fetch: %w", nats.ErrNoResponders), 0, true},
		{"timeout", context.Background(), nats.ErrTimeout, 3, true},
		{"another error is the audit's", context.Background(), errors.New("stream not found"), 0, false},
		{"too many in a row", context.Background(), nats.ErrNoResponders, 15, false},
		{"the audit's time is up", cancelled, nats.ErrNoResponders, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := retrier{tries: tc.tries}
			if got := r.again(tc.ctx, tc.err); got != tc.want {
				t.Errorf("again(%v) after %d tries = %v, want %v", tc.err, tc.tries, got, tc.want)
			}
		})
	}
}
