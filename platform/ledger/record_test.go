package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/distsys-go/orders/internal/natstest"
	"github.com/distsys-go/orders/internal/testkit"
	"github.com/distsys-go/orders/platform/ledger"
)

// bucket opens the ledger's bucket directly, as an operator would.
func bucket(t *testing.T, srv *natstest.Server) natsjs.KeyValue {
	t.Helper()
	js, err := natsjs.New(srv.Connect(t))
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.KeyValue(context.Background(), cfg.Name)
	if err != nil {
		t.Fatal(err)
	}
	return kv
}

// Records in flight together on one connection each get their own answer:
// of two concurrent records of an order exactly one wins, and every order
// ends recorded once.
func TestKVRecordsInFlightTogether(t *testing.T) {
	srv := natstest.Run(t)
	kv := newKV(t, srv)
	const orders = 200 // 400 records in flight at once on one connection
	var wins atomic.Int32
	var wg sync.WaitGroup
	for n := range 2 * orders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("order-%d", n%orders)
			switch err := kv.Record(context.Background(), ledger.Record{OrderID: id, ProductID: "p", Quantity: 1}); {
			case err == nil:
				wins.Add(1)
			case !errors.Is(err, ledger.ErrAlreadyRecorded):
				t.Errorf("record %s: %v", id, err)
			}
		}()
	}
	wg.Wait()
	if got := wins.Load(); got != orders {
		t.Errorf("%d records won, want %d", got, orders)
	}
	st, err := bucket(t, srv).Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Values() != orders {
		t.Errorf("bucket holds %d values, want %d", st.Values(), orders)
	}
}

// A key deleted or purged by an operator leaves a marker on its subject;
// the ledger records over it, as the bucket's Create does, instead of
// taking the marker for an earlier record.
func TestKVRecordsOverDeletedKey(t *testing.T) {
	tests := []struct {
		name   string
		remove func(context.Context, natsjs.KeyValue, string) error
	}{
		{"delete", func(ctx context.Context, kv natsjs.KeyValue, k string) error { return kv.Delete(ctx, k) }},
		{"purge", func(ctx context.Context, kv natsjs.KeyValue, k string) error { return kv.Purge(ctx, k) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := natstest.Run(t)
			kv := newKV(t, srv)
			ctx := context.Background()
			r := ledger.Record{OrderID: "order-1", ProductID: "p", Quantity: 1, ProcessedBy: "first"}
			if err := kv.Record(ctx, r); err != nil {
				t.Fatal(err)
			}
			if err := tc.remove(ctx, bucket(t, srv), r.OrderID); err != nil {
				t.Fatal(err)
			}
			r.ProcessedBy = "second"
			if err := kv.Record(ctx, r); err != nil {
				t.Fatalf("record over the marker: %v, want nil", err)
			}
			if err := kv.Record(ctx, r); !errors.Is(err, ledger.ErrAlreadyRecorded) {
				t.Errorf("record again: %v, want ErrAlreadyRecorded", err)
			}
			got, err := kv.Get(ctx, r.OrderID)
			if err != nil || got.ProcessedBy != "second" {
				t.Errorf("read back %+v, %v; want the second record", got, err)
			}
		})
	}
}

// A record that outlived the bucket's TTL leaves nothing behind: the order
// can be recorded again.
func TestKVRecordsAgainAfterTTL(t *testing.T) {
	srv := natstest.Run(t)
	short := cfg
	short.TTL = time.Second
	kv := newKVWith(t, srv, short)
	ctx := context.Background()
	r := ledger.Record{OrderID: "order-1", ProductID: "p", Quantity: 1}
	if err := kv.Record(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := kv.Record(ctx, r); !errors.Is(err, ledger.ErrAlreadyRecorded) {
		t.Fatalf("record within the TTL: %v, want ErrAlreadyRecorded", err)
	}
	testkit.Eventually(t, "the order is recorded again once its record expired", 30*time.Second, testkit.NoError(func() error {
		return kv.Record(ctx, r)
	}))
}

// A key that is not a valid subject token sequence is refused before
// anything is published.
func TestKVRecordRefusesInvalidKey(t *testing.T) {
	srv := natstest.Run(t)
	kv := newKV(t, srv)
	for _, key := range []string{"", "a b", "a.*", ">", ".a", "a.", "a..b", "a\r\nPUB x 1"} {
		err := kv.Record(context.Background(), ledger.Record{OrderID: key})
		if !errors.Is(err, natsjs.ErrInvalidKey) {
			t.Errorf("record %q: %v, want ErrInvalidKey", key, err)
		}
	}
	st, err := bucket(t, srv).Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Values() != 0 {
		t.Errorf("bucket holds %d values, want 0", st.Values())
	}
}
