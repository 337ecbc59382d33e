package main

import (
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
)

// Machine is what the figures were taken on.
type Machine struct {
	CPU         string
	Cores       int
	Kernel      string
	Go          string
	NatsServer  string
	Natscli     string
	LoadAverage string // 1, 5 and 15 minutes, when the run started
}

// readMachine describes this machine and the binaries; a part it cannot
// read is left empty.
func readMachine(bins Bins) Machine {
	return Machine{
		CPU:         cpuModel(readText("/proc/cpuinfo")),
		Cores:       runtime.NumCPU(),
		Kernel:      readText("/proc/sys/kernel/osrelease"),
		Go:          runtime.Version(),
		NatsServer:  command(bins.Server, "--version"),
		Natscli:     command(bins.Nats, "--version"),
		LoadAverage: loadAverage(readText("/proc/loadavg")),
	}
}

// cpuModel is the first "model name" of a /proc/cpuinfo text.
func cpuModel(cpuinfo string) string {
	for line := range strings.Lines(cpuinfo) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// loadAverage is the first three fields of a /proc/loadavg text.
func loadAverage(loadavg string) string {
	f := strings.Fields(loadavg)
	return strings.Join(f[:min(3, len(f))], " ")
}

func readText(path string) string {
	b, _ := os.ReadFile(path)
	return strings.TrimSpace(string(b))
}

func command(path string, args ...string) string {
	out, _ := exec.Command(path, args...).CombinedOutput()
	return strings.TrimSpace(string(out))
}

// Busy reports whether the 1-minute load average exceeded the cores: other
// work competed with the run.
func (m Machine) Busy() bool {
	f := strings.Fields(m.LoadAverage)
	if len(f) == 0 {
		return false
	}
	load, err := strconv.ParseFloat(f[0], 64)
	return err == nil && load > float64(m.Cores)
}
