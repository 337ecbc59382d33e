package testkit

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Usage is what a run of a process cost.
type Usage struct {
	CPU time.Duration // user + system, from the kernel's accounting
	// MaxRSSMB is the run's peak resident set (VmHWM) in MiB, with the
	// PeakRSS option; 0 without.
	MaxRSSMB float64
}

// Usage returns what the current run cost; t fails if it has not ended.
func (p *Proc) Usage(t TB) Usage {
	t.Helper()
	if !p.Exited() {
		t.Fatalf("usage of %s: still running", p.Name)
	}
	p.mu.Lock()
	state := p.cmd.ProcessState
	p.mu.Unlock()
	u := Usage{MaxRSSMB: float64(p.peakKB.Load()) / 1024}
	if ru, ok := state.SysUsage().(*syscall.Rusage); ok {
		u.CPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return u
}

// watchPeak records the run's peak resident set (VmHWM) every 10 ms until
// it exits. Not the kernel's ru_maxrss: Go starts a child with vfork, and
// exec carries the parent's high-water mark into the child's maxrss, so
// every child would report at least the parent's own resident set. VmHWM
// belongs to the child's own memory. Growth in the last 10 ms before exit
// can be missed.
func (p *Proc) watchPeak(pid int, done <-chan struct{}) {
	path := fmt.Sprintf("/proc/%d/status", pid)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if b, err := os.ReadFile(path); err == nil {
			if mb, err := parseStatusMB(string(b), "VmHWM"); err == nil {
				p.peakKB.Store(max(p.peakKB.Load(), int64(mb*1024)))
			}
		}
		select {
		case <-done:
			return
		case <-tick.C:
		}
	}
}

// RSSMB reads the current run's resident set now, from /proc, in MiB.
func (p *Proc) RSSMB(t TB) float64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.Pid()))
	if err != nil {
		t.Fatalf("resident set of %s: %v", p.Name, err)
	}
	mb, err := parseStatusMB(string(b), "VmRSS")
	if err != nil {
		t.Fatalf("resident set of %s: %v", p.Name, err)
	}
	return mb
}

// parseStatusMB returns a memory line (VmRSS, VmHWM) of a /proc/<pid>/status
// text in MiB.
func parseStatusMB(status, field string) (float64, error) {
	for line := range strings.Lines(status) {
		rest, ok := strings.CutPrefix(line, field+":")
		if !ok {
			continue
		}
		kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
		if err != nil {
			return 0, fmt.Errorf("%s %q: %w", field, rest, err)
		}
		return kb / 1024, nil
	}
	return 0, fmt.Errorf("no %s line", field)
}
