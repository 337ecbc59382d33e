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

	"github.com/distsys-go/orders/internal/testkit"
	"github.com/distsys-go/orders/test/audit"
)

// names are the chart's JetStream names, defined once for every test.
var names = audit.ChartNames()

const (
	stepTimeout  = 5 * time.Minute
	flowTimeout  = 60 * time.Second
	scrapeEvery  = time.Second
	drainTimeout = 5 * time.Minute
)

// TestE2E runs the single-server scenario, then (in a fresh namespace,
// after the first release and its namespace are gone) the clustered one,
// the monitoring one (real Prometheus, kube-state-metrics and Jaeger from
// scripts/monitoring.sh), then the autoscaling ones (KEDA and
// metrics-server installed by scripts/autoscale.sh): on one server, then
// KEDA against three. E2E_SCENARIOS picks them (default
// "single,cluster,monitoring,autoscale,autoscale-cluster").
func TestE2E(t *testing.T) {
	e := loadEnv(t)
	want := getenv("E2E_SCENARIOS", "single,cluster,monitoring,autoscale,autoscale-cluster")
	var reports []string
	for _, s := range []struct {
		name      string
		namespace string
		fn        func(*scenario)
	}{
		{"single", e.namespace, singleServer},
		{"cluster", e.namespace + "-cluster", clustered},
		{"monitoring", e.namespace + "-monitoring", monitoringScenario},
		{"autoscale", e.namespace + "-autoscale", autoscaling},
		{"autoscale-cluster", e.namespace + "-autoscale-cluster", autoscalingCluster},
	} {
		if !slices.Contains(strings.Split(want, ","), s.name) {
			continue
		}
		se := e
		se.namespace = s.namespace
		var r *scenario
		ok := t.Run(s.name, func(t *testing.T) {
			r = newScenario(t, se, s.name)
			s.fn(r)
			r.finish()
		})
		if r != nil && r.report != "" {
			reports = append(reports, r.report)
		}
		if !ok {
			t.Fatalf("scenario %s failed: its namespace %s is left for the artifacts; the next scenario is not run", s.name, s.namespace)
		}
		t.Run("uninstall-"+s.name, func(t *testing.T) { uninstall(t, se) })
	}
	all := strings.Join(reports, "")
	if all == "" {
		return // every scenario filtered out (-run, -skip, E2E_SCENARIOS)
	}
	fmt.Printf("\n######## e2e reports ########\n%s", all)
	// Appended: scripts/e2e.sh runs the autoscaling scenarios in a second
	// go test, and report.txt holds every scenario of the run.
	if err := appendFile(filepath.Join(e.artifacts, "report.txt"), all); err != nil {
		t.Log(err)
	}
}

func appendFile(name, s string) error {
	f, err := os.OpenFile(name, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(s); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// uninstall removes a passed scenario's release and namespace, so the
// next one has the cluster to itself.
func uninstall(t *testing.T, e env) {
	start := time.Now()
	e.mustHelm(t, context.Background(), "uninstall", e.release, "--wait", "--timeout", "3m")
	if _, err := run(context.Background(), e.kubectl, "delete", "namespace", e.namespace, "--wait=false"); err != nil {
		t.Fatal(err)
	}
	t.Logf("uninstalled %s in %s", e.namespace, time.Since(start).Round(100*time.Millisecond))
}

// singleServer: one NATS server. The release starts on the previous chart
// with user/password auth and is upgraded to this chart's defaults (TLS,
// an identity per side) while the producer publishes; then refusals from
// pods in the cluster, cert-manager's objects dry-run, scale, roll each
// side, restart NATS; the event's versions rolled out one side at a time;
// drain; then dead letters replayed from the toolbox.
func singleServer(r *scenario) {
	t, e, ctx := r.t, r.e, r.ctx
	consumerDeploy := "deploy/" + e.release + "-consumer"
	producerDeploy := "deploy/" + e.release + "-producer"

	// 1–2. the previous chart, then the upgrade to this one; helm test.
	upgradeFromPrevious(r, 2) // 2: both charts' consumer.replicaCount
	r.helmTest("2 helm test")
	r.step("2 each pod's GOMEMLIMIT is 90% of its memory limit", func() {
		checkMemoryLimits(t, e, "producer", "consumer")
	})

	// 3. what the defaults refuse, seen from pods in the cluster; the
	// cert-manager variant of the chart against cert-manager's CRDs.
	refusals(r)
	certManagerDryRun(r)

	// 4. five consumers, each one processing.
	r.step(fmt.Sprintf("4 scale consumers to %d, all processing", e.consumers), func() {
		e.mustKC(t, ctx, "scale", consumerDeploy, fmt.Sprintf("--replicas=%d", e.consumers))
		waitConsumersProcessing(t, e, r.scr, e.consumers, "after scaling up")
	})

	// 5. roll the consumers only.
	r.disrupt("5 roll consumers to "+e.tag2+" (producer untouched)", e.consumers, func() string {
		before := e.mustPods(t, ctx, "producer")
		e.mustHelm(t, ctx, "upgrade", e.release, e.chart, "--reuse-values", "--wait", "--timeout", e.helmTimeout,
			"--set", "consumer.image.tag="+e.tag2, "--set", fmt.Sprintf("consumer.replicaCount=%d", e.consumers))
		e.mustKC(t, ctx, "rollout", "status", consumerDeploy, "--timeout=5m")
		waitPods(t, e, "consumer", e.consumers, ":"+e.tag2)
		samePods(t, "producer", before, e.mustPods(t, ctx, "producer"))
		waitFlowing(t, r.conn.js, "after the consumer rollout")
		return "helm upgrade, maxSurge 1"
	})

	// 6. roll the producer only.
	r.disrupt("6 roll producer to "+e.tag2+" (consumers untouched)", e.consumers, func() string {
		before := e.mustPods(t, ctx, "consumer")
		e.mustHelm(t, ctx, "upgrade", e.release, e.chart, "--reuse-values", "--wait", "--timeout", e.helmTimeout,
			"--set", "producer.image.tag="+e.tag2)
		e.mustKC(t, ctx, "rollout", "status", producerDeploy, "--timeout=5m")
		waitPods(t, e, "producer", 1, ":"+e.tag2)
		samePods(t, "consumer", before, e.mustPods(t, ctx, "consumer"))
		waitFlowing(t, r.conn.js, "after the producer rollout")
		return "helm upgrade"
	})

	// 7. delete the NATS pod: it comes back with its stream, orders flow.
	r.disrupt("7 delete the NATS pod, stream survives", e.consumers, func() string {
		before := streamState(t, r.conn.js)
		old := e.mustPods(t, ctx, "nats")
		e.mustKC(t, ctx, "delete", "pod", e.release+"-nats-0", "--wait=true", "--timeout=3m")
		waitReplaced(t, e, old)
		after := streamState(t, r.conn.js)
		t.Logf("stream before the restart: last seq %d; after: last seq %d", before.LastSeq, after.LastSeq)
		// Not the message count: a work-queue stream drops what was consumed.
		if after.LastSeq < before.LastSeq {
			t.Fatalf("stream went back over the NATS restart: before %+v, after %+v", before, after)
		}
		waitFlowing(t, r.conn.js, "after the NATS restart")
		return "kubectl delete pod (SIGTERM, no lame duck on a single server)"
	})

	// 8. the order event from v1 to v2 and back, one side at a time, from
	// the previous release's images: the safe order and the unsafe one.
	eventVersions(r)

	// 9. one consumer, producer stopped, nothing pending.
	r.drain(1)

	// 10. orders that fail on every delivery, dead-lettered; the fix; the
	// replay from inside the cluster.
	deadLetterReplay(r)
}

// waitReplaced waits until every NATS pod in old is gone or replaced by a
// new pod of the same name that is ready.
func waitReplaced(t *testing.T, e env, old []pod) {
	t.Helper()
	oldUID := map[string]bool{}
	for _, p := range old {
		oldUID[p.UID] = true
	}
	testkit.Eventually(t, fmt.Sprintf("%d NATS pods ready, the deleted one replaced", len(old)), stepTimeout, func() (bool, string) {
		pods, err := e.pods(context.Background(), "nats")
		if err != nil {
			return false, err.Error()
		}
		ready := 0
		var seen []string
		for _, p := range pods {
			switch {
			case oldUID[p.UID] && p.Deleting:
				seen = append(seen, "deleted: "+p.String())
			case p.Ready && !p.Deleting:
				ready++
			default:
				seen = append(seen, p.String())
			}
		}
		return ready == len(old) && len(pods) == len(old), describe(seen)
	}, testkit.Every(time.Second), testkit.Verbose())
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

func streamInfo(js natsjs.JetStream, name string) (*natsjs.StreamInfo, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", name, err)
	}
	return s.Info(ctx)
}

func streamState(t *testing.T, js natsjs.JetStream) natsjs.StreamState {
	t.Helper()
	var st natsjs.StreamState
	testkit.Eventually(t, "stream "+names.Stream+" info", flowTimeout, testkit.NoError(func() error {
		info, err := streamInfo(js, names.Stream)
		if err == nil {
			st = info.State
		}
		return err
	}))
	return st
}

// waitFlowing waits until new orders are both stored in the stream and
// recorded by the consumers (new writes to the ledger bucket's stream). Not
// the durable consumer's ack floor: after a NATS restart it can sit on one
// order whose ack was lost until that order is redelivered, ACK_WAIT later,
// while every order after it is processed.
func waitFlowing(t *testing.T, js natsjs.JetStream, when string) {
	t.Helper()
	var firstStored, firstProcessed uint64
	seen := false
	testkit.Eventually(t, "orders flowing "+when, flowTimeout, func() (bool, string) {
		stored, err := streamInfo(js, names.Stream)
		if err != nil {
			return false, err.Error()
		}
		processed, err := streamInfo(js, "KV_"+names.Bucket)
		if err != nil {
			return false, err.Error()
		}
		if !seen {
			firstStored, firstProcessed, seen = stored.State.LastSeq, processed.State.LastSeq, true
			return false, "first sample"
		}
		return stored.State.LastSeq > firstStored && processed.State.LastSeq > firstProcessed,
			fmt.Sprintf("stream %s last seq %d (from %d), KV %s writes %d (from %d)", names.Stream,
				stored.State.LastSeq, firstStored, names.Bucket, processed.State.LastSeq, firstProcessed)
	}, testkit.Every(time.Second), testkit.Verbose())
}
