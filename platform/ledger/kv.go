package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/distsys-go/orders/platform/messaging"
)

// Config is the ledger's part of the consumer's environment.
type Config struct {
	Bucket string `envconfig:"DEDUP_BUCKET" default:"orders-processed" desc:"JetStream key-value bucket of processed orders (the de-duplication record)"`
	// TTL must be at least STREAM_MAX_AGE: an order still in the stream
	// can be redelivered and must still be recognised.
	TTL      time.Duration `envconfig:"DEDUP_TTL" default:"168h" desc:"how long a processed order is remembered; keep it >= STREAM_MAX_AGE"`
	Replicas int           `envconfig:"DEDUP_REPLICAS" default:"1" desc:"bucket replicas (1, or 3 on a 3-node NATS cluster)"`
}

// Validate implements config.Validator.
func (c Config) Validate() error {
	if err := messaging.CheckName(c.Bucket); err != nil {
		return fmt.Errorf("DEDUP_BUCKET=%q: %w", c.Bucket, err)
	}
	if c.TTL < 0 {
		return fmt.Errorf("DEDUP_TTL=%s: must not be negative (0 keeps records forever)", c.TTL)
	}
	if c.Replicas < 1 || c.Replicas > 5 {
		return fmt.Errorf("DEDUP_REPLICAS=%d: want 1 to 5", c.Replicas)
	}
	return nil
}

// KV is the Ledger kept in a JetStream key-value bucket, shared by every
// consumer replica.
type KV struct{ kv natsjs.KeyValue }

// EnsureKV creates or updates the bucket and returns the ledger on it.
func EnsureKV(ctx context.Context, js natsjs.JetStream, cfg Config) (*KV, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, natsjs.KeyValueConfig{
		Bucket:      cfg.Bucket,
		Description: "orders processed by the fulfilment workers, one key per order id",
		TTL:         cfg.TTL,
		Replicas:    cfg.Replicas,
		Storage:     natsjs.FileStorage,
		History:     1,
	})
	if err != nil {
		return nil, fmt.Errorf("ensure bucket %s: %w", cfg.Bucket, err)
	}
	return &KV{kv: kv}, nil
}

// Record implements Ledger with the bucket's Create, which the server
// refuses when the key exists.
func (k *KV) Record(ctx context.Context, r Record) error {
	value, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode record: %w", err)
	}
	if _, err := k.kv.Create(ctx, r.OrderID, value); err != nil {
		if errors.Is(err, natsjs.ErrKeyExists) {
			return ErrAlreadyRecorded
		}
		return fmt.Errorf("record order %s: %w", r.OrderID, err)
	}
	return nil
}

// Get returns the record of orderID.
func (k *KV) Get(ctx context.Context, orderID string) (Record, error) {
	e, err := k.kv.Get(ctx, orderID)
	if err != nil {
		return Record{}, fmt.Errorf("get %s: %w", orderID, err)
	}
	var r Record
	if err := json.Unmarshal(e.Value(), &r); err != nil {
		return Record{}, fmt.Errorf("decode record %s: %w", orderID, err)
	}
	return r, nil
}
