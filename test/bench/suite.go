package main

import (
	"fmt"
	"math"
	"regexp"
)

// job is one step of the run: its progress line and what it measures,
// which writes its figures into the report itself.
type job struct {
	what string
	run  func() (string, Warnings, error)
}

// measureAll runs every step whose name only matches (all with nil) in
// order, printing progress; a step that fails is listed in r.Problems and
// its figures stay empty ("n/a"), so one missing feature costs one row,
// not the report.
func measureAll(r *Report, bins Bins, pr *progress, only *regexp.Regexp) {
	s := r.Sizes
	var jobs []job
	for _, c := range ceilingRuns(s.CeilingOrders, s.SyncOrders, s.KVOrders) {
		jobs = append(jobs, job{"ceiling: nats bench " + c.name, func() (string, Warnings, error) {
			rate, err := runCeiling(bins, c)
			r.Ceilings[c.name] = rate
			return rate2(rate, "msgs/s"), nil, err
		}})
	}
	modes := []string{modeJetStream, modeCore}
	r.Modes = make([]ModeResult, len(modes))
	for i, mode := range modes {
		r.Modes[i] = emptyMode(mode, s)
		jobs = append(jobs, modeJobs(&r.Modes[i], bins, s)...)
	}
	var run []job
	for _, j := range jobs {
		if only == nil || only.MatchString(j.what) {
			run = append(run, j)
		}
	}
	pr.total = len(run)
	for _, j := range run {
		r.try(j, pr)
	}
}

// try runs j, noting its warnings and failure in the report.
func (r *Report) try(j job, pr *progress) {
	pr.step(j.what)
	res, warned, err := j.run()
	if len(warned) > 0 {
		r.Warnings = append(r.Warnings, fmt.Sprintf("%s: %s", j.what, warned))
		res += "; logged " + warned.String()
	}
	if err != nil {
		r.Problems = append(r.Problems, fmt.Sprintf("%s: %v", j.what, err))
		pr.result("failed: %v", err)
		return
	}
	pr.result("%s", res)
}

// emptyMode is mode's result before any step: every figure in its place,
// none measured, so a step skipped or failed shows as n/a where it belongs.
func emptyMode(mode string, s Sizes) ModeResult {
	mr := ModeResult{Mode: mode, Idle: IdleRSS{Producer: math.NaN(), Consumer: math.NaN()}, Scaling: make([]Throughput, s.MaxConsumers)}
	for _, rate := range s.LatencyRates {
		mr.Latency = append(mr.Latency, Latency{Target: rate, Summary: Summarize(nil)})
	}
	for _, k := range s.Work.Consumers {
		mr.Work = append(mr.Work, WorkRun{Consumers: k, Offered: s.Work.Offered(mode, k), CPU: CPUShare{Machine: math.NaN()}})
	}
	return mr
}

// modeJobs are the steps of one delivery mode, each writing into mr.
func modeJobs(mr *ModeResult, bins Bins, s Sizes) []job {
	mode := mr.Mode
	jobs := []job{
		{mode + ": idle RSS", func() (res string, _ Warnings, err error) {
			mr.Idle, err = measureIdle(bins, mode)
			return fmt.Sprintf("producer %.1f MB, consumer %.1f MB", mr.Idle.Producer, mr.Idle.Consumer), nil, err
		}},
		{fmt.Sprintf("%s: producer alone, %d orders at full rate", mode, s.Orders), func() (res string, _ Warnings, err error) {
			mr.Producer, err = measureProducer(bins, mode, s.Orders)
			return describe(mr.Producer), mr.Producer.Warnings, err
		}},
	}
	for k := 1; k <= s.MaxConsumers; k++ {
		jobs = append(jobs, job{fmt.Sprintf("%s: %d consumer(s), %d orders", mode, k, s.Orders), func() (_ string, _ Warnings, err error) {
			mr.Scaling[k-1], err = measureConsumers(bins, mode, k, s.Orders)
			return describe(mr.Scaling[k-1]), mr.Scaling[k-1].Warnings, err
		}})
	}
	for i, rate := range s.LatencyRates {
		n := int(rate * s.LatencyFor.Seconds())
		jobs = append(jobs, job{fmt.Sprintf("%s: latency at %s orders/s, %d orders, one consumer", mode, thousands(int64(rate)), n), func() (string, Warnings, error) {
			l, err := measureLatency(bins, mode, rate, n)
			mr.Latency[i] = l
			return fmt.Sprintf("achieved %s, p50 %s ms, p99 %s ms, max %s ms over %d orders", rate2(l.Achieved, "orders/s"), ms(l.P50), ms(l.P99), ms(l.Max), l.N), l.Warnings, err
		}})
	}
	return append(jobs, workJobs(mr, bins, s.Work)...)
}

// workJobs are the scaling-with-work steps of one mode.
func workJobs(mr *ModeResult, bins Bins, w WorkSizes) []job {
	var jobs []job
	for i, k := range w.Consumers {
		what := fmt.Sprintf("%s: work %s × concurrency %d, %d consumer(s), %d orders", mr.Mode, w.WorkTime, w.Concurrency, k, w.Offered(mr.Mode, k))
		jobs = append(jobs, job{what, func() (_ string, _ Warnings, err error) {
			mr.Work[i], err = measureWork(bins, mr.Mode, w, k)
			return describeWork(mr.Work[i]), mr.Work[i].Warnings, err
		}})
	}
	return jobs
}

func describe(tp Throughput) string {
	return fmt.Sprintf("%s over %d orders, %s CPU-s per 1,000, max RSS %s MB", rate2(tp.Rate, "orders/s"), tp.Orders, cpu(tp.CPUPer1000), mb(tp.MaxRSSMB))
}

func rate2(v float64, unit string) string { return rate(v) + " " + unit }
