// Package testkit is the support code the process-level tests share: a
// bounded poll (Eventually), a harness that runs a service binary as a
// process and reads its JSON log (Proc), and an audit that reads from NATS
// itself what the orders pipeline stored, recorded and dead-lettered
// (ReadAudit), with a plain-text table to print it (Table).
//
// services/systemtest, test/e2e and test/chaos import it; service code never
// does. It needs a real NATS server: tests of the business logic alone use
// the in-memory transport instead.
package testkit
