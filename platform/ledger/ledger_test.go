package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/distsys-go/orders/platform/ledger"
	"github.com/distsys-go/orders/platform/natstest"
)

var cfg = ledger.Config{Bucket: "orders-processed", TTL: time.Hour, Replicas: 1}

func newKV(t *testing.T, srv *natstest.Server) *ledger.KV {
	t.Helper()
	js, err := natsjs.New(srv.Connect(t))
	if err != nil {
		t.Fatal(err)
	}
	kv, err := ledger.EnsureKV(context.Background(), js, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return kv
}

func TestLedgers(t *testing.T) {
	tests := []struct {
		name string
		// replicas returns ledgers that share state, as replicas do.
		replicas func(t *testing.T) []ledger.Ledger
	}{
		{"memory", func(*testing.T) []ledger.Ledger { m := ledger.NewMemory(); return []ledger.Ledger{m, m, m} }},
		{"jetstream kv", func(t *testing.T) []ledger.Ledger {
			srv := natstest.Run(t)
			return []ledger.Ledger{newKV(t, srv), newKV(t, srv), newKV(t, srv)}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			replicas := tc.replicas(t)
			// Every replica races to record the same 50 orders: each order
			// must be won by exactly one.
			const orders = 50
			var mu sync.Mutex
			wins := map[string]int{}
			var wg sync.WaitGroup
			for i, l := range replicas {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for n := range orders {
						id := fmt.Sprintf("order-%d", n)
						err := l.Record(context.Background(), ledger.Record{OrderID: id, ProductID: "p", Quantity: 1, ProcessedBy: fmt.Sprint(i)})
						switch {
						case err == nil:
							mu.Lock()
							wins[id]++
							mu.Unlock()
						case !errors.Is(err, ledger.ErrAlreadyRecorded):
							t.Errorf("record %s: %v", id, err)
						}
					}
				}()
			}
			wg.Wait()
			if len(wins) != orders {
				t.Fatalf("%d orders recorded, want %d", len(wins), orders)
			}
			for id, n := range wins {
				if n != 1 {
					t.Errorf("%s recorded %d times", id, n)
				}
			}
		})
	}
}

func TestKVRecordSurvivesAndReadsBack(t *testing.T) {
	srv := natstest.Run(t)
	kv := newKV(t, srv)
	at := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	want := ledger.Record{OrderID: "order-1", ProductID: "sku-1", Quantity: 3, ProcessedBy: "c-1", ProcessedAt: at}
	if err := kv.Record(context.Background(), want); err != nil {
		t.Fatal(err)
	}
	srv.Restart(t)
	again := newKV(t, srv) // EnsureKV on an existing bucket is fine
	if err := again.Record(context.Background(), want); !errors.Is(err, ledger.ErrAlreadyRecorded) {
		t.Fatalf("second record after restart: %v, want ErrAlreadyRecorded", err)
	}
	got, err := again.Get(context.Background(), "order-1")
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("read back %+v, want %+v", got, want)
	}
}
