package main

import (
	"math"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestWorkSizes(t *testing.T) {
	w := WorkSizes{WorkTime: 5 * time.Millisecond, Concurrency: 8, For: 4 * time.Second}
	if got := w.Ideal(4); got != 6400 {
		t.Errorf("Ideal(4) = %v, want 4 × 8 / 5 ms = 6400", got)
	}
	if got := w.Orders(2); got != 12800 {
		t.Errorf("Orders(2) = %v, want 4 s of 3,200/s", got)
	}
	if got := strings.Join(w.env(), " "); got != "WORK_TIME=5ms CONCURRENCY=8" {
		t.Errorf("env = %q", got)
	}
}

func TestWhereItBends(t *testing.T) {
	w := WorkSizes{WorkTime: 5 * time.Millisecond, Concurrency: 8}
	// run is k consumers at rate over a second, the machine that busy,
	// their threads waiting for a core waitUs per order.
	run := func(k int, rate, machine, waitUs float64) WorkRun {
		wait := time.Duration(waitUs*rate) * time.Microsecond
		return WorkRun{Consumers: k, Offered: 100, Orders: 100, Rate: rate,
			CPU: CPUShare{Server: machine / 3, Consumers: machine / 2, Machine: machine, Elapsed: time.Second, Wait: wait}}
	}
	tests := []struct {
		name string
		runs []WorkRun
		want []string
	}{
		{"straight", []WorkRun{run(1, 1500, 0.1, 5), run(2, 3000, 0.2, 5), run(4, 5900, 0.4, 6), run(8, 11000, 0.8, 8)},
			[]string{"does not bend up to 8 consumers: 7.33× the one-consumer rate (92% of 8×). The machine's 2 cores were 80% busy during that drain"}},
		{"cores all busy", []WorkRun{run(1, 1500, 0.1, 5), run(2, 2900, 0.3, 5), run(4, 4000, 0.95, 6)},
			[]string{"bends at 4 consumers: 2.67× the one-consumer rate, 67% of 4×", "What ran out: **CPU**. The machine's 2 cores were 95% busy",
				"waited for a core 6.0 µs per order, against 5.0 µs with one consumer", "Together they used 395.8 µs of CPU per order, against 111.1 µs with one consumer"}},
		{"threads queued for a core", []WorkRun{run(1, 1500, 0.1, 5), run(2, 2900, 0.3, 5), run(4, 4000, 0.8, 40)},
			[]string{"What ran out: **CPU**, short of 100%: threads queued for a core. The machine's 2 cores were 80% busy", "waited for a core 40.0 µs per order, against 5.0 µs"}},
		{"busy, but no queue", []WorkRun{run(1, 1500, 0.1, 5), run(2, 2900, 0.3, 5), run(4, 4000, 0.8, 6)},
			[]string{"Not the CPU. The machine's 2 cores were 80% busy"}},
		{"time around the work", []WorkRun{run(1, 1500, 0.1, 5), run(2, 2400, 0.3, 5), run(4, 4000, 0.6, 5)},
			[]string{"bends at 2 consumers", "Not the CPU. The machine's 2 cores were 30% busy", "slot 6.67 ms on average (k × CONCURRENCY / rate) against 5.33 ms with one consumer",
				"grew from 0.33 ms to 1.67 ms"}},
		{"other work on the machine", []WorkRun{run(1, 1500, 0.1, 5), {Consumers: 2, Rate: 2000, CPU: CPUShare{Consumers: 0.4, Harness: 0.05, Machine: 0.99, Elapsed: time.Second}}},
			[]string{"**CPU**", "used 40% of them", "this harness reading their logs 5%, interrupts (loopback networking) 0%, the hypervisor (steal) 0%, other processes about 54%"}},
		{"no one-consumer rate", []WorkRun{{Consumers: 1}, run(2, 3000, 0.2, 5)}, []string{"no one-consumer rate"}},
		{"only one consumer", []WorkRun{run(1, 1500, 0.1, 5), {Consumers: 2}}, []string{"only the one-consumer run has a rate"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := whereItBends(ModeResult{Mode: modeJetStream, Work: tt.runs}, w, 2)
			for _, want := range tt.want {
				if !strings.Contains(got, want) {
					t.Errorf("lacks %q:\n%s", want, got)
				}
			}
		})
	}
}

func TestScalingTarget(t *testing.T) {
	one := WorkRun{Consumers: 1, Rate: 1000}
	tests := []struct {
		run  WorkRun
		want string
	}{
		{WorkRun{Consumers: 1, Rate: 1000}, "≥ 0.9×: met"},
		{WorkRun{Consumers: 4, Rate: 3600}, "≥ 3.6×: met"},
		{WorkRun{Consumers: 4, Rate: 3599}, "≥ 3.6×: missed"},
		{WorkRun{Consumers: 2}, "≥ 1.8×: n/a"},
		{WorkRun{Consumers: 8, Rate: 1000}, "–"},
	}
	for _, tt := range tests {
		if got := scalingTarget(tt.run, one); got != tt.want {
			t.Errorf("%d consumers at %v/s: %q, want %q", tt.run.Consumers, tt.run.Rate, got, tt.want)
		}
	}
}

func TestParseCounts(t *testing.T) {
	tests := []struct {
		in   string
		want []int
	}{
		{"1,2,4,8", []int{1, 2, 4, 8}},
		{" 1, 3 ", []int{1, 3}},
		{"2,1", nil},
		{"0,1", nil},
		{"1,,2", nil},
	}
	for _, tt := range tests {
		got, err := parseCounts(tt.in)
		if (err == nil) != (tt.want != nil) || ints(got) != ints(tt.want) {
			t.Errorf("parseCounts(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseProcStat(t *testing.T) {
	tests := []struct {
		name, stat string
		want       machineCPU
		ok         bool
	}{
		{"with guest", "cpu  100 5 50 800 20 3 2 10 7 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n", machineCPU{busy: 170, irq: 5, steal: 10, total: 990}, true},
		{"not the total", "cpu0 1 2 3 4 5 6 7 8\n", machineCPU{}, false},
		{"short", "cpu 1 2 3\n", machineCPU{}, false},
		{"garbled", "cpu 1 2 x 4 5 6 7 8\n", machineCPU{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := parseProcStat(tt.stat)
			if m != tt.want || (err == nil) != tt.ok {
				t.Fatalf("parseProcStat = %+v, %v; want %+v, ok %v", m, err, tt.want, tt.ok)
			}
		})
	}
}

func TestShareAndCost(t *testing.T) {
	at := time.Now()
	a := cpuSample{at: at, byRole: map[string]time.Duration{roleServer: time.Second}, machine: machineCPU{busy: 100, total: 1000}}
	b := cpuSample{at: at.Add(2 * time.Second), machine: machineCPU{busy: 400, total: 1400},
		byRole: map[string]time.Duration{roleServer: 1500 * time.Millisecond, roleConsumers: time.Second}}
	c := costOver(a, b, roleConsumers, 1000)
	if c.Service != 1000 || c.Server != 500 {
		t.Errorf("cost = %+v, want 1,000 µs consumers and 500 µs server per order", c)
	}
	if c := costOver(a, b, roleConsumers, 0); !math.IsNaN(c.Service) {
		t.Errorf("cost of no orders = %+v, want NaN", c)
	}
	s := shareOver(a, b)
	cores := float64(runtime.NumCPU())
	if s.Machine != 0.75 || s.Elapsed != 2*time.Second || math.Abs(s.Server-0.25/cores) > 1e-9 || math.Abs(s.Ours()-0.75/cores) > 1e-9 {
		t.Errorf("share = %+v, want the machine 75%% busy, the server 0.5 s and the consumers 1 s of %v cores × 2 s", s, cores)
	}
}
