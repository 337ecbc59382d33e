package testkit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
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

// Proc is a service binary running as a process, restartable: its log
// accumulates over every run, as a pod's log does over restarts.
type Proc struct {
	// Name is the binary's base name, or what the Name option set.
	Name string
	path string
	args []string
	env  []string

	mu       sync.Mutex
	cmd      *exec.Cmd
	done     chan struct{}
	code     int
	runStart int // index of the current run's first log line
	recs     []Record
	raw      []string
	stderr   bytes.Buffer
}

// ProcOption changes how Start runs a process.
type ProcOption func(*Proc)

// Name names the process in failures and logs (default: the binary's base
// name), for tests that run several of the same binary.
func Name(name string) ProcOption { return func(p *Proc) { p.Name = name } }

// Args gives the binary command-line arguments; the services take none
// (environment only), nats-server does.
func Args(args ...string) ProcOption { return func(p *Proc) { p.args = args } }

// Start runs the binary at path with exactly the environment env (nothing
// inherited) and kills it when t ends; if t failed, it logs the process's
// last lines then.
func Start(t TB, path string, env []string, opts ...ProcOption) *Proc {
	t.Helper()
	p := &Proc{Name: filepath.Base(path), path: path, env: env}
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
			t.Logf("%s %v output (last lines):\n%s\nstderr: %s", p.Name, env, strings.Join(p.lastLines(30), "\n"), p.Stderr())
		}
	})
	return p
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
	p.cmd, p.done, p.code, p.runStart = cmd, done, 0, len(p.recs)
	p.mu.Unlock()
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

func (p *Proc) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var rec Record
		_ = json.Unmarshal(sc.Bytes(), &rec)
		p.mu.Lock()
		p.recs = append(p.recs, rec)
		p.raw = append(p.raw, sc.Text())
		p.mu.Unlock()
	}
}

func (p *Proc) lastLines(n int) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.raw[max(0, len(p.raw)-n):]...)
}

// Logged returns the log records whose msg is msg, from every run.
func (p *Proc) Logged(msg string) []Record {
	return p.logged(msg, false)
}

func (p *Proc) logged(msg string, currentRun bool) []Record {
	p.mu.Lock()
	defer p.mu.Unlock()
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
	return len(p.recs) - p.runStart
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
// ended it), failing t after Bound.
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
	case <-time.After(Bound):
		t.Fatalf("%s did not exit within %s", p.Name, Bound)
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
