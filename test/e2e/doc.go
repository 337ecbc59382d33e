// Package e2e runs the orders chart on a real cluster through two scenarios
// while a producer publishes steadily. "single": one NATS server; install
// and helm test, check each pod's GOMEMLIMIT against its memory limit,
// scale the consumers to five, roll the consumers only, roll
// the producer only, delete the NATS pod. "cluster": three NATS servers
// with route auth and an R3 stream and ledger; crash the stream leader's
// server, delete the ledger leader's pod, roll every server while the
// consumers scale 2 -> 5 -> 2. Each one drains and audits: every order a
// producer logged as acknowledged (its pods' logs followed off the
// cluster) must be in the ledger exactly once or dead-lettered.
//
// The tests are behind the e2e build tag, so `go test ./...` compiles none
// of them: `make e2e` (scripts/e2e.sh) builds the images, gets and tears down
// the cluster, loads the images and runs them with the E2E_* variables set.
// docs/e2e.md describes it.
package e2e
