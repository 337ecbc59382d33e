package main

import (
	"errors"
	"testing"
)

func TestParseBenchRate(t *testing.T) {
	tests := []struct {
		name, out string
		want      float64
		err       error
	}{
		{"async publisher", "19:59:18 [1] Starting ...\n\nNATS JetStream asynchronous publisher stats: 111,878 msgs/sec ~ 14 MiB/sec ~ min: 2,400.14us\n", 111878, nil},
		{"consumer, no latencies", "NATS JetStream durable consumer (callback) stats: 168,275 msgs/sec ~ 20 MiB/sec\n", 168275, nil},
		{"below a thousand", "NATS JetStream KV putter stats: 918 msgs/sec ~ 1.2 MiB/sec", 918, nil},
		{"first stats line wins", "A stats: 1,000 msgs/sec\nB stats: 2,000 msgs/sec", 1000, nil},
		{"no stats", "nats: error: context deadline exceeded", 0, errNoStats},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseBenchRate(tt.out)
			if got != tt.want || !errors.Is(err, tt.err) {
				t.Fatalf("ParseBenchRate = %v, %v; want %v, %v", got, err, tt.want, tt.err)
			}
		})
	}
}

func TestMachineParsing(t *testing.T) {
	cpuinfo := "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\nprocessor\t: 1\nmodel name\t: AMD EPYC 7B13\n"
	if got := cpuModel(cpuinfo); got != "AMD EPYC 7B13" {
		t.Errorf("cpuModel = %q", got)
	}
	if got := cpuModel(""); got != "" {
		t.Errorf("cpuModel(empty) = %q, want empty", got)
	}
	if got := loadAverage("8.29 5.06 3.65 13/148 468\n"); got != "8.29 5.06 3.65" {
		t.Errorf("loadAverage = %q", got)
	}
	if got := loadAverage(""); got != "" {
		t.Errorf("loadAverage(empty) = %q, want empty", got)
	}
}

func TestMachineBusy(t *testing.T) {
	tests := []struct {
		load string
		want bool
	}{{"8.29 5.06 3.65", true}, {"1.50 5.06 3.65", false}, {"2.00 1 1", false}, {"", false}, {"x", false}}
	for _, tt := range tests {
		if got := (Machine{Cores: 2, LoadAverage: tt.load}).Busy(); got != tt.want {
			t.Errorf("Busy with load %q on 2 cores = %v, want %v", tt.load, got, tt.want)
		}
	}
}

func TestBenchLines(t *testing.T) {
	out := "goos: linux\ngoarch: amd64\npkg: example/a\ncpu: AMD EPYC\nBenchmarkX-2   \t 100\t 10 ns/op\t 3 allocs/op\nPASS\nok  \texample/a\t1.0s\n?   \texample/b\t[no test files]\n"
	want := "pkg: example/a\nBenchmarkX-2   \t 100\t 10 ns/op\t 3 allocs/op"
	if got := benchLines(out); got != want {
		t.Fatalf("benchLines = %q, want %q", got, want)
	}
	if got := benchLines("PASS\n"); got != "" {
		t.Fatalf("benchLines without benchmarks = %q, want empty", got)
	}
}

func TestParsePorts(t *testing.T) {
	tests := []struct {
		name, file, want string
		ok               bool
	}{
		{"client URL", `{"nats":["nats://127.0.0.1:35757"],"monitoring":["http://127.0.0.1:8222"]}`, "nats://127.0.0.1:35757", true},
		{"no client listener", `{"monitoring":["http://127.0.0.1:8222"]}`, "", false},
		{"half written", `{"nats":["nats://`, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parsePorts([]byte(tt.file))
			if got != tt.want || (err == nil) != tt.ok {
				t.Fatalf("parsePorts = %q, %v; want %q, ok %v", got, err, tt.want, tt.ok)
			}
		})
	}
}
