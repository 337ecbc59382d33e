package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/distsys-go/orders/platform/service"
)

// verify waits until the consumers recorded every order in ids in their
// processed-orders bucket: proof that orders went through end to end.
func verify(ctx context.Context, js natsjs.JetStream, bucket string, ids []string, timeout time.Duration, log *slog.Logger) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var kv natsjs.KeyValue
	if err := service.Retry(ctx, log, "open bucket "+bucket, func(ctx context.Context) (err error) {
		kv, err = js.KeyValue(ctx, bucket)
		return err
	}); err != nil {
		return fmt.Errorf("verify: bucket %s: %w", bucket, err)
	}
	for _, id := range ids {
		if err := service.Retry(ctx, log, "verify order "+id+" recorded", func(ctx context.Context) error {
			_, err := kv.Get(ctx, id)
			return err
		}); err != nil {
			return fmt.Errorf("verify: order %s not recorded within %s: %w", id, timeout, err)
		}
	}
	log.Info("verified: every published order was processed", "orders", len(ids), "bucket", bucket)
	return nil
}
