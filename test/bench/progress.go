package main

import (
	"fmt"
	"io"
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
