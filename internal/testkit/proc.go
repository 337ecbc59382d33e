package testkit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Bound limits every wait of the process harness: how long a failing test
// hangs, not how long a passing one takes.
const Bound = 60 * time.Second

// Record is one JSON log line of a process.
type Record map[string]any

// String returns the field k as a string, "" when it is missing.
func (r Record) String(k string) string {
	s, _ := r[k].(string)
	return s
}

// Time returns the record's "time" field, the zero time when it has none.
func (r Record) Time() time.Time {
	at, _ := time.Parse(time.RFC3339Nano, r.String("time"))
	return at
}

// Proc is a binary running as a process, restartable: its log accumulates
// over every run, as a pod's log does over restarts.
type Proc struct {
	// Name is the binary's base name, or what the Name option set.
	Name string
	path string
	args []string
	env  []string
	peak bool          // PeakRSS: watch the run's VmHWM
	wait time.Duration // WaitBound, Bound by default

	mu       sync.Mutex
	cmd      *exec.Cmd
	done     chan struct{}
	code     int
	runStart int // index of the current run's first log line
	// raw holds every log line; recs holds the first len(recs) of them
	// parsed, filled in only when a test asks (see read).
	raw    []string
	recs   []Record
	counts map[string]int // lines per message
	// warnings counts the WARN and ERROR lines per message: a run that
	// retried or redelivered orders says so next to its figures.
	warnings map[string]int
	stderr   bytes.Buffer
	peakKB   atomic.Int64 // the current run's VmHWM, with PeakRSS
}

// ProcOption changes how Start runs a process.
type ProcOption func(*Proc)

// Name names the process in failures and logs (default: the binary's base
// name), for tests that run several of the same binary.
func Name(name string) ProcOption { return func(p *Proc) { p.Name = name } }

// Args gives the binary command-line arguments; the services take none
// (environment only), nats-server does.
func Args(args ...string) ProcOption { return func(p *Proc) { p.args = args } }

// PeakRSS has each run's peak resident set watched, for Usage.
func PeakRSS() ProcOption { return func(p *Proc) { p.peak = true } }

// WaitBound changes how long Wait and AwaitLogged wait before failing
// (default Bound), for a process given a long piece of work.
func WaitBound(d time.Duration) ProcOption { return func(p *Proc) { p.wait = d } }

// Start runs the binary at path with exactly the environment env (nothing
// inherited) and kills it when t ends; if t failed, it logs the process's
// last lines then.
func Start(t TB, path string, env []string, opts ...ProcOption) *Proc {
	t.Helper()
	p := &Proc{Name: filepath.Base(path), path: path, env: env, wait: Bound, counts: map[string]int{}, warnings: map[string]int{}}
	for _, o := range opts {
		o(p)
	}
	p.run(t)
	t.Cleanup(func() {
		p.mu.Lock()
		cmd, done := p.cmd, p.done
		p.mu.Unlock()
		_ = cmd.Process.Kill() // also ends a SIGSTOPped process
		<-done
		if t.Failed() {
			t.Logf("%s %v output (last lines):\n%s\nstderr (last lines):\n%s", p.Name, notInherited(env), strings.Join(p.lastLines(30), "\n"), lastLinesOf(p.Stderr(), 30))
		}
	})
	return p
}

// notInherited is the part of env that the caller's own environment does
// not hold: what a test set, without a benchmark's whole inherited
// environment (which may hold secrets) in its failure output.
func notInherited(env []string) []string {
	own := os.Environ()
	var out []string
	for _, kv := range env {
		if !slices.Contains(own, kv) {
			out = append(out, kv)
		}
	}
	return out
}

func (p *Proc) run(t TB) {
	t.Helper()
	cmd := exec.Command(p.path, p.args...)
	cmd.Env = p.env
	dieWithTest(cmd)
	cmd.Stderr = lockedWriter{&p.mu, &p.stderr}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("%s stdout: %v", p.Name, err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", p.Name, err)
	}
	done := make(chan struct{})
	p.mu.Lock()
	p.cmd, p.done, p.code, p.runStart = cmd, done, 0, len(p.raw)
	p.mu.Unlock()
	p.peakKB.Store(0)
	if p.peak {
		go p.watchPeak(cmd.Process.Pid, done)
	}
	go func() {
		p.read(stdout)
		err := cmd.Wait()
		code := cmd.ProcessState.ExitCode()
		if err != nil && code == 0 {
			code = -1 // killed by a signal
		}
		p.mu.Lock()
		p.code = code
		p.mu.Unlock()
		close(done)
	}()
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// read keeps the process's log lines and counts them per message as they
// come, parsing them only when a test asks for records: a full JSON parse
// of each line costs microseconds, which at 100,000 lines a second (a
// benchmark's) would take a good part of a core from the processes
// measured.
func (p *Proc) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		msg, ok := LineMsg(line)
		warn := ok && (bytes.Contains(line, levelWarn) || bytes.Contains(line, levelError))
		p.mu.Lock()
		p.raw = append(p.raw, string(line))
		if ok {
			p.counts[msg]++
		}
		if warn {
			p.warnings[msg]++
		}
		p.mu.Unlock()
	}
	_, _ = io.Copy(io.Discard, r) // a line too long must not block the child
}

// Level values of slog JSON lines that Warnings counts.
var (
	levelWarn  = []byte(`"level":"WARN"`)
	levelError = []byte(`"level":"ERROR"`)
)

func (p *Proc) lastLines(n int) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.raw[max(0, len(p.raw)-n):]...)
}

// Lines returns the process's log lines so far, from every run.
func (p *Proc) Lines() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.raw[:len(p.raw):len(p.raw)] // read only: appends go elsewhere
}

// Count is how many lines with message msg the process logged so far,
// over every run; cheap enough to poll on a benchmark's log.
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

// Logged returns the log records whose msg is msg, from every run.
func (p *Proc) Logged(msg string) []Record {
	return p.logged(msg, false)
}

func (p *Proc) logged(msg string, currentRun bool) []Record {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, line := range p.raw[len(p.recs):] {
		var rec Record
		_ = json.Unmarshal([]byte(line), &rec)
		p.recs = append(p.recs, rec)
	}
	from := 0
	if currentRun {
		from = p.runStart
	}
	var out []Record
	for _, r := range p.recs[from:] {
		if r["msg"] == msg {
			out = append(out, r)
		}
	}
	return out
}

func (p *Proc) runLines() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.raw) - p.runStart
}

// AwaitLogged waits until the process logged msg at least n times over
// every run, failing t at once if the current run ends short of that.
func (p *Proc) AwaitLogged(t TB, msg string, n int) {
	t.Helper()
	Eventually(t, fmt.Sprintf("%s logs %q %d times", p.Name, msg, n), p.wait, func() (bool, string) {
		exited := p.Exited() // before counting: once exited, every line is counted
		got := p.Count(msg)
		if got < n && exited {
			t.Fatalf("%s exited (code %d) after %d %q lines, want %d; stderr: %s", p.Name, p.Wait(t), got, msg, n, tail(p.Stderr(), 500))
		}
		return got >= n, fmt.Sprintf("%d lines", got)
	})
}

// Stderr is what the process wrote to stderr, over every run.
func (p *Proc) Stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// Pid is the current run's process id.
func (p *Proc) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd.Process.Pid
}

// Exited reports whether the current run has ended.
func (p *Proc) Exited() bool {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	select {
	case <-done:
		return true
	default:
		return false
	}
}

// Wait returns the current run's exit code once it ended (-1 when a signal
// ended it), failing t after Bound (or WaitBound).
func (p *Proc) Wait(t TB) int {
	t.Helper()
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	select {
	case <-done:
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.code
	case <-time.After(p.wait):
		t.Fatalf("%s did not exit within %s", p.Name, p.wait)
		return 0
	}
}

// Signal sends sig to the current run.
func (p *Proc) Signal(t TB, sig syscall.Signal) {
	t.Helper()
	p.mu.Lock()
	cmd := p.cmd
	p.mu.Unlock()
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatalf("%v %s: %v", sig, p.Name, err)
	}
}

// Terminate sends SIGTERM, what Kubernetes sends a pod, and returns the
// exit code.
func (p *Proc) Terminate(t TB) int {
	t.Helper()
	p.Signal(t, syscall.SIGTERM)
	return p.Wait(t)
}

// Kill sends SIGKILL, a crash or an OOM kill, and waits for the end.
func (p *Proc) Kill(t TB) {
	t.Helper()
	p.Signal(t, syscall.SIGKILL)
	p.Wait(t)
}

// Pause sends SIGSTOP: the process holds its connections and does nothing,
// like a process stuck in a long GC pause or a frozen VM.
func (p *Proc) Pause(t TB) { t.Helper(); p.Signal(t, syscall.SIGSTOP) }

// Resume sends SIGCONT after Pause.
func (p *Proc) Resume(t TB) { t.Helper(); p.Signal(t, syscall.SIGCONT) }

// Restart starts the binary again with the same environment once the
// current run has ended; the log keeps the earlier runs' lines.
func (p *Proc) Restart(t TB) {
	t.Helper()
	if !p.Exited() {
		t.Fatalf("restart %s: still running", p.Name)
	}
	p.run(t)
}

func (p *Proc) String() string { return fmt.Sprintf("%s (pid %d)", p.Name, p.Pid()) }
