package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/distsys-go/orders/internal/natstest"
	"github.com/distsys-go/orders/platform/ledger"
)

var cfg = ledger.Config{Bucket: ledger.Bucket{Name: "orders-processed"}, TTL: time.Hour, MaxBytes: 8 << 20, Replicas: 1}

func newKV(t *testing.T, srv *natstest.Server) *ledger.KV {
	t.Helper()
	return newKVWith(t, srv, cfg)
}

func newKVWith(t *testing.T, srv *natstest.Server, cfg ledger.Config) *ledger.KV {
	t.Helper()
	js, err := natsjs.New(srv.Connect(t))
	if err != nil {
		t.Fatal(err)
	}
	kv, err := ledger.Ensure(context.Background(), js, cfg)
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
	again := newKV(t, srv) // Ensure on an existing bucket is fine
	if err := again.Record(context.Background(), want); !errors.Is(err, ledger.ErrAlreadyRecorded) {
		t.Fatalf("second record after restart: %v, want ErrAlreadyRecorded", err)
	}
	got, err := again.Get(context.Background(), "order-1")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("read back %+v, want %+v", got, want)
	}
}

// A full ledger refuses a new record with ErrFull, keeps what it holds
// (nothing is forgotten to make room) and still recognises those orders.
func TestKVFullRefusesNewRecords(t *testing.T) {
	srv := natstest.Run(t)
	small := cfg
	small.MaxBytes = 64 << 10
	kv := newKVWith(t, srv, small)
	ctx := context.Background()
	var recorded int
	for ; recorded < 10_000; recorded++ {
		err := kv.Record(ctx, ledger.Record{OrderID: fmt.Sprintf("order-%d", recorded), ProductID: "sku-1", Quantity: 1})
		if errors.Is(err, ledger.ErrFull) {
			break
		}
		if err != nil {
			t.Fatalf("record %d: %v", recorded, err)
		}
	}
	if recorded == 0 || recorded == 10_000 {
		t.Fatalf("%d records before the 64 KiB ledger refused one, want it to fill", recorded)
	}
	if err := kv.Record(ctx, ledger.Record{OrderID: "order-0"}); !errors.Is(err, ledger.ErrAlreadyRecorded) {
		t.Errorf("first order once full: %v, want ErrAlreadyRecorded", err)
	}
	if _, err := kv.Get(ctx, "order-0"); err != nil {
		t.Errorf("first order forgotten to make room: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*ledger.Config)
		want string // in the error; "" = valid
	}{
		{"defaults of the tests", func(*ledger.Config) {}, ""},
		{"bad bucket", func(c *ledger.Config) { c.Name = "a.b" }, "DEDUP_BUCKET"},
		{"negative ttl", func(c *ledger.Config) { c.TTL = -time.Second }, "DEDUP_TTL"},
		{"max bytes in MiB by mistake", func(c *ledger.Config) { c.MaxBytes = 512 }, "DEDUP_MAX_BYTES=512"},
		{"replicas", func(c *ledger.Config) { c.Replicas = 0 }, "DEDUP_REPLICAS"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := cfg
			tc.edit(&c)
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Validate: %v, want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Validate: %v, want an error naming %s", err, tc.want)
			}
		})
	}
}

// A record nobody answers (the bucket's stream without a leader: here
// without the stream, which the server answers the same way, "no
// responders") is ErrUnavailable, not a refusal of the order.
func TestKVWithoutLeaderIsUnavailable(t *testing.T) {
	srv := natstest.Run(t)
	kv := newKV(t, srv)
	js, err := natsjs.New(srv.Connect(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := js.DeleteStream(ctx, cfg.StreamName()); err != nil {
		t.Fatal(err)
	}
	err = kv.Record(ctx, ledger.Record{OrderID: "order-1", ProductID: "sku-1", Quantity: 1})
	if !errors.Is(err, ledger.ErrUnavailable) || errors.Is(err, ledger.ErrFull) {
		t.Fatalf("record without the stream: %v, want ErrUnavailable", err)
	}
}
