package testkit

import (
	"fmt"
	"os"
	"path/filepath"
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

// userHZ is the unit of the CPU times in /proc/<pid>/stat: the kernel
// reports them in USER_HZ ticks, fixed at 100 a second for user space on
// every Linux architecture (sysconf(_SC_CLK_TCK) would need cgo).
const userHZ = 100

// CPUTime returns the CPU time (user + system) the current run has used so
// far: while it runs from /proc/<pid>/stat, in 10 ms ticks, so that a
// benchmark can read a process's CPU over an interval of its life (a
// server's during a drain); once it ended, the kernel's accounting, as
// Usage.
func (p *Proc) CPUTime(t TB) time.Duration {
	t.Helper()
	if !p.Exited() {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.Pid()))
		if err == nil {
			d, err := parseStatCPU(string(b))
			if err != nil {
				t.Fatalf("CPU time of %s: %v", p.Name, err)
			}
			return d
		}
		// Gone from /proc: it has just been reaped, and Wait returns at once.
		p.Wait(t)
	}
	return p.Usage(t).CPU
}

// parseStatCPU returns utime + stime of a /proc/<pid>/stat text. The
// command name (field 2) is in parentheses and may hold spaces, so the
// fields are counted from the last ")": state is field 3, utime 14 and
// stime 15.
func parseStatCPU(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("stat %q: no command name", stat)
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("stat %q: %d fields after the name, want at least 13", stat, len(f))
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("stat %q: %w", stat, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}

// RunQueueWait returns how long the current run's threads have waited on
// a run queue for a core, summed over its threads (the second field of
// /proc/<pid>/task/<tid>/schedstat): time a busy machine adds to every
// step of the process's work. Threads that already exited are not
// counted; t fails once the run has ended, or without schedstats.
func (p *Proc) RunQueueWait(t TB) time.Duration {
	t.Helper()
	stats, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", p.Pid()))
	if len(stats) == 0 {
		t.Fatalf("run-queue wait of %s: no /proc/%d/task/*/schedstat", p.Name, p.Pid())
	}
	var sum time.Duration
	for _, path := range stats {
		b, err := os.ReadFile(path)
		if err != nil {
			continue // the thread exited meanwhile
		}
		wait, err := parseSchedWait(string(b))
		if err != nil {
			t.Fatalf("run-queue wait of %s: %v", p.Name, err)
		}
		sum += wait
	}
	return sum
}

// parseSchedWait returns the run-queue wait of a schedstat text: "<on cpu
// ns> <waiting ns> <timeslices>".
func parseSchedWait(schedstat string) (time.Duration, error) {
	f := strings.Fields(schedstat)
	if len(f) < 2 {
		return 0, fmt.Errorf("schedstat %q: want at least 2 fields", schedstat)
	}
	ns, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("schedstat %q: %w", schedstat, err)
	}
	return time.Duration(ns), nil
}
