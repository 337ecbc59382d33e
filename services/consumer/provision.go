package main

import (
	"context"

	"github.com/distsys-go/orders/platform/deadletter"
	"github.com/distsys-go/orders/platform/service"
)

// commands are the consumer binary's one-off jobs.
var commands = []service.Command[*config]{{
	Name:    "provision",
	Summary: "create or update the stream, the durable consumer of each of CONSUME_VERSIONS, the ledger bucket and the audit stream the consumers and the dead-letter tool need, then exit (the same variables as the service)",
	Run:     provision,
}, {
	Name:    "deadletters",
	Summary: "list, inspect, replay or purge dead letters ('consumer deadletters -h')",
	Tool:    deadLetterTool,
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
	// Every version's durable, before any producer sends that version:
	// its orders then wait in a backlog the gauges and KEDA see.
	var durables []string
	for _, v := range cfg.versions() {
		durable := v.Durable(cfg.Worker.QueueGroup)
		if err := transport.EnsureConsumer(ctx, service.Consumption{
			Subject: v.Subject(cfg.Subject), Group: durable, Consumer: cfg.Durable,
		}); err != nil {
			return err
		}
		durables = append(durables, durable)
	}
	if err := ensureAudit(ctx, rt, cfg); err != nil {
		return err
	}
	rt.Log.Info("provisioned", "stream", cfg.StreamConfig.Name, "durables", durables, "bucket", cfg.Ledger.Name,
		"audit_stream", cfg.Audit.Stream)
	return nil
}

// ensureAudit creates or updates the dead-letter tool's audit stream with
// PROVISION=true, as the other streams are; core NATS stores nothing.
func ensureAudit(ctx context.Context, rt *service.Runtime, cfg *config) error {
	js, err := rt.JetStream()
	if err != nil || !cfg.Provision {
		return nil
	}
	// Retried like the other streams: NATS may not be ready yet.
	return service.Retry(ctx, rt.Log, "audit stream "+cfg.Audit.Stream, func(ctx context.Context) error {
		return deadletter.EnsureAudit(ctx, js, cfg.Audit, cfg.StreamConfig.Replicas)
	})
}
