package main

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/distsys-go/orders/internal/testkit"
)

// Defaults of the scaling-with-work runs (issue 20): every order costs a
// fixed wait, so one consumer's rate is bounded by its slots, not by the
// CPU, and more consumers should multiply it until something else runs
// out.
const (
	defaultWorkTime        = 5 * time.Millisecond
	defaultWorkConcurrency = 8
	defaultWorkFor         = 4 * time.Second
)

// defaultWorkConsumers are the consumer counts of the runs.
var defaultWorkConsumers = []int{1, 2, 4, 8}

// Target of the scaling-with-work runs: k consumers reach at least
// targetScaling × k times one consumer's rate, up to targetScalingUpTo.
const (
	targetScaling     = 0.9
	targetScalingUpTo = 4
)

// WorkSizes set the scaling-with-work runs.
type WorkSizes struct {
	WorkTime    time.Duration // each consumer's WORK_TIME
	Concurrency int           // each consumer's CONCURRENCY
	Consumers   []int         // the consumer counts, one run each
	// For is how much ideal work a run offers: Orders(k) is what k
	// consumers would take in this long at Ideal(k).
	For time.Duration
}

// Ideal is the rate of k consumers whose slots do nothing but the work:
// k × CONCURRENCY / WORK_TIME.
func (w WorkSizes) Ideal(k int) float64 {
	return float64(k*w.Concurrency) / w.WorkTime.Seconds()
}

// Orders is how many orders the JetStream run with k consumers offers.
func (w WorkSizes) Orders(k int) int { return int(w.Ideal(k) * w.For.Seconds()) }

// Sizing of the core runs. Published at the ideal rate, a consumer
// reaching a share s of it is sent 1/s orders for each it takes, so of n
// orders sent to it (1 - s) × n wait in its client buffer at the end,
// which holds 1,024 (natscore's pendingMsgs) before the client drops
// orders. A run of 4 s would overflow it below 84% of the ideal, about
// what one consumer reaches and well above what eight do
// (docs/performance.md, "Scaling with work per order"). So the core runs
// are sized to the buffer:
// coreOrdersPerConsumer fills at most coreBufferUse of it for consumers
// reaching coreMinShare of the ideal.
const (
	coreBufferUse         = 896 // of 1,024: room for the randomness of the queue group's choice
	coreMinShare          = 0.5
	coreOrdersPerConsumer = int(coreBufferUse / (1 - coreMinShare))
)

// Offered is how many orders the run of mode with k consumers offers: the
// JetStream runs For of ideal work, the core runs no more than their
// client buffers can hold back.
func (w WorkSizes) Offered(mode string, k int) int {
	if mode == modeCore {
		return min(w.Orders(k), k*coreOrdersPerConsumer)
	}
	return w.Orders(k)
}

// env is the consumers' settings for the runs.
func (w WorkSizes) env() []string {
	return []string{"WORK_TIME=" + w.WorkTime.String(), "CONCURRENCY=" + strconv.Itoa(w.Concurrency)}
}

// WorkRun is one scaling-with-work run: k consumers taking the orders.
type WorkRun struct {
	Consumers int
	Offered   int     // orders published
	Orders    int     // orders the consumers logged
	Rate      float64 // orders per second once all k were subscribed
	CPU       CPUShare
	Warnings  Warnings
}

// measureWork has k consumers with w's work per order take the orders
// w.Offered(mode, k). JetStream: the producer stores them first, then the
// consumers drain the stream. Core (nothing is stored): the consumers
// subscribe, then the producer publishes at Ideal(k), a pace they can
// reach but never exceed, so they are never short of orders, and what
// waits in their client buffers grows only by their shortfall (published
// all at once, the orders would overflow the buffers). The CPU is read
// from the last consumer's subscription (and the producer's start) to the
// drain's end.
func measureWork(bins Bins, mode string, w WorkSizes, k int) (run WorkRun, err error) {
	run = WorkRun{Consumers: k, Offered: w.Offered(mode, k)}
	err = runStep(func(t *step) {
		s := newSession(t, bins, mode)
		if mode == modeJetStream {
			s.publish(run.Offered, 0)
		}
		ps := s.consumers(k, w.env()...)
		var p *testkit.Proc
		if mode == modeCore {
			p = s.startPublishing(run.Offered, w.Ideal(k))
			p.AwaitLogged(t, msgPublishing, 1) // its start-up is no part of the drain
		}
		before := s.sample(append(ps, p)...)
		awaitDrain(t, ps, run.Offered, mode)
		run.CPU = shareOver(before, s.sample(append(ps, p)...))
		if p != nil {
			finish(t, p)
			run.Warnings.add(p.Warnings())
		}
		tp, _ := collect(t, ps)
		run.Orders, run.Rate = tp.Orders, tp.Rate
		run.Warnings.add(tp.Warnings)
	})
	return run, err
}

// WaitPerOrderUs is how long the server's and the consumers' threads
// waited for a core per order of the drain, in µs.
func (r WorkRun) WaitPerOrderUs() float64 {
	orders := r.Rate * r.CPU.Elapsed.Seconds()
	if missing(orders) {
		return math.NaN()
	}
	return float64(r.CPU.Wait.Microseconds()) / orders
}

// CPUPerOrderUs is the CPU the run's processes used per order of the
// drain, in µs, on a machine of cores.
func (r WorkRun) CPUPerOrderUs(cores int) float64 {
	if missing(r.Rate) {
		return math.NaN()
	}
	return r.CPU.Ours() * float64(cores) / r.Rate * 1e6
}

// Speedup is the run's rate over one consumer's, NaN when either is
// missing.
func (r WorkRun) Speedup(one WorkRun) float64 { return Ratio(r.Rate, one.Rate) }

// Efficiency is the speed-up over the consumer count: 1 is k times one
// consumer's rate.
func (r WorkRun) Efficiency(one WorkRun) float64 {
	return r.Speedup(one) / float64(r.Consumers)
}

// SlotMs is how long an order held one of the consumers' slots on average,
// by Little's law (slots busy = rate × time in a slot): k × CONCURRENCY /
// rate. Beyond WORK_TIME it is the time around the work: waiting for a
// delivery, the ledger record's round trip, a timer firing late.
func (r WorkRun) SlotMs(concurrency int) float64 {
	if missing(r.Rate) {
		return math.NaN()
	}
	return float64(r.Consumers*concurrency) / r.Rate * 1000
}

// MeetsTarget says whether the run reached targetScaling × k; ok is false
// where there is no target (beyond targetScalingUpTo) or no figure.
func (r WorkRun) MeetsTarget(one WorkRun) (met, ok bool) {
	e := r.Efficiency(one)
	if r.Consumers > targetScalingUpTo || math.IsNaN(e) {
		return false, false
	}
	return e >= targetScaling, true
}

// describeWork is a run's progress line.
func describeWork(r WorkRun) string {
	return fmt.Sprintf("%s, %d of %d orders, CPU %s of the cores (machine %s)",
		rate2(r.Rate, "orders/s"), r.Orders, r.Offered, percent(r.CPU.Ours()), percent(r.CPU.Machine))
}
