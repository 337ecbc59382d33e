package main

import (
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/plot/vg"
)

// fixture is a report with every figure set, and the core mode's
// consumers missing (a step that failed).
func fixture() Report {
	return Report{
		Machine: Machine{CPU: "Test CPU", Cores: 2, Go: "go1.26", NatsServer: "nats-server: v2.15.2", Natscli: "v0.5.0", LoadAverage: "0.10 0.20 0.30"},
		Started: time.Date(2026, 11, 25, 21, 0, 0, 0, time.UTC),
		Elapsed: 150 * time.Second,
		Sizes: Sizes{Orders: 20000, CeilingOrders: 100000, SyncOrders: 10000, KVOrders: 10000, LatencyFor: 2 * time.Second, LatencyRates: []float64{1000, 10000}, MaxConsumers: 2,
			Work: WorkSizes{WorkTime: 5 * time.Millisecond, Concurrency: 8, Consumers: []int{1, 2, 4, 8}, For: 4 * time.Second}},
		Ceilings: map[string]float64{
			ceilPubAsync: 100000, ceilPubAsyncDedup: 85000, ceilPubSync: 10000, ceilConsume: 200000, ceilKVPut: 12000, ceilCorePub: 1e6,
		},
		Modes: []ModeResult{
			{
				Mode:     modeJetStream,
				Idle:     IdleRSS{Producer: 15, Consumer: 21},
				Producer: Throughput{Orders: 20000, Rate: 85000, CPUPer1000: 0.05, MaxRSSMB: 22, Cost: OrderCost{Service: 7.5, Server: 12}},
				Scaling:  []Throughput{{Orders: 20000, Rate: 30000, CPUPer1000: 0.04, MaxRSSMB: 41, Cost: OrderCost{Service: 18, Server: 19}}, {Orders: 20000, Rate: 45000}},
				Latency: []Latency{
					{Target: 1000, Achieved: 999, Summary: Summary{N: 2000, P50: 0.4, P99: 1.25, Max: 7}},
					{Target: 10000, Achieved: 9000, Summary: Summary{N: 20000, P50: 0.5, P99: 6, Max: 40}},
				},
				// Scales to 4, then bends at 8 with the machine's cores all busy.
				Work: []WorkRun{
					{Consumers: 1, Offered: 6400, Orders: 6400, Rate: 1500, CPU: CPUShare{Server: 0.05, Consumers: 0.08, Machine: 0.2, Elapsed: 4 * time.Second}},
					{Consumers: 2, Offered: 12800, Orders: 12800, Rate: 2950, CPU: CPUShare{Server: 0.1, Consumers: 0.15, Machine: 0.35, Elapsed: 4 * time.Second}},
					{Consumers: 4, Offered: 25600, Orders: 25600, Rate: 5800, CPU: CPUShare{Server: 0.2, Consumers: 0.3, Machine: 0.6, Elapsed: 4 * time.Second}},
					{Consumers: 8, Offered: 51200, Orders: 51200, Rate: 9000, CPU: CPUShare{Server: 0.35, Consumers: 0.55, Machine: 0.97, Elapsed: 4 * time.Second}},
				},
			},
			{
				Mode:     modeCore,
				Idle:     IdleRSS{Producer: math.NaN(), Consumer: math.NaN()},
				Producer: Throughput{Orders: 20000, Rate: 70000},
				Scaling:  []Throughput{{}, {}},
				// Bends at 4 with the cores half idle, and the run with 8 failed.
				Work: []WorkRun{
					{Consumers: 1, Offered: 6400, Orders: 6400, Rate: 1550, CPU: CPUShare{Server: 0.04, Consumers: 0.07, Producer: 0.02, Machine: 0.15, Elapsed: 4 * time.Second}},
					{Consumers: 2, Offered: 12800, Orders: 12800, Rate: 3000, CPU: CPUShare{Server: 0.08, Consumers: 0.14, Producer: 0.03, Machine: 0.3, Elapsed: 4 * time.Second}},
					{Consumers: 4, Offered: 25600, Orders: 25000, Rate: 5000, CPU: CPUShare{Server: 0.12, Consumers: 0.22, Producer: 0.05, Machine: 0.5, Elapsed: 4 * time.Second}},
					{Consumers: 8, Offered: 51200, CPU: CPUShare{Machine: math.NaN()}},
				},
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
		"| producer | jetstream | 85,000 | js pub async --dedup | 85,000 | 100% | ≥ 90%: met |",
		"| jetstream | 4 | 25600 / 25600 | 5,800 | 3.87× | 97% | ≥ 3.6×: met | 5.52 | 50% (20% / 30% / 0%) | 60% |",
		"| jetstream | 8 | 51200 / 51200 | 9,000 | 6.0× | 75% | – |",
		"| core | 4 | 25000 / 25600 | 5,000 | 3.23× | 81% | ≥ 3.6×: missed | 6.40 |",
		"| core | 8 | 0 / 51200 | n/a | n/a | n/a | – | n/a | n/a | n/a |",
		"**jetstream** bends at 8 consumers: 6.0× the one-consumer rate, 75% of 8×. What ran out: **CPU**. The machine's 2 cores were 97% busy",
		"**core** bends at 4 consumers: 3.23× the one-consumer rate, 81% of 4×. Not the CPU. The machine's 2 cores were 50% busy",
		"An order held a consumer slot 6.40 ms on average (k × CONCURRENCY / rate) against 5.16 ms with one consumer",
		"600 of its 25600 orders never arrived",
		"![scaling with work per order](scaling_work.png)",
		"| consumer | jetstream | 18.0 | 19.0 | 37.0 |",
		"| producer | jetstream | 7.5 | 12.0 | 19.5 |",
		"| consumer | core | n/a | n/a | n/a |",
		"costs the consumer 18.0 µs and nats-server 19.0 µs of CPU per order",
		"| scaling with work: WORK_TIME, CONCURRENCY, consumers, ideal work per run | 5ms, 8, 1, 2, 4, 8, 4s |",
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

// withAges is the fixture with an age distribution for each latency run:
// most orders near median ms, a long tail to 20 × median.
func withAges(r Report) Report {
	for i := range r.Modes {
		for j := range r.Modes[i].Latency {
			l := &r.Modes[i].Latency[j]
			median := 0.4 * float64(j+1+i)
			for k := range 5000 {
				u := (float64(k) + 0.5) / 5000
				l.Ages = append(l.Ages, median*math.Exp(3*math.Pow(u, 6)+1.5*(u-0.5)))
			}
			l.Ages[0] = 0 // drawn at minPlotMs
		}
	}
	return r
}

// TestPlots renders each plot of the fixture and of an empty report, and
// checks it is a PNG of the size asked for with something drawn on it.
func TestPlots(t *testing.T) {
	for _, spec := range plotSpecs() {
		for _, tt := range []struct {
			name string
			r    Report
		}{
			{"figures", withAges(fixture())},
			{"nothing measured", Report{Ceilings: map[string]float64{}}},
		} {
			t.Run(spec.file+"/"+tt.name, func(t *testing.T) {
				p, err := spec.build(tt.r)
				if err != nil {
					t.Fatal(err)
				}
				path := filepath.Join(t.TempDir(), spec.file)
				if err := p.Save(spec.w, spec.h, path); err != nil {
					t.Fatal(err)
				}
				checkPNG(t, path, int(spec.w/vg.Inch*pngDPI), int(spec.h/vg.Inch*pngDPI))
			})
		}
	}
}

// pngDPI is the resolution gonum's Save renders PNGs at.
const pngDPI = 96

// checkPNG fails t unless path decodes as a w × h PNG (give or take a
// pixel of rounding) with at least 1% of it drawn (not white).
func checkPNG(t *testing.T, path string, w, h int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	b := img.Bounds()
	if math.Abs(float64(b.Dx()-w)) > 1 || math.Abs(float64(b.Dy()-h)) > 1 {
		t.Fatalf("%s is %d × %d, want %d × %d", path, b.Dx(), b.Dy(), w, h)
	}
	ink := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if r, g, bl, _ := img.At(x, y).RGBA(); r&g&bl < 0xf000 {
				ink++
			}
		}
	}
	if share := float64(ink) / float64(b.Dx()*b.Dy()); share < 0.01 {
		t.Fatalf("%s: %.2f%% of it drawn, want a plot", path, share*100)
	}
}

func TestLogTicks(t *testing.T) {
	labels := func(lo, hi float64) string {
		var got []string
		for _, tk := range (logTicks{}).Ticks(lo, hi) {
			if tk.Label != "" {
				got = append(got, tk.Label)
			}
		}
		return strings.Join(got, " ")
	}
	for _, tt := range []struct {
		lo, hi float64
		want   string
	}{
		{0.1, 10, "0.1 0.2 0.5 1 2 5 10"},
		{0.01, 100, "0.01 0.02 0.05 0.1 0.2 0.5 1 2 5 10 20 50 100"},
		{0.001, 10000, "0.001 0.01 0.1 1 10 100 1000 10000"},
	} {
		if got := labels(tt.lo, tt.hi); got != tt.want {
			t.Errorf("ticks %v–%v: %q, want %q", tt.lo, tt.hi, got, tt.want)
		}
	}
	if got := decades(0.23, 5); got != (span{0.1, 10}) {
		t.Errorf("decades(0.23, 5) = %v, want 0.1–10", got)
	}
}

func TestNinesTicks(t *testing.T) {
	var got []string
	for _, tk := range (ninesTicks{ninesScale{floor: 1.0 / 50000}}).Ticks(0, 1) {
		got = append(got, tk.Label)
	}
	if s := strings.Join(got, " "); s != "0% 50% 90% 99% 99.9% 99.99% max" {
		t.Errorf("ticks of 50,000 ages: %q", s)
	}
	s := ninesScale{floor: 1e-4}
	if n := s.Normalize(0, 1, 0.99); math.Abs(n-0.5) > 1e-9 {
		t.Errorf("99%% of 0–100%% with a floor of 1e-4 at %v, want halfway (2 of 4 nines)", n)
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
			for _, name := range []string{"report.md", plotLatency, plotScaling, plotRatios, plotWork} {
				if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Size() == 0 {
					t.Errorf("%s: %v, want a non-empty file", name, err)
				}
			}
		})
	}
}
