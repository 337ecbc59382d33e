package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fixture is a report with every figure set, and the core mode's
// consumers missing (a step that failed).
func fixture() Report {
	return Report{
		Machine: Machine{CPU: "Test CPU", Cores: 2, Go: "go1.26", NatsServer: "nats-server: v2.15.2", Natscli: "v0.5.0", LoadAverage: "0.10 0.20 0.30"},
		Started: time.Date(2026, 11, 25, 21, 0, 0, 0, time.UTC),
		Elapsed: 150 * time.Second,
		Sizes:   Sizes{Orders: 20000, CeilingOrders: 100000, SyncOrders: 10000, KVOrders: 10000, LatencyFor: 2 * time.Second, LatencyRates: []float64{1000, 10000}, MaxConsumers: 2},
		Ceilings: map[string]float64{
			ceilPubAsync: 100000, ceilPubAsyncDedup: 85000, ceilPubSync: 10000, ceilConsume: 200000, ceilKVPut: 12000, ceilCorePub: 1e6,
		},
		Modes: []ModeResult{
			{
				Mode:     modeJetStream,
				Idle:     IdleRSS{Producer: 15, Consumer: 21},
				Producer: Throughput{Orders: 20000, Rate: 85000, CPUPer1000: 0.05, MaxRSSMB: 22},
				Scaling:  []Throughput{{Orders: 20000, Rate: 30000, CPUPer1000: 0.04, MaxRSSMB: 41}, {Orders: 20000, Rate: 45000}},
				Latency: []Latency{
					{Target: 1000, Achieved: 999, Summary: Summary{N: 2000, P50: 0.4, P99: 1.25, Max: 7}},
					{Target: 10000, Achieved: 9000, Summary: Summary{N: 20000, P50: 0.5, P99: 6, Max: 40}},
				},
			},
			{
				Mode:     modeCore,
				Idle:     IdleRSS{Producer: math.NaN(), Consumer: math.NaN()},
				Producer: Throughput{Orders: 20000, Rate: 70000},
				Scaling:  []Throughput{{}, {}},
			},
		},
		Problems: []string{"core: 1 consumer(s), 20000 orders: consumer-1: 1 \"consuming\" lines after 30s: timed out"},
		Warnings: []string{"jetstream: 1 consumer(s), 20000 orders: \"jetstream consume stalled; restarting\" ×1"},
	}
}

func TestRatios(t *testing.T) {
	want := map[string]float64{
		pathProducer + "/" + modeJetStream + "/" + ceilPubAsync:      0.85,
		pathProducer + "/" + modeJetStream + "/" + ceilPubAsyncDedup: 1,
		pathProducer + "/" + modeJetStream + "/" + ceilPubSync:       8.5,
		pathProducer + "/" + modeCore + "/" + ceilCorePub:            0.07,
		pathConsumer + "/" + modeJetStream + "/" + ceilPubAsync:      0.3,
		pathConsumer + "/" + modeJetStream + "/" + ceilKVPut:         2.5,
		pathConsumer + "/" + modeJetStream + "/" + ceilConsume:       0.15,
		pathConsumer + "/" + modeCore + "/" + ceilKVPut:              math.NaN(),
	}
	rows := fixture().Ratios()
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d", len(rows), len(want))
	}
	for _, r := range rows {
		w := want[r.Path+"/"+r.Mode+"/"+r.Ceiling]
		if !(math.Abs(r.Ratio-w) < 1e-9 || math.IsNaN(r.Ratio) && math.IsNaN(w)) {
			t.Errorf("%s %s / %s = %v, want %v", r.Path, r.Mode, r.Ceiling, r.Ratio, w)
		}
	}
}

func TestRender(t *testing.T) {
	var b strings.Builder
	if err := fixture().Render(&b); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{
		"load average 0.10 0.20 0.30 at the start, on 2 × Test CPU",
		"| producer | jetstream | 85,000 | js pub async | 100,000 | 85% | ≥ 80%: met |",
		"| consumer, 1 replica | jetstream | 30,000 | js pub async | 100,000 | 30% | ≥ 40%: missed |",
		"| consumer, 1 replica | core | n/a | kv put --clients 16 | 12,000 | n/a |  |",
		"| jetstream | 1,000 | 999 | 2000 | 0.40 | 1.25 | 7.00 | met |",
		"| jetstream | 10,000 | 9,000 | 20000 | 0.50 | 6.00 | 40.00 | missed |",
		"| 2 | 45,000 | 20000 | n/a | 0 |",
		"| consumer | jetstream | 0.040 | 41.0 | missed | 21.0 | missed |",
		"| producer | core | n/a | n/a | n/a | n/a | n/a |",
		"![latency CDF](latency_cdf.png)",
		"## Steps that failed\n\n- core: 1 consumer(s)",
		"## Steps whose services logged warnings\n\nTheir figures include what the warnings report (dropped orders, retries, redeliveries, stalls).\n\n- jetstream: 1 consumer(s), 20000 orders: \"jetstream consume stalled; restarting\" ×1\n",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "machine was busy") {
		t.Error("report calls a machine with load 0.10 busy")
	}
	if strings.Contains(md, "In-process benchmarks") {
		t.Error("report has a go test -bench section without its output")
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -4500: "-4,500"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestCDF(t *testing.T) {
	ages := make([]float64, 1000)
	for i := range ages {
		ages[i] = float64(999 - i)
	}
	xys := CDF(ages, 100)
	if len(xys) < 100 || len(xys) > 101 {
		t.Fatalf("%d points, want about 100", len(xys))
	}
	if xys[0].X != minPlotMs || xys[len(xys)-1].X != 999 || xys[len(xys)-1].Y != 1 {
		t.Fatalf("CDF runs from %v to %v, want from %v (0 ms) to (999, 1)", xys[0], xys[len(xys)-1], minPlotMs)
	}
	for i := 1; i < len(xys); i++ {
		if xys[i].X < xys[i-1].X || xys[i].Y <= xys[i-1].Y {
			t.Fatalf("not increasing at %d: %v then %v", i, xys[i-1], xys[i])
		}
	}
}

func TestWrite(t *testing.T) {
	withAges := fixture()
	withAges.Modes[0].Latency[0].Ages = []float64{0, 0.5, 1, 2}
	tests := []struct {
		name string
		r    Report
	}{
		{"figures", withAges},
		{"nothing measured", Report{Ceilings: map[string]float64{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := write(tt.r, dir); err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"report.md", plotLatency, plotScaling, plotRatios} {
				if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Size() == 0 {
					t.Errorf("%s: %v, want a non-empty file", name, err)
				}
			}
		})
	}
}
