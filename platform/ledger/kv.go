package ledger

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/distsys-go/orders/platform/messaging"
)

// Bucket names the ledger's key-value bucket: all a reader of the ledger
// (the producer's VERIFY_TIMEOUT) needs of its configuration.
type Bucket struct {
	Name string `envconfig:"DEDUP_BUCKET" default:"orders-processed" desc:"JetStream key-value bucket of processed orders (the de-duplication record; the producer's VERIFY_TIMEOUT reads it)"`
}

// Validate implements config.Validator.
func (b Bucket) Validate() error {
	if err := messaging.CheckName(b.Name); err != nil {
		return fmt.Errorf("DEDUP_BUCKET=%q: %w", b.Name, err)
	}
	return nil
}

// StreamName is the JetStream stream that holds the bucket (JetStream
// names a bucket's stream KV_<bucket>): the one whose fill and limits
// stream monitoring reads.
func (b Bucket) StreamName() string { return "KV_" + b.Name }

// Config is the ledger's part of the consumer's environment.
type Config struct {
	Bucket
	// TTL must outlast every way a recorded order can come back: its own
	// redeliveries, and a producer's republish after the stream's
	// duplicate window (the consumer checks the rule at start). Longer
	// costs ledger bytes: one entry per order for TTL.
	TTL time.Duration `envconfig:"DEDUP_TTL" default:"1h" desc:"how long a processed order is remembered, to recognise its redeliveries and republishes; at least MAX_DELIVER x (ACK_WAIT + 30s) + STREAM_DUPLICATE_WINDOW (checked at start)"`
	// MaxBytes bounds the bucket on disk: a full bucket refuses new
	// records (ErrFull) rather than forgetting processed orders early.
	MaxBytes int64 `envconfig:"DEDUP_MAX_BYTES" default:"134217728" desc:"bytes the bucket may hold; when full, orders wait (holding their messages; /readyz 503 says so) until records expire or the bucket grows"`
	Replicas int   `envconfig:"DEDUP_REPLICAS" default:"1" desc:"bucket replicas (1, or 3 on a 3-node NATS cluster)"`
}

// minBytes is the smallest DEDUP_MAX_BYTES accepted, so that a size given
// in MiB instead of bytes is refused at start.
const minBytes = 64 << 10

// Validate implements config.Validator.
func (c Config) Validate() error {
	if err := c.Bucket.Validate(); err != nil {
		return err
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

// KV is the Ledger kept in a JetStream key-value bucket, shared by every
// consumer replica.
type KV struct {
	kv natsjs.KeyValue
	// async publishes the records on its own JetStream context: its
	// pending acknowledgements are the ledger's alone, each times out
	// after recordTimeout instead of waiting for ever, and up to
	// maxPending of them may be in flight.
	async natsjs.JetStream
	// prefix is the subject of the bucket's keys without the key,
	// $KV.<bucket>. (a bucket on the local JetStream domain, not a mirror).
	prefix string
}

// Ensure creates or updates the bucket and returns the ledger on it.
func Ensure(ctx context.Context, js natsjs.JetStream, cfg Config) (*KV, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, natsjs.KeyValueConfig{
		Bucket:      cfg.Name,
		Description: "orders processed by the fulfilment workers, one key per order id",
		TTL:         cfg.TTL,
		MaxBytes:    cfg.MaxBytes,
		Replicas:    cfg.Replicas,
		Storage:     natsjs.FileStorage,
		History:     1,
	})
	if err != nil {
		return nil, fmt.Errorf("ensure bucket %s: %w", cfg.Name, err)
	}
	return newKV(js, kv)
}

// Open returns the ledger on the existing bucket, for a producer verifying
// its orders were processed, or consumers whose NATS user may not create
// buckets (PROVISION=false); it creates nothing.
func Open(ctx context.Context, js natsjs.JetStream, b Bucket) (*KV, error) {
	kv, err := js.KeyValue(ctx, b.Name)
	if err != nil {
		return nil, fmt.Errorf("open bucket %s: %w", b.Name, err)
	}
	return newKV(js, kv)
}

func newKV(js natsjs.JetStream, kv natsjs.KeyValue) (*KV, error) {
	async, err := natsjs.New(js.Conn(), natsjs.WithPublishAsyncTimeout(recordTimeout), natsjs.WithPublishAsyncMaxPending(maxPending))
	if err != nil {
		return nil, fmt.Errorf("ledger publisher: %w", err)
	}
	return &KV{kv: kv, async: async, prefix: "$KV." + kv.Bucket() + "."}, nil
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
