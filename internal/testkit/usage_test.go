package testkit

import (
	"testing"
	"time"
)

func TestParseStatusMB(t *testing.T) {
	const status = "Name:\tconsumer\nVmPeak:\t 1300000 kB\nVmHWM:\t   25600 kB\nVmRSS:\t   17920 kB\nRssAnon:\t 8000 kB\n"
	tests := []struct {
		name, status, field string
		want                float64
		ok                  bool
	}{
		{"VmRSS", status, "VmRSS", 17.5, true},
		{"VmHWM", status, "VmHWM", 25, true},
		{"no VmRSS", "Name:\tconsumer\n", "VmRSS", 0, false},
		{"garbled", "VmRSS:\t lots kB\n", "VmRSS", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatusMB(tt.status, tt.field)
			if got != tt.want || (err == nil) != tt.ok {
				t.Fatalf("parseStatusMB(%s) = %v, %v; want %v, ok %v", tt.field, got, err, tt.want, tt.ok)
			}
		})
	}
}

// TestParseProcTimes reads the CPU time of /proc/<pid>/stat and the
// run-queue wait of a thread's schedstat.
func TestParseProcTimes(t *testing.T) {
	tests := []struct {
		name, text string
		parse      func(string) (time.Duration, error)
		want       time.Duration
		ok         bool
	}{
		{"stat of a server", "4242 (nats-server) S 1 4242 8223 0 -1 4194304 99 0 0 0 250 37 0 0 20 0 9 0 2393228", parseStatCPU, 2870 * time.Millisecond, true},
		{"stat, name with spaces and parentheses", "7 (a (b) c) R 1 7 7 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 5", parseStatCPU, 30 * time.Millisecond, true},
		{"stat without a name", "4242 nats-server S 1", parseStatCPU, 0, false},
		{"short stat", "4242 (x) S 1 2 3", parseStatCPU, 0, false},
		{"garbled stat", "7 (x) R 1 7 7 0 -1 0 0 0 0 0 lots 2 0 0 20 0 1 0 5", parseStatCPU, 0, false},
		{"schedstat of a thread", "204639461 45437241 735\n", parseSchedWait, 45437241, true},
		{"short schedstat", "204639461\n", parseSchedWait, 0, false},
		{"garbled schedstat", "1 x 3\n", parseSchedWait, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.parse(tt.text)
			if got != tt.want || (err == nil) != tt.ok {
				t.Fatalf("got %v, %v; want %v, ok %v", got, err, tt.want, tt.ok)
			}
		})
	}
}

func TestCPUTime(t *testing.T) {
	p := Start(t, "/bin/sh", nil, Args("-c", "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done"))
	var running time.Duration
	Eventually(t, "the loop uses CPU", 30*time.Second, func() (bool, string) {
		running = p.CPUTime(t) // from /proc while it runs, the kernel's accounting once it ended
		return running > 0, running.String()
	})
	if code := p.Wait(t); code != 0 {
		t.Fatalf("loop exited with code %d", code)
	}
	if ended := p.CPUTime(t); ended < running {
		t.Fatalf("CPU time after exit = %v, below the %v read before", ended, running)
	}
}

func TestRunQueueWait(t *testing.T) {
	p := Start(t, "/bin/sleep", nil, Args("60")) // killed when the test ends
	if d := p.RunQueueWait(t); d < 0 {
		t.Fatalf("run-queue wait of a sleeping process = %v", d)
	}
}
