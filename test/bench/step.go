package main

import (
	"fmt"
	"runtime"
	"strings"

	"github.com/distsys-go/orders/internal/testkit"
)

// step is one measurement as testkit's TB, so the harness runs processes
// the way the test suites do: Fatalf ends the step with its error, as it
// ends a test, and Cleanup registers what the step's end undoes (the
// processes it started, the server's store).
type step struct {
	err      error
	cleanups []func()
}

var _ testkit.TB = (*step)(nil)

func (s *step) Helper() {}

// Logf drops what the kit logs: the processes' last lines that a failed
// test prints would bury the progress lines, and the step's error, which
// the report lists, says what failed.
func (s *step) Logf(string, ...any) {}

func (s *step) Fatalf(format string, args ...any) {
	s.err = fmt.Errorf(format, args...)
	runtime.Goexit()
}

func (s *step) Cleanup(f func()) { s.cleanups = append(s.cleanups, f) }

func (s *step) Failed() bool { return s.err != nil }

// runStep runs f in a goroutine of its own, which Fatalf can end, then
// its cleanups, the last registered first, and returns why it failed.
func runStep(f func(t *step)) error {
	s := &step{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			for i := len(s.cleanups) - 1; i >= 0; i-- {
				s.cleanups[i]()
			}
		}()
		f(s)
	}()
	<-done
	return s.err
}

// logEvents parses p's log lines so far.
func logEvents(p *testkit.Proc) []Event {
	var evs []Event
	for _, line := range p.Lines() {
		if ev, ok := ParseLine([]byte(line)); ok {
			evs = append(evs, ev)
		}
	}
	return evs
}

// finish waits for p to exit by itself with code 0 and returns what its
// run cost.
func finish(t *step, p *testkit.Proc) testkit.Usage {
	if code := p.Wait(t); code != 0 {
		t.Fatalf("%s exited with code %d: %s", p.Name, code, stderrTail(p))
	}
	return p.Usage(t)
}

// stop ends p with SIGTERM, as a deployment would, and returns what its
// run cost.
func stop(t *step, p *testkit.Proc) testkit.Usage {
	if code := p.Terminate(t); code != 0 {
		t.Fatalf("%s exited with code %d: %s", p.Name, code, stderrTail(p))
	}
	return p.Usage(t)
}

func stderrTail(p *testkit.Proc) string {
	s := p.Stderr()
	return strings.TrimSpace(s[max(0, len(s)-500):])
}
