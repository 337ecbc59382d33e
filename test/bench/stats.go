package main

import (
	"math"
	"slices"
	"time"
)

// Rate is events per second between the first and the last of ts (in any
// order): n-1 intervals over the span, so start-up before the first event
// is not counted. It is 0 for fewer than two events or a zero span.
func Rate(ts []time.Time) float64 {
	if len(ts) < 2 {
		return 0
	}
	first, last := ts[0], ts[0]
	for _, t := range ts[1:] {
		if t.Before(first) {
			first = t
		}
		if t.After(last) {
			last = t
		}
	}
	span := last.Sub(first).Seconds()
	if span <= 0 {
		return 0
	}
	return float64(len(ts)-1) / span
}

// Percentile returns the nearest-rank p-th percentile (0 < p <= 100) of
// sorted, NaN when it is empty.
func Percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// Summary is a latency distribution in milliseconds.
type Summary struct {
	N             int
	P50, P99, Max float64
}

// Summarize sorts a copy of ms and summarizes it.
func Summarize(ms []float64) Summary {
	s := slices.Clone(ms)
	slices.Sort(s)
	return Summary{N: len(s), P50: Percentile(s, 50), P99: Percentile(s, 99), Max: Percentile(s, 100)}
}

// Ratio is ours over ceiling, NaN when either is unknown (zero or NaN),
// so a missing measurement shows as such instead of as 0%.
func Ratio(ours, ceiling float64) float64 {
	if ours <= 0 || ceiling <= 0 || math.IsNaN(ours) || math.IsNaN(ceiling) {
		return math.NaN()
	}
	return ours / ceiling
}

// PerThousand scales a total over n orders to 1,000 orders, NaN for n = 0.
func PerThousand(total float64, n int) float64 {
	if n <= 0 {
		return math.NaN()
	}
	return total / float64(n) * 1000
}

// Latest is the latest of ts, the zero time when there is none.
func Latest(ts []time.Time) time.Time {
	var last time.Time
	for _, t := range ts {
		if t.After(last) {
			last = t
		}
	}
	return last
}

// Since returns the times of ts not before from.
func Since(ts []time.Time, from time.Time) []time.Time {
	var kept []time.Time
	for _, t := range ts {
		if !t.Before(from) {
			kept = append(kept, t)
		}
	}
	return kept
}
