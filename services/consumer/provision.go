package main

import (
	"context"

	"github.com/distsys-go/orders/platform/service"
)

// commands are the consumer binary's one-off jobs.
var commands = []service.Command[*config]{{
	Name:    "provision",
	Summary: "create or update the stream, the durable consumer and the ledger bucket the consumers need, then exit (the same variables as the service)",
	Run:     provision,
}}

// provision makes what the consumers and producers use on NATS, from the
// consumer's own configuration, so that one NATS user may create streams
// and consumers and the services' users need not. It is idempotent: run
// it before every deploy (the chart runs it as a Job).
func provision(ctx context.Context, rt *service.Runtime, cfg *config) error {
	cfg.Provision = true
	transport, err := rt.Transport(ctx)
	if err != nil {
		return err
	}
	if _, err := rt.Ledger(ctx, cfg.Ledger); err != nil {
		return err
	}
	if err := transport.EnsureConsumer(ctx, service.Consumption{
		Subject: cfg.Subject, Group: cfg.Worker.QueueGroup, Consumer: cfg.Durable,
	}); err != nil {
		return err
	}
	rt.Log.Info("provisioned", "stream", cfg.StreamConfig.Name, "durable", cfg.Worker.QueueGroup, "bucket", cfg.Ledger.Name)
	return nil
}
