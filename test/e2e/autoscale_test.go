//go:build e2e

package e2e

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/distsys-go/orders/internal/testkit"
)

// The autoscaling scenario's numbers (docs/autoscaling.md has the
// arithmetic). A consumer replica works 2 orders at a time for 50 ms each:
// 40 orders/s. It holds at most PULL_MAX_MESSAGES + CONCURRENCY = 10 orders
// (buffered plus in its handlers), which KEDA counts as lag (ack pending),
// so the threshold is above that: 20 = 10 held + 10 waiting.
const (
	asMin, asMax      = 1, 5
	asConcurrency     = 2
	asWorkTime        = "50ms"
	asPullMax         = 8
	asLagThreshold    = 20
	asPolling         = 5  // s, KEDA's pollingInterval
	asScaleDownWindow = 30 // s, behavior.scaleDown.stabilizationWindowSeconds
	// asBurstRate is 3 replicas' worth: one replica falls behind by 80
	// orders/s, five drain the backlog at 80 orders/s.
	asBurstRate = 120
	asQuietRate = 20 // half of one replica
	// Scale-up: KEDA's poll, the HPA's 15 s sync and the pods' start; the
	// default scale-up policy (4 pods or 100 % per 15 s) allows 1 -> 5 in
	// one step.
	asScaleUpBound = 120 * time.Second
	// Scale-down: the window, then the HPA's sync and one policy period
	// (100 % per 15 s), KEDA's poll, the pods' termination.
	asScaleDownBound = asScaleDownWindow*time.Second + 120*time.Second
	// The CPU HPA: the consumers' CPU request is 20m; orders without work
	// time at asCPURate cost several times that.
	asCPUMax        = 3
	asCPURate       = 300
	asCPUTarget     = 50 // % of the request
	asCPUScaleBound = 4 * time.Minute
)

// autoscaling: install with KEDA on; a burst builds lag, the consumers
// scale up to the maximum; the lag drains; the rate drops and they scale
// down to the minimum, terminating consumers that hold orders; then the
// chart's CPU HPA (metrics-server) scales them under CPU load; drain and
// audit.
func autoscaling(r *scenario) {
	t, e := r.t, r.e
	r.install(kedaValues()...)
	r.conn = e.connectNATS(t, 1, e.releaseCreds(t))
	rl := startReplicaLog(e, r.conn.js, 2*time.Second)
	t.Cleanup(rl.close)
	var timeline []string

	r.step(fmt.Sprintf("1 ScaledObject ready, consumers at the minimum (%d)", asMin), func() {
		waitScaledObjectReady(r)
		waitReplicas(r, rl, asMin, stepTimeout)
		waitFlowing(t, r.conn.js, "before the burst")
	})

	var burst, up time.Time
	r.step(fmt.Sprintf("2 burst: %d orders/s, consumers scale up to the maximum (%d) within %s", asBurstRate, asMax, asScaleUpBound), func() {
		burst = setRate(r, rl, asBurstRate)
		up = waitReplicas(r, rl, asMax, asScaleUpBound)
		rl.mark(fmt.Sprintf("%d replicas ready", asMax))
	})

	var drained time.Time
	r.step("3 the lag drains (num_pending 0) at the burst rate", func() {
		testkit.Eventually(t, "num_pending 0", drainTimeout, func() (bool, string) {
			s := rl.last()
			return s.pending == 0, fmt.Sprintf("replicas %d, lag %d, pending %d", s.replicas, s.lag, s.pending)
		}, testkit.Every(time.Second), testkit.Verbose())
		drained = rl.mark("num_pending 0")
	})

	var quiet, down time.Time
	r.step(fmt.Sprintf("4 rate drops to %d orders/s, consumers scale down to %d within %s", asQuietRate, asMin, asScaleDownBound), func() {
		quiet = setRate(r, rl, asQuietRate)
		down = waitReplicas(r, rl, asMin, asScaleDownBound)
		rl.mark(fmt.Sprintf("%d replica", asMin))
		waitFlowing(t, r.conn.js, "after the scale-down")
	})
	firstDown, _ := rl.firstAfter(burst, func(s replicaSample) bool { return s.replicas >= 0 && s.replicas < asMax && s.at.After(up) })
	timeline = append(timeline, fmt.Sprintf("  KEDA: burst -> %d replicas ready %s; burst -> lag drained %s; drained -> first scale-down %s (window %ds); rate drop -> %d replica ready %s\n",
		asMax, up.Sub(burst).Round(time.Second), drained.Sub(burst).Round(time.Second),
		firstDown.at.Sub(drained).Round(time.Second), asScaleDownWindow, asMin, down.Sub(quiet).Round(time.Second)))

	if getenv("E2E_AUTOSCALE_CPU", "1") == "1" {
		cpuStart, cpuUp := cpuHPA(r, rl)
		timeline = append(timeline, fmt.Sprintf("  CPU HPA: %d orders/s without work time -> more than %d replica %s\n",
			asCPURate, asMin, cpuUp.Sub(cpuStart).Round(time.Second)))
	}

	r.drain(-1)
	rl.close()
	r.extra = rl.table(r.name+": consumer replicas over time").String() + "\n  autoscaling times:\n" + strings.Join(timeline, "")
}

// kedaValues turns KEDA on with the scenario's numbers.
func kedaValues() []string {
	return []string{
		"--set", "consumer.keda.enabled=true",
		"--set", "consumer.keda.minReplicas=" + strconv.Itoa(asMin),
		"--set", "consumer.keda.maxReplicas=" + strconv.Itoa(asMax),
		"--set", "consumer.keda.lagThreshold=" + strconv.Itoa(asLagThreshold),
		"--set", "consumer.keda.pollingInterval=" + strconv.Itoa(asPolling),
		"--set", "consumer.keda.behavior.scaleDown.stabilizationWindowSeconds=" + strconv.Itoa(asScaleDownWindow),
		"--set-string", "consumer.env.CONCURRENCY=" + strconv.Itoa(asConcurrency),
		"--set-string", "consumer.env.WORK_TIME=" + asWorkTime,
		"--set-string", "consumer.env.PULL_MAX_MESSAGES=" + strconv.Itoa(asPullMax),
		"--set-string", "producer.env.PUBLISH_RATE=" + strconv.Itoa(asQuietRate),
	}
}

// cpuHPA swaps KEDA for the chart's CPU HPA and loads the consumers with
// CPU only (no work time, the default concurrency) until the HPA adds
// replicas; it returns when the load started and when the HPA reached
// asCPUMax ready replicas.
func cpuHPA(r *scenario, rl *replicaLog) (start, up time.Time) {
	t, e, ctx := r.t, r.e, r.ctx
	r.step(fmt.Sprintf("5 CPU HPA (metrics-server): %d orders/s, consumers scale to %d within %s", asCPURate, asCPUMax, asCPUScaleBound), func() {
		e.mustHelm(t, ctx, "upgrade", e.release, e.chart, "--reuse-values", "--wait", "--timeout", e.helmTimeout,
			"--set", "consumer.keda.enabled=false",
			"--set", "consumer.autoscaling.enabled=true",
			"--set", "consumer.autoscaling.minReplicas="+strconv.Itoa(asMin),
			"--set", "consumer.autoscaling.maxReplicas="+strconv.Itoa(asCPUMax),
			"--set", "consumer.autoscaling.targetCPUUtilizationPercentage="+strconv.Itoa(asCPUTarget),
			"--set", "consumer.autoscaling.behavior.scaleDown.stabilizationWindowSeconds="+strconv.Itoa(asScaleDownWindow),
			"--set-string", "consumer.env.WORK_TIME=0s",
			"--set-string", "consumer.env.CONCURRENCY=16",
			"--set-string", "consumer.env.PULL_MAX_MESSAGES=64")
		rl.mark("helm upgrade: CPU HPA, WORK_TIME=0s")
		start = setRate(r, rl, asCPURate)
		up = waitReplicas(r, rl, asCPUMax, asCPUScaleBound)
		rl.mark(fmt.Sprintf("%d replicas ready (CPU)", asCPUMax))
	})
	return start, up
}

// waitScaledObjectReady waits for KEDA to report the ScaledObject Ready
// (its trigger read the lag) and to have made its HPA.
func waitScaledObjectReady(r *scenario) {
	e := r.e
	so := "scaledobject/" + e.release + "-consumer"
	testkit.Eventually(r.t, "ScaledObject Ready and its HPA made", stepTimeout, func() (bool, string) {
		out, err := e.kc(r.ctx, "get", so, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status} {.status.conditions[?(@.type=="Ready")].message} hpa={.status.hpaName}`)
		if err != nil {
			return false, err.Error()
		}
		return strings.HasPrefix(out, "True") && !strings.HasSuffix(out, "hpa="), out
	}, testkit.Every(2*time.Second), testkit.Verbose())
}

// setRate sets the producer's PUBLISH_RATE with kubectl and marks it on
// the replica log, returning the mark's time. Always kubectl, never helm:
// helm 4 applies server-side, and once kubectl has set PUBLISH_RATE it is
// kubectl's field (a different value from helm would be a conflict).
func setRate(r *scenario, rl *replicaLog, rate int) time.Time {
	r.e.mustKC(r.t, r.ctx, "set", "env", "deploy/"+r.e.release+"-producer", fmt.Sprintf("PUBLISH_RATE=%d", rate))
	return rl.mark(fmt.Sprintf("producer PUBLISH_RATE=%d", rate))
}

// waitReplicas waits until the consumer Deployment asks for n replicas and
// has n ready, and returns when the sampler first saw that.
func waitReplicas(r *scenario, rl *replicaLog, n int, bound time.Duration) time.Time {
	since := time.Now()
	testkit.Eventually(r.t, fmt.Sprintf("%d consumer replicas, all ready", n), bound, func() (bool, string) {
		s := rl.last()
		return s.at.After(since) && s.replicas == n && s.ready == n,
			fmt.Sprintf("replicas %d, ready %d, %s, HPA metric %s, KEDA lag %s, NATS lag %d", s.replicas, s.ready, s.hpa, s.metric, s.kedaLag, s.lag)
	}, testkit.Every(time.Second), testkit.Verbose())
	s, _ := rl.firstAfter(since, func(s replicaSample) bool { return s.replicas == n && s.ready == n })
	return s.at
}
