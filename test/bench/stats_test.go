package main

import (
	"math"
	"testing"
	"time"
)

func TestRate(t *testing.T) {
	t0 := time.Unix(100, 0)
	at := func(ms ...int) []time.Time {
		var ts []time.Time
		for _, m := range ms {
			ts = append(ts, t0.Add(time.Duration(m)*time.Millisecond))
		}
		return ts
	}
	tests := []struct {
		name string
		ts   []time.Time
		want float64
	}{
		{"none", nil, 0},
		{"one", at(5), 0},
		{"zero span", at(5, 5, 5), 0},
		{"evenly spaced", at(0, 1, 2, 3, 4), 1000},
		{"unordered, merged from two processes", at(400, 0, 100, 300, 200), 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Rate(tt.ts); math.Abs(got-tt.want) > 1e-9 {
				t.Fatalf("Rate = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	sorted := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	tests := []struct {
		p    float64
		want float64
	}{{50, 5}, {99, 10}, {100, 10}, {10, 1}, {0.001, 1}, {91, 10}, {90, 9}}
	for _, tt := range tests {
		if got := Percentile(sorted, tt.p); got != tt.want {
			t.Errorf("Percentile(1..10, %v) = %v, want %v", tt.p, got, tt.want)
		}
	}
	if got := Percentile(nil, 50); !math.IsNaN(got) {
		t.Errorf("Percentile(empty) = %v, want NaN", got)
	}
}

func TestSummarize(t *testing.T) {
	ages := []float64{9, 1, 5, 3, 7}
	got := Summarize(ages)
	want := Summary{N: 5, P50: 5, P99: 9, Max: 9}
	if got != want {
		t.Fatalf("Summarize = %+v, want %+v", got, want)
	}
	if ages[0] != 9 {
		t.Fatalf("Summarize sorted its argument: %v", ages)
	}
}

func TestRatioAndPerThousand(t *testing.T) {
	tests := []struct {
		name      string
		got, want float64
	}{
		{"ratio", Ratio(40, 100), 0.4},
		{"ratio above 1", Ratio(150, 100), 1.5},
		{"ours missing", Ratio(0, 100), math.NaN()},
		{"ceiling missing", Ratio(40, 0), math.NaN()},
		{"ceiling NaN", Ratio(40, math.NaN()), math.NaN()},
		{"per thousand", PerThousand(0.5, 20000), 0.025},
		{"per thousand of nothing", PerThousand(1, 0), math.NaN()},
	}
	for _, tt := range tests {
		if !(tt.got == tt.want || math.IsNaN(tt.got) && math.IsNaN(tt.want) || math.Abs(tt.got-tt.want) < 1e-12) {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}

func TestLatestAndSince(t *testing.T) {
	t0 := time.Unix(100, 0)
	ts := []time.Time{t0.Add(3 * time.Second), t0, t0.Add(time.Second)}
	if got := Latest(ts); !got.Equal(t0.Add(3 * time.Second)) {
		t.Errorf("Latest = %v, want t0+3s", got)
	}
	if got := Latest(nil); !got.IsZero() {
		t.Errorf("Latest(none) = %v, want the zero time", got)
	}
	tests := []struct {
		name string
		from time.Time
		want int
	}{
		{"zero time keeps all", time.Time{}, 3},
		{"from is inclusive", t0.Add(time.Second), 2},
		{"after the last", t0.Add(4 * time.Second), 0},
	}
	for _, tt := range tests {
		if got := Since(ts, tt.from); len(got) != tt.want {
			t.Errorf("%s: Since kept %d, want %d", tt.name, len(got), tt.want)
		}
	}
}

func TestWarnings(t *testing.T) {
	var w Warnings
	if got := w.String(); got != "" {
		t.Errorf("no warnings: %q, want empty", got)
	}
	w.add(map[string]int{"order processing failed; will be redelivered": 2})
	w.add(map[string]int{"acknowledgement failed": 3, "order processing failed; will be redelivered": 2})
	want := `"order processing failed; will be redelivered" ×4, "acknowledgement failed" ×3`
	if got := w.String(); got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
}
