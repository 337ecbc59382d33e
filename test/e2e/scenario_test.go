//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/distsys-go/orders/platform/testkit"
)

// The chart's defaults the scenario relies on (charts/orders/values.yaml).
const (
	streamName   = "ORDERS"
	orderSubject = "orders.created"
	deadSubject  = "orders.deadletter"
	durable      = "fulfilment-workers"
	bucket       = "orders-processed"
	stepTimeout  = 5 * time.Minute
	flowTimeout  = 60 * time.Second
	scrapeEvery  = time.Second
	drainTimeout = 5 * time.Minute
	helmTimeout  = "5m"
)

type stepTime struct {
	name string
	took time.Duration
}

func TestScenario(t *testing.T) {
	e := loadEnv(t)
	helmTimeout := getenv("E2E_HELM_TIMEOUT", "5m")
	ctx := context.Background()
	var steps []stepTime
	step := func(name string, fn func()) {
		t.Logf("=== step: %s", name)
		start := time.Now()
		defer func() {
			steps = append(steps, stepTime{name, time.Since(start).Round(100 * time.Millisecond)})
			t.Logf("=== step done in %s: %s", time.Since(start).Round(100*time.Millisecond), name)
		}()
		fn()
	}
	defer func() { printSteps(t, e, steps) }()

	consumerDeploy := "deploy/" + e.release + "-consumer"
	producerDeploy := "deploy/" + e.release + "-producer"
	natsPod := e.release + "-nats-0"

	// 1. install with default values, producer at a steady rate; helm test.
	step("1 helm install --wait", func() {
		args := []string{"install", e.release, e.chart, "--create-namespace", "--wait", "--timeout", helmTimeout,
			"--set-string", "producer.env.PUBLISH_RATE=" + e.rate}
		if e.tag != "" {
			args = append(args, "--set", "producer.image.tag="+e.tag, "--set", "consumer.image.tag="+e.tag)
		}
		e.mustHelm(t, ctx, args...)
		pvc := e.mustKC(t, ctx, "get", "pvc", "-o", "jsonpath={range .items[*]}{.metadata.name}={.status.phase} {end}")
		if !strings.Contains(pvc, "=Bound") {
			t.Fatalf("NATS PVC not bound: %q", pvc)
		}
		t.Logf("PVCs: %s", pvc)
	})
	scr := startScraper(e, scrapeEvery)
	defer scr.close()
	step("1 helm test", func() {
		out := e.mustHelm(t, ctx, "test", e.release, "--logs", "--timeout", helmTimeout)
		t.Logf("helm test:\n%s", lastLines(out, 8))
	})

	conn := e.connectNATS(t)
	defer func() { conn.close() }()
	step("1 orders flowing", func() { waitFlowing(t, conn.js, "after install") })

	// 2. five consumers, each one processing.
	step(fmt.Sprintf("2 scale consumers to %d, all processing", e.consumers), func() {
		e.mustKC(t, ctx, "scale", consumerDeploy, fmt.Sprintf("--replicas=%d", e.consumers))
		first := map[string]float64{}
		testkit.Eventually(t, fmt.Sprintf("%d consumer pods, each one's orders_processed_total rising", e.consumers), stepTimeout, func() (bool, string) {
			pods, err := e.pods(ctx, "consumer")
			if err != nil {
				return false, err.Error()
			}
			var waiting []string
			rising := 0
			for _, p := range pods {
				if !p.Ready || p.Deleting {
					waiting = append(waiting, p.Name+" not ready")
					continue
				}
				m, err := e.metrics(ctx, p.Name)
				if err != nil {
					waiting = append(waiting, p.Name+": "+err.Error())
					continue
				}
				v := m["orders_processed_total"]
				f, seen := first[p.UID]
				switch {
				case !seen:
					first[p.UID] = v
					waiting = append(waiting, p.Name+" first sample")
				case v > f:
					rising++
				default:
					waiting = append(waiting, fmt.Sprintf("%s at %.0f", p.Name, v))
				}
			}
			if rising == e.consumers && len(pods) == e.consumers {
				return true, ""
			}
			return false, fmt.Sprintf("%d pods, %d rising; %s", len(pods), rising, strings.Join(waiting, ", "))
		}, testkit.Every(2*time.Second), testkit.Verbose())
	})

	// 3. roll the consumers only.
	step("3 roll consumers to "+e.tag2+" (producer untouched)", func() {
		before := e.mustPods(t, ctx, "producer")
		e.mustHelm(t, ctx, "upgrade", e.release, e.chart, "--reuse-values", "--wait", "--timeout", helmTimeout,
			"--set", "consumer.image.tag="+e.tag2, "--set", fmt.Sprintf("consumer.replicaCount=%d", e.consumers))
		e.mustKC(t, ctx, "rollout", "status", consumerDeploy, "--timeout=5m")
		waitPods(t, e, "consumer", e.consumers, ":"+e.tag2)
		samePods(t, "producer", before, e.mustPods(t, ctx, "producer"))
		waitFlowing(t, conn.js, "after the consumer rollout")
	})

	// 4. roll the producer only.
	step("4 roll producer to "+e.tag2+" (consumers untouched)", func() {
		before := e.mustPods(t, ctx, "consumer")
		e.mustHelm(t, ctx, "upgrade", e.release, e.chart, "--reuse-values", "--wait", "--timeout", helmTimeout,
			"--set", "producer.image.tag="+e.tag2)
		e.mustKC(t, ctx, "rollout", "status", producerDeploy, "--timeout=5m")
		waitPods(t, e, "producer", 1, ":"+e.tag2)
		samePods(t, "consumer", before, e.mustPods(t, ctx, "consumer"))
		waitFlowing(t, conn.js, "after the producer rollout")
	})

	// 5. kill NATS: it comes back with its stream, orders keep flowing.
	step("5 delete the NATS pod, stream survives, orders flow", func() {
		before := streamState(t, conn.js)
		conn.close()
		old := e.mustPods(t, ctx, "nats")
		e.mustKC(t, ctx, "delete", "pod", natsPod, "--wait=true", "--timeout=3m")
		testkit.Eventually(t, "a new NATS pod, ready and not terminating", stepTimeout, func() (bool, string) {
			pods, err := e.pods(ctx, "nats")
			if err != nil {
				return false, err.Error()
			}
			var seen []string
			for _, p := range pods {
				if len(old) > 0 && p.UID == old[0].UID {
					seen = append(seen, "the deleted pod: "+p.String())
					continue
				}
				if p.Ready && !p.Deleting {
					return true, ""
				}
				seen = append(seen, "a new pod: "+p.String())
			}
			return false, describe(seen)
		}, testkit.Every(2*time.Second), testkit.Verbose())
		conn = e.connectNATS(t)
		after := streamState(t, conn.js)
		t.Logf("stream before the restart: %d messages (last seq %d); after: %d (last seq %d)",
			before.Msgs, before.LastSeq, after.Msgs, after.LastSeq)
		if after.Msgs < before.Msgs || after.LastSeq < before.LastSeq {
			t.Fatalf("stream lost messages over the NATS restart: before %+v, after %+v", before, after)
		}
		waitFlowing(t, conn.js, "after the NATS restart")
	})

	// 6. one consumer, producer stopped, nothing pending.
	step("6 consumers to 1, producer to 0, their pods gone", func() {
		scr.scrapeOnce()
		e.mustKC(t, ctx, "scale", consumerDeploy, "--replicas=1")
		scr.scrapeOnce()
		e.mustKC(t, ctx, "scale", producerDeploy, "--replicas=0")
		testkit.Eventually(t, "0 producer pods and 1 consumer pod", stepTimeout, func() (bool, string) {
			prod, err1 := e.pods(ctx, "producer")
			cons, err2 := e.pods(ctx, "consumer")
			if err1 != nil || err2 != nil {
				return false, fmt.Sprint(err1, err2)
			}
			return len(prod) == 0 && len(cons) == 1, fmt.Sprintf("%d producer pods (%s), %d consumer pods (%s)",
				len(prod), describePods(prod), len(cons), describePods(cons))
		}, testkit.Every(2*time.Second), testkit.Verbose())
	})
	step("6 drain: num_pending 0, num_ack_pending 0", func() {
		cons, err := conn.js.Consumer(ctx, streamName, durable)
		if err != nil {
			t.Fatal(err)
		}
		testkit.Eventually(t, "durable consumer drained", drainTimeout, func() (bool, string) {
			info, err := cons.Info(ctx)
			if err != nil {
				return false, err.Error()
			}
			return info.NumPending == 0 && info.NumAckPending == 0,
				fmt.Sprintf("num_pending %d, num_ack_pending %d", info.NumPending, info.NumAckPending)
		}, testkit.Every(time.Second), testkit.Verbose())
		scr.scrapeOnce() // the last consumer's final counters
	})

	// 7. the audit, from NATS.
	var a audit
	step("7 audit from NATS", func() { a = runAudit(t, conn.js) })
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
	report := a.table(steps)
	fmt.Print(report)
	if err := os.WriteFile(filepath.Join(e.artifacts, "report.txt"), []byte(report), 0o644); err != nil {
		t.Log(err)
	}
	steps = nil // printed in the report
	a.check(t)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func printSteps(t *testing.T, e env, steps []stepTime) {
	if len(steps) == 0 {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nstep timings (scenario stopped early):\n")
	for _, s := range steps {
		fmt.Fprintf(&b, "  %-55s %8s\n", s.name, s.took)
	}
	fmt.Print(b.String())
	_ = os.WriteFile(filepath.Join(e.artifacts, "steps.txt"), []byte(b.String()), 0o644)
}

// waitPods waits until component has exactly n pods, all ready, none
// terminating, each running an image ending in imageSuffix.
func waitPods(t *testing.T, e env, component string, n int, imageSuffix string) {
	t.Helper()
	testkit.Eventually(t, fmt.Sprintf("%d %s pods on *%s", n, component, imageSuffix), stepTimeout, func() (bool, string) {
		pods, err := e.pods(context.Background(), component)
		if err != nil {
			return false, err.Error()
		}
		ok := len(pods) == n
		for _, p := range pods {
			ok = ok && p.Ready && !p.Deleting && strings.HasSuffix(p.Image, imageSuffix)
		}
		return ok, describePods(pods)
	}, testkit.Every(2*time.Second), testkit.Verbose())
}

// samePods fails unless after is the same pods as before, none restarted.
func samePods(t *testing.T, component string, before, after []pod) {
	t.Helper()
	key := func(ps []pod) string {
		var s []string
		for _, p := range ps {
			s = append(s, fmt.Sprintf("%s uid=%s restarts=%d", p.Name, p.UID, p.Restarts))
		}
		sort.Strings(s)
		return strings.Join(s, "; ")
	}
	if key(before) != key(after) {
		t.Fatalf("%s pods were touched:\n before: %s\n after:  %s", component, key(before), key(after))
	}
	t.Logf("%s pods untouched: %s", component, key(after))
}

func streamState(t *testing.T, js natsjs.JetStream) natsjs.StreamState {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, streamName)
	if err != nil {
		t.Fatalf("stream %s: %v", streamName, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info.State
}

// waitFlowing waits until new orders are both stored in the stream and
// recorded by the consumers (new writes to the ledger bucket's stream). Not
// the durable consumer's ack floor: after a NATS restart it can sit on one
// order whose ack was lost until that order is redelivered, ACK_WAIT later,
// while every order after it is processed.
func waitFlowing(t *testing.T, js natsjs.JetStream, when string) {
	t.Helper()
	lastSeq := func(ctx context.Context, stream string) (uint64, error) {
		s, err := js.Stream(ctx, stream)
		if err != nil {
			return 0, err
		}
		si, err := s.Info(ctx)
		if err != nil {
			return 0, err
		}
		return si.State.LastSeq, nil
	}
	var firstStored, firstProcessed uint64
	seen := false
	testkit.Eventually(t, "orders flowing "+when, flowTimeout, func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		stored, err := lastSeq(ctx, streamName)
		if err != nil {
			return false, err.Error()
		}
		processed, err := lastSeq(ctx, "KV_"+bucket)
		if err != nil {
			return false, err.Error()
		}
		if !seen {
			firstStored, firstProcessed, seen = stored, processed, true
			return false, "first sample"
		}
		return stored > firstStored && processed > firstProcessed,
			fmt.Sprintf("stream %s last seq %d (from %d), KV %s writes %d (from %d)", streamName, stored, firstStored, bucket, processed, firstProcessed)
	}, testkit.Every(time.Second), testkit.Verbose())
}

// ---- the audit ---------------------------------------------------------------

type audit struct {
	storedOrders    int            // orders.created messages in the stream
	firstAt, lastAt time.Time      // stream timestamps of the first and last order
	storedAt        []time.Time    // stream timestamps of every order
	published       int            // distinct order ids among them
	processed       int            // of those, ids with a key in the bucket
	deadLettered    int            // orders.deadletter messages
	deadOrders      int            // published orders among the dead letters
	lost            int            // published, neither processed nor dead-lettered
	unknownKeys     int            // bucket keys of no published order
	kvWrites        uint64         // writes the bucket's stream took (its last sequence)
	kvKeys          uint64         // keys in the bucket
	deliveries      uint64         // durable consumer: deliveries (consumer sequence)
	redelivered     int64          // deliveries - published
	numPending      uint64         // durable consumer at audit time
	numAckPending   int            //
	byInstance      map[string]int // processed orders by consumer instance (KV values)
	idMismatches    []string       // orders whose message id is not their order id
	metrics         map[string]float64
	perPod          []string
	scrapedPods     string
	lostExamples    []string
	unknownExamples []string
}

// runAudit reads the stream and the ledger through testkit. Here every
// stored order is one acknowledged publish: the producer pods' logs are not
// kept, so the stream stands in for them.
func runAudit(t *testing.T, js natsjs.JetStream) audit {
	t.Helper()
	ra := testkit.ReadAudit(t, js, testkit.ChartNames())
	published := make([]string, 0, len(ra.Stored))
	for id := range ra.Stored {
		published = append(published, id)
	}
	o := ra.Against(published)
	a := audit{
		storedOrders: ra.StoredMsgs, storedAt: ra.StoredAt, published: o.Published, processed: o.Recorded,
		deadLettered: len(ra.DeadLetters), deadOrders: o.Dead, lost: o.Lost, unknownKeys: o.Unknown,
		kvWrites: ra.LedgerWrites, kvKeys: uint64(len(ra.Recorded)), byInstance: map[string]int{},
		idMismatches: ra.IDMismatches, lostExamples: o.LostIDs, unknownExamples: o.UnknownIDs,
	}
	for _, at := range ra.StoredAt {
		if a.firstAt.IsZero() || at.Before(a.firstAt) {
			a.firstAt = at
		}
		if at.After(a.lastAt) {
			a.lastAt = at
		}
	}
	for _, inst := range ra.Recorded {
		a.byInstance[inst]++
	}
	if ra.Durable == nil {
		t.Fatalf("durable consumer %s not found", durable)
	}
	a.deliveries = ra.Durable.Delivered.Consumer
	a.redelivered = int64(ra.Durable.Delivered.Consumer) - int64(a.storedOrders)
	a.numPending, a.numAckPending = ra.Durable.NumPending, ra.Durable.NumAckPending
	return a
}

// publishGaps returns the longest pause between consecutive stored orders
// and the sum of the pauses longer than over: the time nothing could be
// published (NATS restarting), which the mean rate should not count.
func (a audit) publishGaps(over time.Duration) (longest, paused time.Duration) {
	at := slices.SortedFunc(slices.Values(a.storedAt), time.Time.Compare)
	for i := 1; i < len(at); i++ {
		gap := at[i].Sub(at[i-1])
		longest = max(longest, gap)
		if gap > over {
			paused += gap
		}
	}
	return longest, paused
}

func (a audit) table(steps []stepTime) string {
	var b strings.Builder
	row := func(k string, v any, src string) { fmt.Fprintf(&b, "  %-22s %10v   %s\n", k, v, src) }
	fmt.Fprintf(&b, "\n==== e2e audit (from NATS unless marked) ====\n")
	row("published", a.published, fmt.Sprintf("distinct order ids among the %d %s messages in stream %s (each one an acknowledged, de-duplicated publish)", a.storedOrders, orderSubject, streamName))
	if span := a.lastAt.Sub(a.firstAt); span > 0 {
		row("publishing span", span.Round(100*time.Millisecond), fmt.Sprintf("first to last stored order, NATS outage included: %.0f orders/s on average", float64(a.storedOrders)/span.Seconds()))
		longest, paused := a.publishGaps(time.Second)
		if steady := span - paused; steady > 0 {
			row("publishing rate", fmt.Sprintf("%.0f/s", float64(a.storedOrders)/steady.Seconds()), fmt.Sprintf("over the span minus every gap over 1s between stored orders (%v in all, longest %v)", paused.Round(100*time.Millisecond), longest.Round(100*time.Millisecond)))
		}
	}
	row("processed", a.processed, fmt.Sprintf("published orders with a key in KV %s", bucket))
	row("processed twice", int64(a.kvWrites)-int64(a.kvKeys), fmt.Sprintf("writes to KV %s (its stream's last seq %d) minus keys (%d): a second effect would be a second write", bucket, a.kvWrites, a.kvKeys))
	row("redelivered", a.redelivered, fmt.Sprintf("durable %s: %d deliveries minus %d stored orders", durable, a.deliveries, a.storedOrders))
	row("duplicates skipped", a.metrics["consumer orders_duplicates_skipped_total"], "consumers' orders_duplicates_skipped_total, summed over every pod's last scrape (metrics, not NATS)")
	row("dead-lettered", a.deadLettered, fmt.Sprintf("%s messages in stream %s (%d of them published orders)", deadSubject, streamName, a.deadOrders))
	row("lost", a.lost, "published, neither in the KV nor dead-lettered")
	row("unknown KV keys", a.unknownKeys, "keys of no published order")
	row("pending at the end", fmt.Sprintf("%d/%d", a.numPending, a.numAckPending), "num_pending/num_ack_pending of the durable consumer")
	fmt.Fprintf(&b, "\n  processed by consumer instance (KV values):\n")
	inst := make([]string, 0, len(a.byInstance))
	for k := range a.byInstance {
		inst = append(inst, k)
	}
	sort.Strings(inst)
	for _, k := range inst {
		fmt.Fprintf(&b, "    %-48s %8d\n", k, a.byInstance[k])
	}
	fmt.Fprintf(&b, "\n  pods' own counters (last scrape of %s, every %s; pods that vanished may miss their last seconds):\n", a.scrapedPods, scrapeEvery)
	mk := make([]string, 0, len(a.metrics))
	for k := range a.metrics {
		mk = append(mk, k)
	}
	sort.Strings(mk)
	for _, k := range mk {
		fmt.Fprintf(&b, "    %-48s %8.0f\n", k, a.metrics[k])
	}
	for _, l := range a.perPod {
		fmt.Fprintf(&b, "      %s\n", l)
	}
	fmt.Fprintf(&b, "\n  step timings:\n")
	for _, s := range steps {
		fmt.Fprintf(&b, "    %-55s %8s\n", s.name, s.took)
	}
	return b.String()
}

func (a audit) check(t *testing.T) {
	t.Helper()
	if a.published == 0 {
		t.Error("nothing was published")
	}
	if len(a.idMismatches) > 0 {
		t.Errorf("orders whose message id is not their order id: %v", a.idMismatches)
	}
	if a.storedOrders != a.published {
		t.Errorf("%d stored orders but %d distinct ids: an order was stored twice", a.storedOrders, a.published)
	}
	if a.lost != 0 {
		t.Errorf("%d orders lost, e.g. %v", a.lost, a.lostExamples)
	}
	if a.unknownKeys != 0 {
		t.Errorf("%d processed orders were never published, e.g. %v", a.unknownKeys, a.unknownExamples)
	}
	if a.kvWrites != a.kvKeys {
		t.Errorf("KV %s took %d writes for %d keys: some order had a second effect", bucket, a.kvWrites, a.kvKeys)
	}
	if a.numPending != 0 || a.numAckPending != 0 {
		t.Errorf("durable consumer not drained: %d pending, %d ack pending", a.numPending, a.numAckPending)
	}
}
