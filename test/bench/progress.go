package main

import (
	"fmt"
	"io"
	"os"
	"time"
)

// progress prints one line per step with the time since the run began.
type progress struct {
	w     io.Writer
	start time.Time
	total int
	n     int
}

func (p *progress) step(what string) {
	p.n++
	fmt.Fprintf(p.w, "[%6.1fs] %2d/%d %s\n", time.Since(p.start).Seconds(), p.n, p.total, what)
}

func (p *progress) result(format string, args ...any) {
	fmt.Fprintf(p.w, "          → "+format+"\n", args...)
}

// stderrLog is where a wait of the harness would log its progress: the
// run's own stderr, beside the progress lines.
type stderrLog struct{}

func (stderrLog) Helper() {}

func (stderrLog) Logf(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
