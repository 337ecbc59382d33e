//go:build e2e

package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/distsys-go/orders/internal/testkit"
	"github.com/distsys-go/orders/test/audit"
)

// scenario is one scenario run on one release in its own namespace: the steps and
// their timings, the producers' logs, the pods' metrics, the NATS
// connection and the disruptions measured.
type scenario struct {
	t        *testing.T
	e        env
	name     string
	ctx      context.Context
	steps    []stepTime
	logs     *pubLog
	scr      *scraper
	conn     *natsConn
	faults   []*disruption
	injected time.Time // set by inject during a fault
	report   string    // the audit and fault tables, once audited
	extra    string    // the scenario's own tables, added to its report
	// published are orders the scenario published itself (the
	// dead-letter step's), audited with the producers'.
	published []string
	// bad are the bad messages the scenario sent, each to be
	// dead-lettered exactly once (audit.Expect.Bad).
	bad []audit.Sent
}

type stepTime struct {
	name string
	took time.Duration
}

func newScenario(t *testing.T, e env, name string) *scenario {
	r := &scenario{t: t, e: e, name: name, ctx: context.Background()}
	// Following starts before the install: the producer's first orders
	// are in its log from its first second.
	r.logs = startPubLog(e)
	r.scr = startScraper(e, scrapeEvery)
	t.Cleanup(func() {
		if r.conn != nil {
			r.conn.close()
		}
		r.scr.close()
		if r.report == "" {
			r.logs.finish(0)
			r.printSteps("step timings (scenario stopped early)")
		}
	})
	return r
}

// step runs fn as one timed step of the scenario.
func (r *scenario) step(name string, fn func()) {
	r.t.Helper()
	r.t.Logf("=== step: %s", name)
	start := time.Now()
	defer func() {
		took := time.Since(start).Round(100 * time.Millisecond)
		r.steps = append(r.steps, stepTime{name, took})
		r.t.Logf("=== step done in %s: %s", took, name)
	}()
	fn()
}

// disrupt is step plus the measurement of a fault (see disrupt).
func (r *scenario) disrupt(name string, consumers int, fault func() string) {
	r.t.Helper()
	r.record(name, consumers, false, fault)
}

// plannedExit is disrupt for a fault that stops NATS servers the planned
// way (lame duck): its publish gap is checked under plannedGapBound.
func (r *scenario) plannedExit(name string, consumers int, fault func() string) {
	r.t.Helper()
	r.record(name, consumers, true, fault)
}

func (r *scenario) record(name string, consumers int, planned bool, fault func() string) {
	r.t.Helper()
	r.step(name, func() {
		r.injected = time.Time{}
		d := disrupt(r.t, r.e, r.scr, consumers, name, fault)
		d.planned, d.injected = planned, d.start
		if !r.injected.IsZero() {
			d.injected = r.injected
		}
		d.attribute(r.t, r.e)
		r.t.Logf("%s: stream's new leader: %s", name, d.electionCell())
		r.faults = append(r.faults, d)
	})
}

// inject marks the moment a fault function acts (a kill, a delete), which
// its preparations (finding the leader) follow: the servers' elections are
// timed from it.
func (r *scenario) inject() { r.injected = time.Now() }

func (r *scenario) printSteps(title string) {
	if len(r.steps) == 0 {
		return
	}
	s := r.stepTable(title).String()
	fmt.Print(s)
	_ = os.WriteFile(filepath.Join(r.e.artifacts, r.name+"-steps.txt"), []byte(s), 0o644)
}

func (r *scenario) stepTable(title string) *testkit.Table {
	tb := &testkit.Table{Title: title, Header: []string{"step", "took"}}
	var total time.Duration
	for _, s := range r.steps {
		tb.Add(s.name, s.took)
		total += s.took
	}
	tb.Add("total", total)
	return tb
}

// install runs helm install --wait of this chart with the producer at the
// scenario's rate and the given extra values, checks every NATS PVC is
// bound, and runs helm test.
func (r *scenario) install(extra ...string) {
	r.step("1 helm install --wait", func() { r.installRelease(r.e.chart, extra...) })
	r.helmTest("1 helm test")
}

// releaseValues are the values every install and every upgrade without
// --reuse-values gives: the producer's rate and the images under test.
func (e env) releaseValues() []string {
	args := []string{"--set-string", "producer.env.PUBLISH_RATE=" + e.rate}
	if e.tag != "" {
		args = append(args, "--set", "producer.image.tag="+e.tag, "--set", "consumer.image.tag="+e.tag)
	}
	return args
}

// installRelease installs chart (this one or an older one) in the
// scenario's namespace and checks every NATS PVC is bound.
func (r *scenario) installRelease(chart string, extra ...string) {
	t, e := r.t, r.e
	e.createNamespace(t, r.ctx)
	args := append([]string{"install", e.release, chart, "--create-namespace", "--wait", "--timeout", e.helmTimeout}, e.releaseValues()...)
	e.mustHelm(t, r.ctx, append(args, extra...)...)
	pvc := e.mustKC(t, r.ctx, "get", "pvc", "-o", "jsonpath={range .items[*]}{.metadata.name}={.status.phase} {end}")
	if strings.Contains(pvc, "=Pending") || !strings.Contains(pvc, "=Bound") {
		t.Fatalf("NATS PVCs not all bound: %q", pvc)
	}
	t.Logf("PVCs: %s", pvc)
}

// helmTest runs the chart's helm test as a step.
func (r *scenario) helmTest(name string) {
	r.step(name, func() {
		out := r.e.mustHelm(r.t, r.ctx, "test", r.e.release, "--logs", "--timeout", r.e.helmTimeout)
		r.t.Logf("helm test:\n%s", lastLines(out, 4))
	})
}

// drain stops the producer, leaves consumers consumer pods (consumers < 0:
// as many as their autoscaler keeps), and waits until the durable has
// nothing pending and every producer log was read to its end.
func (r *scenario) drain(consumers int) {
	t, e := r.t, r.e
	consumerDeploy := "deploy/" + e.release + "-consumer"
	want := fmt.Sprint(consumers)
	if consumers < 0 {
		want = "the autoscaler's"
	}
	r.step(fmt.Sprintf("drain: consumers to %s, producer to 0, its pods gone", want), func() {
		r.scr.scrapeOnce()
		if consumers >= 0 {
			e.mustKC(t, r.ctx, "scale", consumerDeploy, fmt.Sprintf("--replicas=%d", consumers))
		}
		r.scr.scrapeOnce()
		e.mustKC(t, r.ctx, "scale", "deploy/"+e.release+"-producer", "--replicas=0")
		testkit.Eventually(t, fmt.Sprintf("0 producer pods and %s consumer pods", want), stepTimeout, func() (bool, string) {
			prod, err1 := e.pods(r.ctx, "producer")
			cons, err2 := e.pods(r.ctx, "consumer")
			if err1 != nil || err2 != nil {
				return false, fmt.Sprint(err1, err2)
			}
			return len(prod) == 0 && (consumers < 0 || len(cons) == consumers), fmt.Sprintf("%d producer pods (%s), %d consumer pods (%s)",
				len(prod), describePods(prod), len(cons), describePods(cons))
		}, testkit.Every(2*time.Second), testkit.Verbose())
	})
	r.step("drain: num_pending 0, num_ack_pending 0, producer logs read", func() {
		// Every version's durable that exists.
		testkit.Eventually(t, "durable consumers drained", drainTimeout, func() (bool, string) {
			ctx, cancel := context.WithTimeout(r.ctx, 10*time.Second)
			defer cancel()
			var seen []string
			drained := true
			for _, name := range names.Durables() {
				cons, err := r.conn.js.Consumer(ctx, names.Stream, name)
				if errors.Is(err, natsjs.ErrConsumerNotFound) {
					continue
				}
				if err != nil {
					return false, err.Error()
				}
				info := cons.CachedInfo()
				drained = drained && info.NumPending == 0 && info.NumAckPending == 0
				seen = append(seen, fmt.Sprintf("%s: num_pending %d, num_ack_pending %d", name, info.NumPending, info.NumAckPending))
			}
			return drained, strings.Join(seen, "; ")
		}, testkit.Every(time.Second), testkit.Verbose())
		r.scr.scrapeOnce() // the last consumers' final counters
		if running := r.logs.finish(time.Minute); len(running) > 0 {
			t.Fatalf("the logs of %v did not end within a minute of their pods' exit", running)
		}
	})
}

// finish audits, prints and saves the report, and fails on any loss or
// second effect.
func (r *scenario) finish() {
	var a clusterAudit
	r.step("audit: producers' logs against the ledger", func() {
		a = runAudit(r.t, r.conn.js, audit.Expect{Published: append(r.logs.ids(), r.published...), GivenUp: r.logs.givenUp(), Bad: r.bad})
	})
	times := r.logs.times()
	for _, d := range r.faults {
		d.measure(times)
		d.checkFailover(r.t)
	}
	a.fill(r)
	r.report = a.auditTable(r.name).String() + disruptionTable(r.name+": faults", r.faults).String() +
		a.details() + r.extra + r.stepTable(r.name+": step timings").String()
	fmt.Print(r.report)
	if err := os.WriteFile(filepath.Join(r.e.artifacts, r.name+"-report.txt"), []byte(r.report), 0o644); err != nil {
		r.t.Log(err)
	}
	a.check(r.t)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
