package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/distsys-go/orders/platform/messaging"
	"github.com/distsys-go/orders/platform/messaging/jetstream"
)

// Config is the ledger's part of the consumer's environment.
type Config struct {
	Bucket string `envconfig:"DEDUP_BUCKET" default:"orders-processed" desc:"JetStream key-value bucket of processed orders (the de-duplication record)"`
	// TTL must outlast every way a recorded order can come back: its own
	// redeliveries, and a producer's republish after the stream's
	// duplicate window (the consumer checks the rule at start). Longer
	// costs ledger bytes: one entry per order for TTL.
	TTL time.Duration `envconfig:"DEDUP_TTL" default:"1h" desc:"how long a processed order is remembered, to recognise its redeliveries and republishes; at least MAX_DELIVER x (ACK_WAIT + 30s) + STREAM_DUPLICATE_WINDOW (checked at start)"`
	// MaxBytes bounds the bucket on disk: a full bucket refuses new
	// records (ErrFull) rather than forgetting processed orders early.
	MaxBytes int64 `envconfig:"DEDUP_MAX_BYTES" default:"134217728" desc:"bytes the bucket may hold; when full, orders cannot be recorded and are retried, then dead-lettered"`
	Replicas int   `envconfig:"DEDUP_REPLICAS" default:"1" desc:"bucket replicas (1, or 3 on a 3-node NATS cluster)"`
}

// minBytes is the smallest DEDUP_MAX_BYTES accepted, so that a size given
// in MiB instead of bytes is refused at start.
const minBytes = 64 << 10

// Validate implements config.Validator.
func (c Config) Validate() error {
	if err := messaging.CheckName(c.Bucket); err != nil {
		return fmt.Errorf("DEDUP_BUCKET=%q: %w", c.Bucket, err)
	}
	if c.TTL < 0 {
		return fmt.Errorf("DEDUP_TTL=%s: must not be negative (0 keeps records forever)", c.TTL)
	}
	if c.MaxBytes < minBytes {
		return fmt.Errorf("DEDUP_MAX_BYTES=%d: want at least %d", c.MaxBytes, minBytes)
	}
	if c.Replicas < 1 || c.Replicas > 5 {
		return fmt.Errorf("DEDUP_REPLICAS=%d: want 1 to 5", c.Replicas)
	}
	return nil
}

// StreamName is the JetStream stream that holds the bucket (JetStream
// names a bucket's stream KV_<bucket>): the one whose fill and limits
// stream monitoring reads.
func (c Config) StreamName() string { return "KV_" + c.Bucket }

// KV is the Ledger kept in a JetStream key-value bucket, shared by every
// consumer replica.
type KV struct{ kv natsjs.KeyValue }

// EnsureKV creates or updates the bucket and returns the ledger on it.
func EnsureKV(ctx context.Context, js natsjs.JetStream, cfg Config) (*KV, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, natsjs.KeyValueConfig{
		Bucket:      cfg.Bucket,
		Description: "orders processed by the fulfilment workers, one key per order id",
		TTL:         cfg.TTL,
		MaxBytes:    cfg.MaxBytes,
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
		switch {
		case errors.Is(err, natsjs.ErrKeyExists):
			return ErrAlreadyRecorded
		case jetstream.IsFull(err):
			return fmt.Errorf("record order %s: %w: %w", r.OrderID, ErrFull, err)
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
