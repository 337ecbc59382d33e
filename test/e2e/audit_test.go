//go:build e2e

package e2e

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/distsys-go/orders/internal/testkit"
	"github.com/distsys-go/orders/test/audit"
)

// clusterAudit is the audit's verdict on the orders the producers logged
// as acknowledged (read off the cluster, see pubLog), with what the
// scenario's report shows beside it.
type clusterAudit struct {
	audit.Verdict
	deadLettered    int            // dead-letter subject's messages
	kvWrites        uint64         // writes the bucket's stream took (its last sequence)
	kvKeys          int            // keys in the bucket
	deliveries      uint64         // durable consumer: deliveries (consumer sequence)
	numPending      uint64         // durable consumer at audit time
	numAckPending   int            //
	byInstance      map[string]int // processed orders by consumer instance (KV values)
	firstAt, lastAt time.Time      // first and last acknowledged publish (producer logs)
	logPods         []string       // followed pods: lines read, follows
	metrics         map[string]float64
	perPod          []string
	scrapedPods     string
}

// runAudit reads the ledger, the dead letters and the durable and holds
// them against what the scenario expects (the acknowledged ids, the ids
// producers gave up on at shutdown, the bad messages it sent) by the
// rules every suite shares (audit.Check).
func runAudit(t *testing.T, js natsjs.JetStream, expect audit.Expect) clusterAudit {
	t.Helper()
	ra := audit.ReadAudit(t, js, names)
	a := clusterAudit{
		Verdict:      audit.Check(ra, expect),
		deadLettered: len(ra.DeadLetters), kvWrites: ra.LedgerWrites, kvKeys: len(ra.Recorded), byInstance: map[string]int{},
	}
	a.deliveries = ra.Delivered()
	for _, d := range ra.Durables {
		a.numPending, a.numAckPending = a.numPending+d.NumPending, a.numAckPending+d.NumAckPending
	}
	for _, inst := range ra.Recorded {
		a.byInstance[inst]++
	}
	return a
}

// fill adds what the scenario saw outside NATS: publish times, followed
// logs and the pods' own counters.
func (a *clusterAudit) fill(r *scenario) {
	if times := r.logs.times(); len(times) > 0 {
		a.firstAt, a.lastAt = times[0], times[len(times)-1]
	}
	a.logPods = r.logs.perPod()
	scr := r.scr
	a.metrics = map[string]float64{
		"producer orders_published_total":          scr.sum("producer", "orders_published_total"),
		"producer orders_publish_errors_total":     scr.sum("producer", "orders_publish_errors_total"),
		"consumer orders_processed_total":          scr.sum("consumer", "orders_processed_total"),
		"consumer orders_redelivered_total":        scr.sum("consumer", "orders_redelivered_total"),
		"consumer orders_duplicates_skipped_total": scr.sum("consumer", "orders_duplicates_skipped_total"),
		"consumer orders_dead_lettered_total":      scr.sum("consumer", "orders_dead_lettered_total"),
		"consumer orders_failed_total":             scr.sum("consumer", "orders_failed_total"),
	}
	a.scrapedPods = fmt.Sprintf("%d producer and %d consumer pods", scr.pods("producer"), scr.pods("consumer"))
	a.perPod = scr.perPod()
}

// auditTable is the scenario's one-row audit: the columns.
func (a clusterAudit) auditTable(name string) *testkit.Table {
	tb := &testkit.Table{
		Title:  name + ": audit",
		Header: []string{"published", "recorded", "lost", "twice", "dead-lettered", "unknown ledger keys", "given up, yet stored", "redelivered", "pending"},
		Notes: []string{
			"published: distinct order ids the producer pods (and helm test's pod) logged as acknowledged, read with kubectl logs -f while each pod ran",
			fmt.Sprintf("recorded: of those, ids with a key in KV %s; lost: neither recorded nor dead-lettered; twice: writes to the bucket (%d) minus its keys (%d)", names.Bucket, a.kvWrites, a.kvKeys),
			fmt.Sprintf("dead-lettered: %s messages (%d of them published orders); unknown ledger keys: keys of no logged id; given up, yet stored: of those, ids a producer logged as not published at shutdown (its ack was lost, not the order)", names.DeadLetters, a.Dead),
			fmt.Sprintf("redelivered: the durables' deliveries (%d, every version's) minus published; pending: num_pending/num_ack_pending at the end, summed", a.deliveries),
		},
	}
	tb.Add(a.Published, a.Recorded, a.Lost, a.Twice, a.deadLettered, a.Unknown, a.GivenUpStored,
		int64(a.deliveries)-int64(a.Published), fmt.Sprintf("%d/%d", a.numPending, a.numAckPending))
	return tb
}

// details are the cross-checks: publishing span, per instance, per pod.
func (a clusterAudit) details() string {
	var b strings.Builder
	if span := a.lastAt.Sub(a.firstAt); span > 0 {
		fmt.Fprintf(&b, "\n  publishing: first to last acknowledged order %s, %.0f orders/s on average (outages included)\n",
			span.Round(100*time.Millisecond), float64(a.Published)/span.Seconds())
	}
	fmt.Fprintf(&b, "\n  processed by consumer instance (KV values):\n")
	for _, k := range slices.Sorted(maps.Keys(a.byInstance)) {
		fmt.Fprintf(&b, "    %-48s %8d\n", k, a.byInstance[k])
	}
	fmt.Fprintf(&b, "\n  followed logs:\n")
	for _, l := range a.logPods {
		fmt.Fprintf(&b, "    %s\n", l)
	}
	fmt.Fprintf(&b, "\n  pods' own counters (last scrape of %s, every %s; pods that vanished may miss their last seconds):\n", a.scrapedPods, scrapeEvery)
	for _, k := range slices.Sorted(maps.Keys(a.metrics)) {
		fmt.Fprintf(&b, "    %-48s %8.0f\n", k, a.metrics[k])
	}
	for _, l := range a.perPod {
		fmt.Fprintf(&b, "      %s\n", l)
	}
	return b.String()
}

// check fails t for every rule the run broke.
func (a clusterAudit) check(t *testing.T) {
	t.Helper()
	for _, b := range a.Broken {
		t.Error(b)
	}
}
