//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/distsys-go/orders/internal/testkit"
	"github.com/distsys-go/orders/platform/tracing"
	"github.com/distsys-go/orders/test/audit"
)

// The monitoring scenario's settings. Its Prometheus scrapes and
// evaluates every monitorEvery (the PodMonitors' interval, set through
// monitoring.interval); the alerts' `for:` are shortened through
// monitoring.rules.for so a fault shows in minutes; the stream is small
// (streamBytes) so that slow consumers fill it within a minute.
const (
	monitorEvery = 5 * time.Second
	streamBytes  = 2 << 20
	badOrders    = 5
	alertTimeout = 10 * time.Minute
)

// monitoringFor are the shortened `for:` durations (the defaults are 5 to
// 10 minutes; OrdersDeadLettered and OrdersDeadLetterFailed have none).
var monitoringFor = map[string]string{
	"OrdersBacklogGrowing":    "30s",
	"OrdersNotProcessing":     "30s",
	"OrdersPublishErrors":     "30s",
	"OrdersStorageNearlyFull": "15s",
	"OrdersConsumersMissing":  "30s",
}

// monitoring: the chart's alerts, dashboard and traces against real
// backends (backends_test.go). Prometheus scrapes the pods as the
// chart's PodMonitors say (the Prometheus Operator's CRDs applied, so the
// API server validates them) and evaluates the rules of its
// PrometheusRule; Jaeger stores the services' traces. Steady flow:
// every pod scraped, nothing fires, the dashboard's flow panels show
// data, one order's trace is whole. Then the faults, each with the alerts
// it must drive: bad input (OrdersDeadLettered fires and reaches the
// alert receiver); consumers whose work outlasts ACK_WAIT, slower than
// the orders arrive (orders redelivered, one trace with both deliveries;
// OrdersBacklogGrowing pending; the small stream fills:
// OrdersStorageNearlyFull fires, OrdersPublishErrors pending); consumers
// scaled to zero while orders flow (OrdersNotProcessing pending: with no
// consumer, no backlog gauge is left, only the producers' counter). At
// the end every alert's every series
// selector matches series (a misspelt metric or label would not), every
// dashboard query runs, and the audit holds as in every scenario.
func monitoringScenario(r *scenario) {
	t, e, ctx := r.t, r.e, r.ctx
	consumerDeploy := "deploy/" + e.release + "-consumer"
	b := needBackends(t, e)
	kubeconfig := os.Getenv("KUBECONFIG")
	if kubeconfig == "" {
		t.Fatal("KUBECONFIG is not set: Prometheus and kube-state-metrics reach the cluster through it")
	}
	var watch *alertWatch

	r.step("M1 backends: Jaeger, kube-state-metrics; the Prometheus Operator's CRDs", func() {
		e.createNamespace(t, ctx)
		b.startJaeger(t, nodeAddress(t, e))
		b.startKSM(t, kubeconfig, e.namespace)
		applyCRDs(t, e, b.crds)
	})
	sets := []string{
		"--set", "monitoring.kind=PodMonitor", "--set", "monitoring.interval=" + monitorEvery.String(),
		"--set", "monitoring.rules.enabled=true",
		"--set", "tracing.enabled=true", "--set", "tracing.endpoint=" + b.otlpURL,
		"--set", fmt.Sprintf("stream.maxBytes=%d", streamBytes),
		"--set-string", "consumer.env.METRICS_INTERVAL=" + monitorEvery.String(),
	}
	for name, d := range monitoringFor {
		sets = append(sets, "--set", "monitoring.rules.for."+name+"="+d)
	}
	r.install(sets...)
	r.conn = e.connectNATS(t, 1, e.releaseCreds(t))

	r.step("M2 Prometheus from the release's PodMonitors and PrometheusRule; every pod scraped", func() {
		var pms struct {
			Items []podMonitor `json:"items"`
		}
		mustJSON(t, e.mustKC(t, ctx, "get", "podmonitors", "-o", "json"), &pms)
		var jobs []map[string]any
		for _, pm := range pms.Items {
			c, err := scrapeConfigs(pm, kubeconfig)
			if err != nil {
				t.Fatal(err)
			}
			jobs = append(jobs, c...)
		}
		if len(jobs) != 2 {
			t.Fatalf("%d scrape jobs from %d PodMonitors, want one per side", len(jobs), len(pms.Items))
		}
		jobs = append(jobs, map[string]any{
			"job_name": "kube-state-metrics", "honor_labels": true,
			"static_configs": []any{map[string]any{"targets": []string{b.ksmAddr}}},
		})
		var rule struct {
			Spec json.RawMessage `json:"spec"`
		}
		mustJSON(t, e.mustKC(t, ctx, "get", "prometheusrule", e.fullname(), "-o", "json"), &rule)
		b.startPrometheus(t, jobs, rule.Spec, monitorEvery)
		watch = startAlertWatch(t, b)
		waitScraped(t, e, b)
		rules, err := b.alertRules()
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range slices.Sorted(maps.Keys(rules)) {
			if rl := rules[name]; rl.Health == "err" {
				t.Errorf("alert %s: Prometheus cannot evaluate it: %s", name, rl.Error)
			}
		}
		var spec struct {
			Groups []struct {
				Rules []struct {
					Alert string `json:"alert"`
				} `json:"rules"`
			} `json:"groups"`
		}
		mustJSON(t, string(rule.Spec), &spec)
		var want []string
		for _, g := range spec.Groups {
			for _, rl := range g.Rules {
				want = append(want, rl.Alert)
			}
		}
		if got := slices.Sorted(maps.Keys(rules)); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
			t.Fatalf("Prometheus loaded the alerting rules %v, want the PrometheusRule's %v", got, want)
		}
	})

	r.step("M3 steady flow: nothing fires; the dashboard's flow panels show data", func() {
		waitQuery(t, b, "orders published and processed, as Prometheus sees it",
			fmt.Sprintf(`sum(rate(orders_processed_total{namespace=%q}[1m])) > 0 and on() sum(rate(orders_published_total{namespace=%q}[1m])) > 0`, e.namespace, e.namespace))
		// A Prometheus that has just started has seen the producer before
		// the consumers' rates exist (OrdersNotProcessing may go pending
		// for an evaluation or two, far under its `for:`): the rules first
		// settle, then four evaluations with flowing orders and full gauges
		// must leave nothing pending or firing.
		testkit.Eventually(t, "no alert active once Prometheus has every rate", time.Minute, func() (bool, string) {
			active := watch.active()
			return len(active) == 0, fmt.Sprint(active)
		}, testkit.Every(time.Second), testkit.Verbose())
		watch.mark("steady flow")
		quiet := time.Now().Add(4 * monitorEvery)
		testkit.Eventually(t, "four quiet evaluations", time.Minute, func() (bool, string) {
			if active := watch.active(); len(active) > 0 {
				t.Fatalf("in steady flow, alerts are active: %v", active)
			}
			return time.Now().After(quiet), "waiting"
		}, testkit.Every(monitorEvery))
		r.extra += checkDashboard(t, b, e.namespace, "steady flow", flowPanel).String()
	})

	r.step("M4 one order's trace in Jaeger: publish, process, ledger record", func() {
		ids := r.logs.ids()
		if len(ids) < 100 {
			t.Fatalf("%d published orders logged", len(ids))
		}
		r.extra += checkOrderTrace(t, b, e, ids[len(ids)/2]).String()
	})

	r.step(fmt.Sprintf("M5 bad input: %d malformed orders dead-lettered; OrdersDeadLettered fires and is sent", badOrders), func() {
		watch.mark("bad input")
		for i := range badOrders {
			body := []byte(fmt.Sprintf(`{"id":"order-malformed-%d",`, i))
			ack, err := r.conn.js.Publish(ctx, names.Orders, body, natsjs.WithMsgID(fmt.Sprintf("malformed-%s-%d", r.name, i)))
			if err != nil {
				t.Fatal(err)
			}
			r.bad = append(r.bad, audit.Sent{Body: body, Seq: ack.Sequence})
		}
		watch.waitState(t, "OrdersDeadLettered", "firing")
		waitReceived(t, b, "OrdersDeadLettered")
	})

	var slowFrom time.Time
	r.step("M6 consumers slower than the orders (WORK_TIME=5s, ACK_WAIT=4s): redeliveries, the stream fills; OrdersBacklogGrowing pending, OrdersStorageNearlyFull fires, OrdersPublishErrors pending", func() {
		watch.mark("slow consumers")
		slowFrom = time.Now()
		e.mustHelm(t, ctx, "upgrade", e.release, e.chart, "--reuse-values", "--wait", "--timeout", e.helmTimeout,
			"--set-string", "consumer.env.WORK_TIME=5s", "--set-string", "consumer.env.ACK_WAIT=4s")
		e.mustKC(t, ctx, "rollout", "status", consumerDeploy, "--timeout=5m")
		watch.waitState(t, "OrdersBacklogGrowing", "pending")
		r.extra += checkRedeliveredTrace(t, b, e, slowFrom).String()
		watch.waitState(t, "OrdersStorageNearlyFull", "firing")
		waitReceived(t, b, "OrdersStorageNearlyFull")
		watch.waitState(t, "OrdersPublishErrors", "pending")
	})

	r.step("M7 consumers scaled to zero while orders flow: OrdersNotProcessing pending", func() {
		watch.mark("consumers at zero")
		e.mustKC(t, ctx, "scale", consumerDeploy, "--replicas=0")
		// Its rates look back 5 minutes: the gone consumers' last counts
		// leave them after that.
		watch.waitState(t, "OrdersNotProcessing", "pending")
	})

	r.step("M8 consumers back (WORK_TIME=0s, ACK_WAIT=30s, two replicas): the backlog drains", func() {
		watch.mark("recovered")
		e.mustHelm(t, ctx, "upgrade", e.release, e.chart, "--reuse-values", "--wait", "--timeout", e.helmTimeout,
			"--set-string", "consumer.env.WORK_TIME=0s", "--set-string", "consumer.env.ACK_WAIT=30s")
		e.mustKC(t, ctx, "scale", consumerDeploy, "--replicas=2")
		e.mustKC(t, ctx, "rollout", "status", consumerDeploy, "--timeout=5m")
		waitCaughtUp(t, r)
		// The series of the consumers that were gone for five minutes
		// are stale: the dashboard's panels show data again once
		// Prometheus has found the new pods and scraped them often enough
		// for a rate over the panels' $__rate_interval.
		waitScraped(t, e, b)
		waitQuery(t, b, "the new consumers' processing rate in Prometheus", fmt.Sprintf(`sum(rate(orders_processed_total{namespace=%q}[%s]))`, e.namespace, rateInterval))
	})

	r.step("M9 every alert's selectors match series; every dashboard query runs; the fault panels show data", func() {
		r.extra += checkSelectors(t, b).String()
		r.extra += checkDashboard(t, b, e.namespace, "after the faults", faultPanel).String()
		r.extra += watch.table(b).String()
	})

	r.drain(1)
}

// nodeAddress is the node's InternalIP, where the pods reach this machine.
func nodeAddress(t *testing.T, e env) string {
	t.Helper()
	out, err := run(context.Background(), e.kubectl, "get", "nodes", "-o", `jsonpath={.items[0].status.addresses[?(@.type=="InternalIP")].address}`)
	if err != nil || strings.TrimSpace(out) == "" {
		t.Fatalf("the node's InternalIP: %q %v", out, err)
	}
	return strings.TrimSpace(out)
}

// applyCRDs applies the Prometheus Operator's CRDs the chart's monitoring
// objects need, unless the cluster has them (a real operator's, used as
// they are). They stay, like the KEDA the autoscaling scenarios install:
// the release's uninstall, after the scenario, still needs them.
func applyCRDs(t *testing.T, e env, dir string) {
	t.Helper()
	ctx := context.Background()
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no CRDs in %s: %v", dir, err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "monitoring.coreos.com_"), ".yaml") + ".monitoring.coreos.com"
		if _, err := run(ctx, e.kubectl, "get", "crd", name); err == nil {
			t.Logf("CRD %s exists: used as it is", name)
			continue
		}
		if _, err := run(ctx, e.kubectl, "apply", "--server-side", "-f", f); err != nil {
			t.Fatal(err)
		}
		if _, err := run(ctx, e.kubectl, "wait", "--for=condition=Established", "--timeout=60s", "crd/"+name); err != nil {
			t.Fatal(err)
		}
		t.Logf("CRD %s applied from %s", name, f)
	}
}

func mustJSON(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("%v: %.200s", err, s)
	}
}

// waitScraped waits until Prometheus scrapes every producer and consumer
// pod through the PodMonitors' jobs, and kube-state-metrics.
func waitScraped(t *testing.T, e env, b *backends) {
	t.Helper()
	testkit.Eventually(t, "every pod and kube-state-metrics scraped, up", 2*time.Minute, func() (bool, string) {
		prod, err1 := e.pods(context.Background(), "producer")
		cons, err2 := e.pods(context.Background(), "consumer")
		ts, err3 := b.targets()
		if err1 != nil || err2 != nil || err3 != nil {
			return false, fmt.Sprint(err1, err2, err3)
		}
		want := map[string]bool{}
		for _, p := range append(prod, cons...) {
			want[p.Name] = true
		}
		up, ksm := 0, false
		var seen []string
		for _, tg := range ts {
			seen = append(seen, fmt.Sprintf("%s %s %s %s", tg.Labels["job"], tg.Labels["pod"], tg.Health, tg.LastError))
			if tg.Health != "up" {
				continue
			}
			if tg.Labels["job"] == "kube-state-metrics" {
				ksm = true
			} else if want[tg.Labels["pod"]] && tg.Labels["namespace"] == e.namespace && tg.Labels["endpoint"] == "http" {
				up++
			}
		}
		return up == len(want) && ksm && len(want) >= 2, fmt.Sprintf("%d of %d pods up, kube-state-metrics %v: %v", up, len(want), ksm, seen)
	}, testkit.Every(2*time.Second), testkit.Verbose())
}

// waitQuery waits until an instant query returns a series.
func waitQuery(t *testing.T, b *backends, what, q string) {
	t.Helper()
	testkit.Eventually(t, what, 2*time.Minute, func() (bool, string) {
		s, err := b.query(q)
		return err == nil && len(s) > 0, fmt.Sprintf("%d series (%v)", len(s), err)
	}, testkit.Every(monitorEvery))
}

// waitReceived waits until Prometheus sent the alert to the receiver.
func waitReceived(t *testing.T, b *backends, name string) {
	t.Helper()
	testkit.Eventually(t, name+" sent to the Alertmanager API (the test's receiver)", 2*time.Minute, func() (bool, string) {
		_, ok := b.receiver.received(name)
		return ok, "not yet"
	}, testkit.Every(time.Second))
}

// waitCaughtUp waits until the consumers keep up with the producer
// again: fewer than 100 orders waiting in the durable.
func waitCaughtUp(t *testing.T, r *scenario) {
	t.Helper()
	testkit.Eventually(t, "the backlog drained to under 100 orders", drainTimeout, func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		cons, err := r.conn.js.Consumer(ctx, names.Stream, names.Durable)
		if err != nil {
			return false, err.Error()
		}
		info := cons.CachedInfo()
		return info.NumPending < 100, fmt.Sprintf("num_pending %d, num_ack_pending %d", info.NumPending, info.NumAckPending)
	}, testkit.Every(2*time.Second), testkit.Verbose())
}

// ---- alerts ----------------------------------------------------------------------

// alertWatch polls Prometheus' alerts and remembers, per alert and per
// phase of the scenario, when in that phase it was first pending and first
// firing. Per phase, not once: an alert may be active for an evaluation in
// one phase (OrdersNotProcessing while a new Prometheus has the producer's
// rates before the consumers') and must be seen again in the phase that
// drives it.
type alertWatch struct {
	b      *backends
	mu     sync.Mutex
	phase  string
	phases []string             // in the order they began
	start  map[string]time.Time // phase: when it began
	seen   map[seenKey]time.Duration
	now    []promAlert
}

// seenKey is an alert in a state in a phase; its value in alertWatch.seen
// is when, after the phase began, it was first seen so.
type seenKey struct{ alert, state, phase string }

func startAlertWatch(t *testing.T, b *backends) *alertWatch {
	w := &alertWatch{b: b, phase: "start", phases: []string{"start"},
		start: map[string]time.Time{"start": time.Now()}, seen: map[seenKey]time.Duration{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			w.poll()
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return w
}

func (w *alertWatch) poll() {
	as, err := w.b.alerts()
	if err != nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.now = as
	for _, a := range as {
		name := a.Labels["alertname"]
		states := []string{a.State}
		if a.State == "firing" {
			states = append(states, "pending") // it was, between two polls
		}
		for _, s := range states {
			k := seenKey{name, s, w.phase}
			if _, ok := w.seen[k]; !ok {
				w.seen[k] = time.Since(w.start[w.phase]).Round(time.Second)
			}
		}
	}
}

// mark starts a phase: what follows is attributed to it.
func (w *alertWatch) mark(phase string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.phase, w.start[phase] = phase, time.Now()
	w.phases = append(w.phases, phase)
}

// active are the alerts pending or firing at the last poll.
func (w *alertWatch) active() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, a := range w.now {
		out = append(out, fmt.Sprintf("%s %s %v", a.Labels["alertname"], a.State, a.Labels))
	}
	return out
}

// waitState waits until the alert reached state (pending: pending or
// firing) in the current phase.
func (w *alertWatch) waitState(t *testing.T, name, state string) {
	t.Helper()
	testkit.Eventually(t, fmt.Sprintf("%s %s, as Prometheus' /api/v1/alerts says", name, state), alertTimeout, func() (bool, string) {
		w.mu.Lock()
		defer w.mu.Unlock()
		_, ok := w.seen[seenKey{name, state, w.phase}]
		active := make([]string, 0, len(w.now))
		for _, a := range w.now {
			active = append(active, a.Labels["alertname"]+" "+a.State)
		}
		return ok, fmt.Sprintf("active now: %v; %s %s so far: %s", active, name, state, w.when(name, state))
	}, testkit.Every(2*time.Second), testkit.Verbose())
	t.Logf("%s %s in phase %q", name, state, w.phase)
}

// when lists the phases in which the alert was seen in state, each with
// how long after the phase began ("never" if in none). w.mu is held.
func (w *alertWatch) when(name, state string) string {
	var out []string
	for _, p := range w.phases {
		if at, ok := w.seen[seenKey{name, state, p}]; ok {
			out = append(out, fmt.Sprintf("%s +%s", p, at))
		}
	}
	if len(out) == 0 {
		return "never"
	}
	return strings.Join(out, ", ")
}

// table is each alert's states as Prometheus reported them, per phase.
func (w *alertWatch) table(b *backends) *testkit.Table {
	rules, _ := b.alertRules()
	w.mu.Lock()
	defer w.mu.Unlock()
	tb := &testkit.Table{
		Title:  "monitoring: each alert as Prometheus reported it (/api/v1/alerts, polled every second)",
		Header: []string{"alert", "pending", "firing", "sent to the receiver", "state at the end"},
		Notes:  []string{"phase +time: each phase of the scenario in which the alert was seen in that state, and when first after the phase began; for: shortened through monitoring.rules.for"},
	}
	for _, name := range slices.Sorted(maps.Keys(rules)) {
		sent := "no"
		if at, ok := b.receiver.received(name); ok {
			sent = at.UTC().Format("15:04:05")
		}
		tb.Add(name, w.when(name, "pending"), w.when(name, "firing"), sent, rules[name].State)
	}
	return tb
}

// checkSelectors holds every alert's expression to the series it reads:
// each selector, from Prometheus' own parser, must match series now
// (after the faults, every counter the rules read exists).
func checkSelectors(t *testing.T, b *backends) *testkit.Table {
	t.Helper()
	rules, err := b.alertRules()
	if err != nil {
		t.Fatal(err)
	}
	tb := &testkit.Table{Title: "monitoring: the series each alert's selectors match", Header: []string{"alert", "selector", "series"}}
	for _, name := range slices.Sorted(maps.Keys(rules)) {
		sels, err := b.selectors(rules[name].Query)
		if err != nil {
			t.Fatalf("alert %s: %v", name, err)
		}
		for _, sel := range sels {
			s, err := b.query("count(" + sel + ")")
			n := "0"
			if err == nil && len(s) == 1 {
				n = fmt.Sprint(s[0].Value[1])
			}
			tb.Add(name, sel, n)
			if err != nil || n == "0" {
				t.Errorf("alert %s: selector %s matches no series (%v): a misspelt metric or label?", name, sel, err)
			}
		}
	}
	return tb
}

// ---- the dashboard ----------------------------------------------------------------

// Each panel of dashboards/orders.json by title: flowPanel ones must show
// data while orders flow, faultPanel ones once the scenario's faults
// happened (dead letters, redeliveries, publish errors); the others must
// only run. A panel missing here fails the test: a new panel says which
// it is.
const (
	flowPanel  = "flow"
	faultPanel = "fault"
	runsPanel  = "runs"
)

var panelKinds = map[string]string{
	"Published per second, by producer pod":          flowPanel,
	"Processed per second, by consumer pod":          flowPanel,
	"Publish errors per second, by reason":           faultPanel,
	"Event age p50 / p99":                            flowPanel,
	"Backlog of the durable":                         flowPanel,
	"Redeliveries":                                   faultPanel,
	"Dead letters by reason":                         faultPanel,
	"Duplicates skipped per second":                  flowPanel,
	"NATS reconnects and consume stalls":             runsPanel,
	"Dead letters waiting, and the dead-letter tool": flowPanel,
	"Stream and ledger fill":                         flowPanel,
	"Stream messages and bytes":                      flowPanel,
	"Age of the JetStream gauges":                    flowPanel,
	"Versions running":                               flowPanel,
}

// The dashboard's queries run at panelStep, and $__rate_interval is
// filled as Grafana computes it: max(step + scrape interval, 4 x scrape
// interval).
const (
	panelStep    = 15 * time.Second
	rateInterval = max(panelStep+monitorEvery, 4*monitorEvery)
)

// checkDashboard runs every panel query of the chart's dashboard as
// Grafana would: $namespace from the variable's own query
// (label_values(orders_build_info, namespace)), $__rate_interval as
// Grafana computes it (max(step + scrape interval, 4 x scrape interval)),
// a range query over the last five minutes. Panels of kind want (and the
// flow ones always) must return series; every query must run.
func checkDashboard(t *testing.T, b *backends, namespace, when, want string) *testkit.Table {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "charts", "orders", "dashboards", "orders.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Type    string `json:"type"`
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatal(err)
	}
	var nss []string
	if err := b.promAPI("/api/v1/label/namespace/values", url.Values{"match[]": {"orders_build_info"}}, &nss); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(nss, namespace) {
		t.Fatalf("the dashboard's $namespace offers %v, not %s", nss, namespace)
	}
	tb := &testkit.Table{
		Title:  "monitoring: the dashboard's panels (" + when + ")",
		Header: []string{"panel", "kind", "series per query"},
		Notes:  []string{fmt.Sprintf("$namespace=%s, $__rate_interval=%s, range queries over 5m at step %s", namespace, rateInterval, panelStep)},
	}
	for _, p := range d.Panels {
		if p.Type == "row" {
			continue
		}
		kind, ok := panelKinds[p.Title]
		if !ok {
			t.Errorf("dashboard panel %q is not in panelKinds: say whether it shows data in flow, after faults, or may stay empty", p.Title)
			continue
		}
		var counts []string
		data := false
		for _, tg := range p.Targets {
			q := strings.NewReplacer("$namespace", namespace, "$__rate_interval", rateInterval.String()).Replace(tg.Expr)
			s, err := b.queryRange(q, 5*time.Minute, panelStep)
			if err != nil {
				t.Errorf("panel %q: query %s: %v", p.Title, q, err)
				continue
			}
			counts = append(counts, fmt.Sprint(len(s)))
			data = data || len(s) > 0
		}
		if (kind == flowPanel || kind == want) && kind != runsPanel && !data {
			t.Errorf("panel %q (%s): no query returned series (%s)", p.Title, when, strings.Join(counts, ", "))
		}
		tb.Add(p.Title, kind, strings.Join(counts, ", "))
	}
	return tb
}

// ---- traces -------------------------------------------------------------------------

// The span names platform/tracing gives an order's trace, and the
// attribute that counts its deliveries.
var (
	publishOp   = tracing.PublishSpan(names.Orders)
	processOp   = tracing.ProcessSpan(names.Orders)
	ledgerOp    = tracing.LedgerRecordSpan
	deliveryTag = string(tracing.DeliveryCountKey)
)

// checkOrderTrace fetches the order's trace from Jaeger by the order.id
// its publish span carries and checks it is whole: the producer's publish
// span, the consumer's process span its child, the ledger record the
// process span's child.
func checkOrderTrace(t *testing.T, b *backends, e env, id string) *testkit.Table {
	t.Helper()
	var spans []jaegerSpan
	producer, consumer := e.fullname()+"-producer", e.fullname()+"-consumer"
	testkit.Eventually(t, "order "+id+"'s trace in Jaeger, publish to ledger record", time.Minute, func() (bool, string) {
		trs, err := b.jaegerTraces(context.Background(), "/api/traces", url.Values{
			"service": {producer}, "tags": {fmt.Sprintf(`{"order.id":%q}`, id)}, "lookback": {"1h"}, "limit": {"5"},
		})
		if err != nil || len(trs) != 1 {
			return false, fmt.Sprintf("%d traces (%v)", len(trs), err)
		}
		spans = trs[0]
		return len(byOp(spans, ledgerOp)) > 0, fmt.Sprintf("%d spans", len(spans))
	}, testkit.Every(2*time.Second), testkit.Verbose())
	pubs, procs, leds := byOp(spans, publishOp), byOp(spans, processOp), byOp(spans, ledgerOp)
	if len(pubs) != 1 || len(procs) != 1 || len(leds) != 1 {
		t.Fatalf("trace of %s: %d publish, %d process, %d ledger spans, want one each: %v", id, len(pubs), len(procs), len(leds), describeSpans(spans))
	}
	pub, proc, led := pubs[0], procs[0], leds[0]
	switch {
	case pub.service != producer || pub.parent() != "":
		t.Errorf("publish span %s: service %s, parent %q; want the producer's root span", pub.OperationName, pub.service, pub.parent())
	case proc.service != consumer || proc.parent() != pub.SpanID:
		t.Errorf("process span: service %s, parent %s; want the consumer's, a child of publish %s", proc.service, proc.parent(), pub.SpanID)
	case led.service != consumer || led.parent() != proc.SpanID:
		t.Errorf("ledger span: service %s, parent %s; want the consumer's, a child of process %s", led.service, led.parent(), proc.SpanID)
	}
	return spanTable("monitoring: order "+id+"'s trace "+pub.TraceID+" as Jaeger returned it", spans)
}

// checkRedeliveredTrace finds, among the traces Jaeger stored since from,
// an order the server delivered twice (work outlasting ACK_WAIT), and
// checks both deliveries' process spans are in its one trace, children of
// its publish span.
func checkRedeliveredTrace(t *testing.T, b *backends, e env, from time.Time) *testkit.Table {
	t.Helper()
	var found []jaegerSpan
	testkit.Eventually(t, "a redelivered order's trace in Jaeger", 3*time.Minute, func() (bool, string) {
		trs, err := b.jaegerTraces(context.Background(), "/api/traces", url.Values{
			"service": {e.fullname() + "-consumer"}, "operation": {processOp},
			"start": {fmt.Sprint(from.UnixMicro())}, "end": {fmt.Sprint(time.Now().UnixMicro())}, "limit": {"200"},
		})
		if err != nil {
			return false, err.Error()
		}
		for _, tr := range trs {
			if len(byOp(tr, processOp)) >= 2 && len(byOp(tr, publishOp)) == 1 {
				found = tr
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d traces, none with two process spans", len(trs))
	}, testkit.Every(3*time.Second), testkit.Verbose())
	pub := byOp(found, publishOp)[0]
	counts := map[string]bool{}
	for _, p := range byOp(found, processOp) {
		counts[p.tag(deliveryTag)] = true
		if p.parent() != pub.SpanID {
			t.Errorf("process span %s (delivery %s): parent %s, want the publish span %s", p.SpanID, p.tag(deliveryTag), p.parent(), pub.SpanID)
		}
	}
	if !counts["1"] || !counts["2"] {
		t.Errorf("process spans' delivery counts %v: want 1 and 2", counts)
	}
	return spanTable("monitoring: a redelivered order's trace "+pub.TraceID+" as Jaeger returned it", found)
}

func byOp(spans []jaegerSpan, name string) []jaegerSpan {
	var out []jaegerSpan
	for _, s := range spans {
		if s.OperationName == name {
			out = append(out, s)
		}
	}
	return out
}

func describeSpans(spans []jaegerSpan) []string {
	var out []string
	for _, s := range spans {
		out = append(out, fmt.Sprintf("%s/%s %s<-%s", s.service, s.OperationName, s.SpanID, s.parent()))
	}
	return out
}

// spanTable lists a trace's spans, parents before children.
func spanTable(title string, spans []jaegerSpan) *testkit.Table {
	tb := &testkit.Table{Title: title, Header: []string{"span", "service", "span id", "parent", "delivery", "order.id"}}
	depth := map[string]int{}
	sorted := slices.Clone(spans)
	for range sorted { // parents' depths settle in at most len passes
		for _, s := range sorted {
			if p := s.parent(); p != "" {
				depth[s.SpanID] = depth[p] + 1
			}
		}
	}
	sort.SliceStable(sorted, func(i, j int) bool { return depth[sorted[i].SpanID] < depth[sorted[j].SpanID] })
	for _, s := range sorted {
		parent := s.parent()
		if parent == "" {
			parent = "(root)"
		}
		tb.Add(strings.Repeat("  ", depth[s.SpanID])+s.OperationName, s.service, s.SpanID, parent,
			s.tag(deliveryTag), s.tag(string(tracing.OrderIDKey)))
	}
	return tb
}
