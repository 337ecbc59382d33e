// Package chaos injects process-level faults into the orders pipeline and
// audits the outcome from outside the processes. The real producer and
// consumer binaries run against real nats-server processes (the pinned
// bin/nats-server, JetStream on, random ports); faults come by signal
// (SIGKILL, SIGSTOP/SIGCONT) or through an in-process TCP proxy (toxiproxy)
// between a consumer and NATS: a consumer kill storm, a NATS crash on the
// same store, a frozen consumer, leader kills on a 3-node cluster, a network
// partition and latency, and a storm of bad input.
//
// Per fault the audit compares the ids the producers logged as
// acknowledged (an outside record, not the stream) with the ledger's keys:
// nothing lost, nothing processed twice, every bad message dead-lettered
// exactly once, every NATS server healthy at the end, and how long the
// pipeline took to catch up after the fault. It prints one table.
//
// The fault tests are behind the chaos build tag: `make chaos` builds the
// binaries and runs them; `go test ./...` runs only the unit tests of the
// checks that need no process (cut_test.go).
package chaos
