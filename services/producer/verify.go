package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/distsys-go/orders/platform/ledger"
	"github.com/distsys-go/orders/platform/service"
)

// recordReader is what verify needs of the ledger.
type recordReader interface {
	Get(ctx context.Context, orderID string) (ledger.Record, error)
}

// verify waits until the consumers recorded every order in ids in the
// ledger: proof that orders went through end to end (the helm test).
func verify(ctx context.Context, rt *service.Runtime, bucket ledger.Bucket, ids []string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	led, err := rt.LedgerReader(ctx, bucket)
	if err != nil {
		return fmt.Errorf("verify: bucket %s: %w", bucket.Name, err)
	}
	if err := awaitRecorded(ctx, led, ids, rt.Log); err != nil {
		return fmt.Errorf("verify within %s: %w", timeout, err)
	}
	rt.Log.Info("verified: every published order was processed", "orders", len(ids), "bucket", bucket.Name)
	return nil
}

// errNothingToVerify refuses a verification of no orders, which would
// prove nothing.
var errNothingToVerify = errors.New("no order was published, so none can be verified")

// awaitRecorded returns nil once led holds a record of every id, or an
// error naming the first order still missing when ctx ends.
func awaitRecorded(ctx context.Context, led recordReader, ids []string, log *slog.Logger) error {
	if len(ids) == 0 {
		return errNothingToVerify
	}
	for _, id := range ids {
		if err := service.Retry(ctx, log, "verify order "+id+" recorded", func(ctx context.Context) error {
			_, err := led.Get(ctx, id)
			return err
		}); err != nil {
			return fmt.Errorf("order %s not recorded: %w", id, err)
		}
	}
	return nil
}
