// Package testkit is the support code the process-level tests share: one
// bounded poll (Await, and Eventually that fails the test), a harness that
// runs a binary as a process and reads its JSON log (Proc), and a
// plain-text table for reports (Table).
//
// services/systemtest, test/e2e, test/chaos and test/bench import it;
// service code never does. Its functions take a TB, the part of
// testing.TB they use, so test/bench, a program, can run with it too.
package testkit
