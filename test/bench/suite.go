package main

import (
	"fmt"
	"math"
)

// measureAll runs every step in order, printing progress; a step that
// fails is listed in r.Problems and its figures stay empty ("n/a"), so one
// missing feature costs one row, not the report.
func measureAll(r *Report, bins Bins, pr *progress) {
	s := r.Sizes
	modes := []string{modeJetStream, modeCore}
	runs := ceilingRuns(s.CeilingOrders, s.SyncOrders, s.KVOrders)
	pr.total = len(runs) + len(modes)*(2+s.MaxConsumers+len(s.LatencyRates))
	try := func(what string, f func() (string, Warnings, error)) {
		pr.step(what)
		res, warned, err := f()
		if len(warned) > 0 {
			r.Warnings = append(r.Warnings, fmt.Sprintf("%s: %s", what, warned))
			res += "; logged " + warned.String()
		}
		if err != nil {
			r.Problems = append(r.Problems, fmt.Sprintf("%s: %v", what, err))
			pr.result("failed: %v", err)
			return
		}
		pr.result("%s", res)
	}
	for _, c := range runs {
		try("ceiling: nats bench "+c.name, func() (string, Warnings, error) {
			rate, err := runCeiling(bins, c)
			r.Ceilings[c.name] = rate
			return rate2(rate, "msgs/s"), nil, err
		})
	}
	for _, mode := range modes {
		r.Modes = append(r.Modes, measureMode(mode, bins, s, try))
	}
}

// measureMode runs the steps of one delivery mode.
func measureMode(mode string, bins Bins, s Sizes, try func(string, func() (string, Warnings, error))) ModeResult {
	mr := ModeResult{Mode: mode, Idle: IdleRSS{Producer: math.NaN(), Consumer: math.NaN()}}
	try(mode+": idle RSS", func() (res string, _ Warnings, err error) {
		mr.Idle, err = measureIdle(bins, mode)
		return fmt.Sprintf("producer %.1f MB, consumer %.1f MB", mr.Idle.Producer, mr.Idle.Consumer), nil, err
	})
	try(fmt.Sprintf("%s: producer alone, %d orders at full rate", mode, s.Orders), func() (res string, _ Warnings, err error) {
		mr.Producer, err = measureProducer(bins, mode, s.Orders)
		return describe(mr.Producer), mr.Producer.Warnings, err
	})
	for k := 1; k <= s.MaxConsumers; k++ {
		try(fmt.Sprintf("%s: %d consumer(s), %d orders", mode, k, s.Orders), func() (string, Warnings, error) {
			tp, err := measureConsumers(bins, mode, k, s.Orders)
			mr.Scaling = append(mr.Scaling, tp)
			return describe(tp), tp.Warnings, err
		})
	}
	for _, rate := range s.LatencyRates {
		n := int(rate * s.LatencyFor.Seconds())
		try(fmt.Sprintf("%s: latency at %s orders/s, %d orders, one consumer", mode, thousands(int64(rate)), n), func() (string, Warnings, error) {
			l, err := measureLatency(bins, mode, rate, n)
			mr.Latency = append(mr.Latency, l)
			return fmt.Sprintf("achieved %s, p50 %s ms, p99 %s ms, max %s ms over %d orders", rate2(l.Achieved, "orders/s"), ms(l.P50), ms(l.P99), ms(l.Max), l.N), l.Warnings, err
		})
	}
	return mr
}

func describe(tp Throughput) string {
	return fmt.Sprintf("%s over %d orders, %s CPU-s per 1,000, max RSS %s MB", rate2(tp.Rate, "orders/s"), tp.Orders, cpu(tp.CPUPer1000), mb(tp.MaxRSSMB))
}

func rate2(v float64, unit string) string { return rate(v) + " " + unit }
