package main

import (
	"fmt"
	"math"
	"strings"
)

// When the report says a drain ran out of CPU: its cores near fully busy,
// or busy and its threads queueing for a core much longer per order than
// with one consumer (a run queue grows well before 100%).
const (
	cpuSaturated  = 0.9
	cpuContended  = 0.75
	waitGrowthCPU = 1.5
)

// cpuVerdict is what the report says of r's CPU against the one-consumer
// run: "saturated", "contended", or "" when the CPU did not run out.
func cpuVerdict(r, one WorkRun) string {
	switch {
	case r.CPU.Machine >= cpuSaturated:
		return "saturated"
	case r.CPU.Machine >= cpuContended && r.WaitPerOrderUs() >= waitGrowthCPU*one.WaitPerOrderUs():
		return "contended"
	}
	return ""
}

// oneConsumer is mode's run with one consumer, zero when it is missing.
func oneConsumer(runs []WorkRun) WorkRun {
	for _, r := range runs {
		if r.Consumers == 1 {
			return r
		}
	}
	return WorkRun{}
}

// bendAt is the first run (by consumer count) below targetScaling × k
// one consumer's rate; ok is false when every run measured reached it.
func bendAt(runs []WorkRun) (WorkRun, bool) {
	one := oneConsumer(runs)
	for _, r := range runs {
		if e := r.Efficiency(one); r.Consumers > 1 && e < targetScaling {
			return r, true
		}
	}
	return WorkRun{}, false
}

// largest is the run with the most consumers that has a rate.
func largest(runs []WorkRun) (WorkRun, bool) {
	var got WorkRun
	for _, r := range runs {
		if !missing(r.Rate) && r.Consumers > got.Consumers {
			got = r
		}
	}
	return got, got.Consumers > 0
}

// whereItBends says, from the measurements, where the mode's curve falls
// below targetScaling × k and what ran out there; or, when it does not,
// how busy the largest run kept the machine.
func whereItBends(mr ModeResult, w WorkSizes, cores int) string {
	one := oneConsumer(mr.Work)
	if missing(one.Rate) {
		return fmt.Sprintf("**%s**: no one-consumer rate, so no ratios.", mr.Mode)
	}
	r, bent := bendAt(mr.Work)
	if !bent {
		top, ok := largest(mr.Work)
		if !ok || top.Consumers == 1 {
			return fmt.Sprintf("**%s**: only the one-consumer run has a rate.", mr.Mode)
		}
		return fmt.Sprintf("**%s** does not bend up to %d consumers: %s the one-consumer rate (%s of %d×). %s",
			mr.Mode, top.Consumers, times(top.Speedup(one)), percent(top.Efficiency(one)), top.Consumers, cpuSentence(top.CPU, cores))
	}
	head := fmt.Sprintf("**%s** bends at %d consumers: %s the one-consumer rate, %s of %d×. ",
		mr.Mode, r.Consumers, times(r.Speedup(one)), percent(r.Efficiency(one)), r.Consumers)
	return head + whatRanOut(r, one, w, cores) + dropped(r)
}

// whatRanOut names the resource from the run's measurements: the CPU when
// the cores were near fully busy or threads queued for them, else the time
// around the work.
func whatRanOut(r, one WorkRun, w WorkSizes, cores int) string {
	waits := fmt.Sprintf(" The server's and the consumers' threads waited for a core %s µs per order, against %s µs with one consumer.",
		us(r.WaitPerOrderUs()), us(one.WaitPerOrderUs()))
	workMs := float64(w.WorkTime.Microseconds()) / 1000
	slot, slot1 := r.SlotMs(w.Concurrency), one.SlotMs(w.Concurrency)
	around := fmt.Sprintf(" An order held a consumer slot %.2f ms on average (k × CONCURRENCY / rate) against %.2f ms with one consumer; "+
		"%g ms of it is WORK_TIME, so the time around the work (waiting for a delivery, the ledger record's round trip, a core) grew from %.2f ms to %.2f ms.",
		slot, slot1, workMs, slot1-workMs, slot-workMs)
	perOrder := fmt.Sprintf(" Together they used %s µs of CPU per order, against %s µs with one consumer.",
		us(r.CPUPerOrderUs(cores)), us(one.CPUPerOrderUs(cores)))
	switch cpuVerdict(r, one) {
	case "saturated":
		return "What ran out: **CPU**. " + cpuSentence(r.CPU, cores) + perOrder + waits + around
	case "contended":
		return "What ran out: **CPU**, short of 100%: threads queued for a core. " + cpuSentence(r.CPU, cores) + perOrder + waits + around
	}
	return "Not the CPU. " + cpuSentence(r.CPU, cores) + perOrder + waits + around
}

// cpuSentence says how busy the cores were during a drain and who used them.
func cpuSentence(c CPUShare, cores int) string {
	s := fmt.Sprintf("The machine's %d cores were %s busy during that drain; the run's own processes used %s of them (nats-server %s, consumers %s, producer %s), this harness reading their logs %s",
		cores, percent(c.Machine), percent(c.Ours()), pct0(c.Server), pct0(c.Consumers), pct0(c.Producer), pct0(c.Harness))
	s += fmt.Sprintf(", interrupts (loopback networking) %s, the hypervisor (steal) %s", pct0(c.IRQ), pct0(c.Steal))
	if other := c.Machine - c.Ours() - c.Harness - c.IRQ - c.Steal; other >= 0.05 {
		s += fmt.Sprintf(", other processes about %s", percent(other))
	}
	return s + "."
}

// dropped mentions the orders a run offered that never arrived.
func dropped(r WorkRun) string {
	if r.Orders >= r.Offered {
		return ""
	}
	return fmt.Sprintf(" %d of its %d orders never arrived (core NATS drops what a full client buffer cannot take: see the warnings).", r.Offered-r.Orders, r.Offered)
}

// work writes the scaling-with-work section.
func (m *mdWriter) work(r Report) {
	w := r.Sizes.Work
	m.printf("## Scaling with work per order\n\n")
	ideal := rate(w.Ideal(1))
	m.printf("Every consumer runs with `WORK_TIME=%s` and `CONCURRENCY=%d`: at most %d orders in work at once, each taking at least %s, "+
		"so one consumer cannot exceed %s orders/s and k consumers k × that. ",
		w.WorkTime, w.Concurrency, w.Concurrency, w.WorkTime, ideal)
	m.printf("JetStream: the producer stores %s of that ideal work, k × %s orders, then k consumers drain the stream. "+
		"Core (nothing is stored): the k consumers subscribe, then the producer publishes k × %s orders at the ideal rate, k × %s/s, so that the consumers are never short of orders "+
		"and what waits in a consumer's client buffer grows only by its shortfall: at half the ideal rate or better that stays within %d of the 1,024 orders the buffer holds before the client drops them "+
		"(\"orders\" shows any that never arrived). The rate counts the orders received once the last consumer subscribed. ",
		w.For, rate(float64(w.Orders(1))), rate(float64(w.Offered(modeCore, 1))), ideal, coreBufferUse)
	m.printf("CPU: user + system time of the run's processes (nats-server, the consumers, the producer) from /proc/<pid>/stat at the start and the end of the drain, "+
		"as a share of %d cores × the elapsed time; machine: the busy share of all cores over the same interval (/proc/stat), this harness, the kernel and other processes included. "+
		"Waiting for a core: the run-queue time of the server's and the consumers' threads (/proc/<pid>/task/*/schedstat) per order. "+
		"Time in a slot: k × CONCURRENCY / rate, how long an order held a consumer's slot on average (Little's law); beyond WORK_TIME it is waiting for a delivery, for the ledger record, for a core. "+
		"Target: k consumers at least %.1f × k times one consumer's rate, up to %d consumers.\n\n", r.Machine.Cores, targetScaling, targetScalingUpTo)
	m.table("mode", "consumers", "orders", "rate (orders/s)", "× one consumer", "of k × one", fmt.Sprintf("≥ %.1f × k", targetScaling),
		"time in a slot (ms)", "CPU of the cores: ours (server / consumers / producer)", "machine busy", "waiting for a core (µs/order)")
	for _, mr := range r.Modes {
		one := oneConsumer(mr.Work)
		for _, run := range mr.Work {
			m.row(mr.Mode, fmt.Sprint(run.Consumers), fmt.Sprintf("%d / %d", run.Orders, run.Offered), rate(run.Rate),
				times(run.Speedup(one)), percent(run.Efficiency(one)), scalingTarget(run, one), ms(run.SlotMs(w.Concurrency)),
				cpuCell(run.CPU), percent(run.CPU.Machine), us(run.WaitPerOrderUs()))
		}
	}
	m.printf("\n")
	for _, mr := range r.Modes {
		if len(mr.Work) > 0 {
			m.printf("%s\n\n", whereItBends(mr, w, r.Machine.Cores))
		}
	}
	m.printf("![scaling with work per order](%s)\n\n", plotWork)
}

// scalingTarget is the target cell of a run: "≥ 3.6×: met", "" beyond
// the consumer counts the target covers.
func scalingTarget(run, one WorkRun) string {
	if run.Consumers > targetScalingUpTo {
		return "–"
	}
	want := fmt.Sprintf("≥ %s", times(targetScaling*float64(run.Consumers)))
	met, ok := run.MeetsTarget(one)
	switch {
	case !ok:
		return want + ": n/a"
	case met:
		return want + ": met"
	default:
		return want + ": missed"
	}
}

// cpuCell is a run's CPU share, ours then each role's: "50% (20% / 30% / 0%)".
func cpuCell(c CPUShare) string {
	if c.Elapsed <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%s (%s / %s / %s)", percent(c.Ours()), pct0(c.Server), pct0(c.Consumers), pct0(c.Producer))
}

// times formats a multiple: 3.62×.
func times(v float64) string {
	if missing(v) {
		return "n/a"
	}
	return strings.TrimSuffix(fmt.Sprintf("%.2f", v), "0") + "×"
}

// pct0 formats a share that may be 0 (a producer not running) as such.
func pct0(v float64) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	return fmt.Sprintf("%.0f%%", v*100)
}
