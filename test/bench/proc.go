package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/distsys-go/orders/internal/testkit"
)

// errTimeout: a process did not reach the awaited state in time.
var errTimeout = testkit.ErrTimeout

// Usage is what the kernel accounted for an exited process.
type Usage struct {
	CPU      time.Duration // user + system
	MaxRSSMB float64
}

// Proc is a binary running as a child process whose stdout JSON log lines
// are parsed as they come.
type Proc struct {
	name   string
	cmd    *exec.Cmd
	done   chan struct{}
	mu     sync.Mutex
	lines  []byte         // the log lines with a message, each ending in \n
	counts map[string]int // lines per message
	// warnings counts the WARN and ERROR lines per message: a run that
	// retried or redelivered orders says so next to its figures.
	warnings map[string]int
	stderr   bytes.Buffer
	peakKB   atomic.Int64 // VmHWM, see watchPeak
	err      error        // of Wait, once done is closed
}

// StartProc runs path with args and the environment env.
func StartProc(name, path string, env []string, args ...string) (*Proc, error) {
	p := &Proc{name: name, done: make(chan struct{}), counts: map[string]int{}, warnings: map[string]int{}}
	p.cmd = exec.Command(path, args...)
	p.cmd.Env = env
	// The kernel kills the child when the harness dies (Ctrl-C, a panic).
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	p.cmd.Stderr = &lockedWriter{mu: &p.mu, w: &p.stderr}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("%s: stdout: %w", name, err)
	}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go p.watchPeak()
	go func() {
		p.read(out)
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// read keeps the process's log lines and counts their messages as they
// come, parsing them only when Events asks: a full JSON parse of each line
// costs microseconds, which at 100,000 lines a second would take a good
// part of a core from the processes measured.
func (p *Proc) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Bytes()
		msg, ok := LineMsg(line)
		if !ok {
			continue
		}
		warn := bytes.Contains(line, levelWarn) || bytes.Contains(line, levelError)
		p.mu.Lock()
		p.lines = append(append(p.lines, line...), '\n')
		p.counts[msg]++
		if warn {
			p.warnings[msg]++
		}
		p.mu.Unlock()
	}
	_, _ = io.Copy(io.Discard, r) // a line too long must not block the child
}

// Count is how many lines with message msg the process logged so far.
func (p *Proc) Count(msg string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.counts[msg]
}

// Warnings returns how many WARN and ERROR lines the process logged so
// far, per message.
func (p *Proc) Warnings() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.warnings)
}

// Level values of slog JSON lines that Warnings counts.
var (
	levelWarn  = []byte(`"level":"WARN"`)
	levelError = []byte(`"level":"ERROR"`)
)

// Events returns the parsed log lines so far.
func (p *Proc) Events() []Event {
	p.mu.Lock()
	lines := p.lines[:len(p.lines):len(p.lines)] // read only: appends go elsewhere
	p.mu.Unlock()
	var evs []Event
	for line := range bytes.Lines(lines) {
		if ev, ok := ParseLine(line); ok {
			evs = append(evs, ev)
		}
	}
	return evs
}

// WaitLogged waits until the process logged msg at least n times.
func (p *Proc) WaitLogged(msg string, n int, timeout time.Duration) error {
	exited := false
	err := testkit.Await(stderrLog{}, fmt.Sprintf("%s: %d %q lines", p.name, n, msg), timeout, func() (bool, string) {
		select {
		case <-p.done:
			exited = true // the lines are all read: polling on cannot help
		default:
		}
		return exited || p.Count(msg) >= n, fmt.Sprintf("%d lines", p.Count(msg))
	})
	if err == nil && p.Count(msg) < n {
		err = fmt.Errorf("%s exited (%v) after %d %q lines, want %d: %s", p.name, p.err, p.Count(msg), msg, n, p.stderrTail())
	}
	return err
}

// Wait waits for the process to exit by itself and returns its usage.
func (p *Proc) Wait(timeout time.Duration) (Usage, error) {
	select {
	case <-p.done:
	case <-time.After(timeout):
		_ = p.cmd.Process.Kill()
		<-p.done
		return Usage{}, fmt.Errorf("%s did not exit within %s: %w", p.name, timeout, errTimeout)
	}
	if p.err != nil {
		return p.usage(), fmt.Errorf("%s: %w: %s", p.name, p.err, p.stderrTail())
	}
	return p.usage(), nil
}

// Stop sends SIGTERM and waits for the process to shut down.
func (p *Proc) Stop(timeout time.Duration) (Usage, error) {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	return p.Wait(timeout)
}

// Kill ends the process without waiting for a clean shutdown; for cleanup
// after a failed step.
func (p *Proc) Kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

func (p *Proc) usage() Usage {
	ru, ok := p.cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return Usage{}
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return Usage{CPU: cpu, MaxRSSMB: float64(p.peakKB.Load()) / 1024}
}

// watchPeak records the process's peak resident set (VmHWM) every 10 ms
// until it exits. Not the kernel's ru_maxrss: Go starts a child with
// vfork, and exec carries the parent's high-water mark into the child's
// maxrss, so every child would report at least the harness's own resident
// set (40-60 MB by the later steps). VmHWM belongs to the child's own
// memory. Growth in the last 10 ms before exit can be missed.
func (p *Proc) watchPeak() {
	path := fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if b, err := os.ReadFile(path); err == nil {
			if mb, err := parseStatusMB(string(b), "VmHWM"); err == nil {
				p.peakKB.Store(max(p.peakKB.Load(), int64(mb*1024)))
			}
		}
		select {
		case <-p.done:
			return
		case <-tick.C:
		}
	}
}

// RSSMB reads the process's resident set now, from /proc.
func (p *Proc) RSSMB() (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, fmt.Errorf("%s: %w", p.name, err)
	}
	return parseStatusMB(string(b), "VmRSS")
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

func (p *Proc) stderrTail() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.stderr.String()
	if len(s) > 500 {
		s = s[len(s)-500:]
	}
	return strings.TrimSpace(s)
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}
