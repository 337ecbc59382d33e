// Package e2e runs the orders chart on a real cluster through one scenario
// while a producer publishes steadily: install and helm test, scale the
// consumers to five, roll the consumers only, roll the producer only, kill
// the NATS pod, drain, and audit from NATS itself that every acknowledged
// publish was processed exactly once.
//
// The tests are behind the e2e build tag, so `go test ./...` compiles none
// of them: `make e2e` (scripts/e2e.sh) builds the images, gets and tears down
// the cluster, loads the images and runs them with the E2E_* variables set.
// docs/e2e.md describes it.
package e2e
