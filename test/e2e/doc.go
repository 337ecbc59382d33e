// Package e2e runs the orders chart on a real cluster through four
// scenarios while a producer publishes steadily, each in a namespace of
// its own. "single": one NATS server; install the previous chart (one
// shared user/password, plaintext) and upgrade to this chart's defaults
// (TLS, an identity per side) while orders flow, helm test, check each
// pod's GOMEMLIMIT against its memory limit, show from pods in the cluster
// that a client without the CA, a plaintext client and the producer's
// identity consuming are refused, dry-run the chart's cert-manager objects
// against cert-manager's CRDs, scale the consumers to five, roll the
// consumers only, roll the producer only, delete the NATS pod. "cluster":
// three NATS servers on the defaults (TLS on clients and routes, an
// identity per side) with an R3 stream and ledger; crash the stream
// leader's server, delete the ledger leader's pod, roll every server while
// the consumers scale 2 -> 5 -> 2, renew the server certificate while
// orders flow (every server serves it, none restarts). "autoscale": KEDA
// scales the consumers on the durable's lag up to the maximum under a
// burst and down to the minimum when the rate drops, then the chart's CPU
// HPA scales them under CPU load. "autoscale-cluster": KEDA against three
// servers follows the durable's leader when it steps down. The test's own
// NATS connection uses TLS with the release's CA and the admin identity.
// Each one drains and audits by the rules every suite shares
// (test/audit.Check): every order a producer logged as acknowledged (its
// pods' logs followed off the cluster) is in the ledger exactly once,
// none is lost or dead-lettered, and the durable is drained.
//
// The scenarios are behind the e2e build tag, so `go test ./...` runs only
// the unit tests of the checks that need no cluster (kedaread_test.go).
// `make e2e` (scripts/e2e.sh) builds the images, gets and tears down the
// cluster, loads the images and runs the scenarios with the E2E_*
// variables set; docs/e2e.md describes it.
package e2e
