package main

import (
	"context"
	"io"
	"testing"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/distsys-go/orders/internal/natstest"
	"github.com/distsys-go/orders/platform/service"
)

// `consumer provision` makes the stream, the durable and the ledger bucket
// from the consumer's variables, and running it again changes nothing.
func TestProvisionMakesWhatTheServicesNeed(t *testing.T) {
	srv := natstest.Run(t)
	for k, v := range map[string]string{
		"NATS_URL": srv.ClientURL(), "HTTP_ADDR": "127.0.0.1:0", "INSTANCE": "provision-1",
		// The Job carries the services' PROVISION=false: provision ignores it.
		"PROVISION": "false", "STREAM_NAME": "ORDERS", "QUEUE_GROUP": "workers", "DEDUP_BUCKET": "processed",
	} {
		t.Setenv(k, v)
	}
	for run := 1; run <= 2; run++ {
		if err := service.Run(context.Background(), name+"-provision", "test", nil, io.Discard, provision); err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
	}
	ctx := context.Background()
	js, err := natsjs.New(srv.Connect(t))
	if err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(ctx, "ORDERS")
	if err != nil {
		t.Fatal(err)
	}
	if got := s.CachedInfo().Config.Retention; got != natsjs.WorkQueuePolicy {
		t.Errorf("stream retention %v, want work queue", got)
	}
	c, err := s.Consumer(ctx, "workers")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.CachedInfo().Config.FilterSubject; got != "orders.created" {
		t.Errorf("durable filter %q, want orders.created", got)
	}
	if _, err := js.KeyValue(ctx, "processed"); err != nil {
		t.Errorf("ledger bucket: %v", err)
	}
}
