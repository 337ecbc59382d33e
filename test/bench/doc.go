// Command bench is `make bench`: it measures the producer and consumer
// binaries against the ceilings natscli's `nats bench` reaches on the same
// nats-server, in both delivery modes, and writes bench/report.md with its
// plots. Every measurement runs on a fresh nats-server (file store in a
// temporary directory, a free loopback port); rates come from the
// binaries' own JSON log timestamps, so start-up is not counted. The
// scaling-with-work runs give every order a fixed wait (the consumer's
// WORK_TIME) and read the CPU of every process during the drain, so the
// report can say where adding consumers stops paying and what ran out.
//
// Settings reach the binaries through the environment: whatever the
// caller exports (PUBLISH_MAX_IN_FLIGHT, CONCURRENCY, ...) is passed on,
// and the harness sets only what each step needs (NATS_URL, DELIVERY_MODE,
// PUBLISH_*, LOG_LEVEL=info, HTTP_ADDR; WORK_TIME and CONCURRENCY in the
// scaling-with-work runs).
package main
