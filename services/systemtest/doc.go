// Package systemtest runs the real producer and consumer binaries as
// processes, configured only by the environment variables the Helm chart
// gives them, against a real nats-server, and audits the result from NATS
// itself: the stream holds what was published, the processed-orders bucket
// what was processed.
package systemtest
