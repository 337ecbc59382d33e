package service

import (
	"fmt"
	"log/slog"
	"math"
	"runtime/debug"
	"strconv"

	"github.com/KimMachineGun/automemlimit/memlimit"
)

// GC is how Go's garbage collector uses memory. The runtime reads GOGC and
// GOMEMLIMIT by itself; declaring them here gives them our defaults and
// lists them in -h.
//
// Why not Go's GOGC=100: a service's live heap is a few MiB, so at 100 the
// collector runs every few MiB allocated; at 300 it spends markedly less
// CPU per order for a few MiB more memory.
//
// Why AUTOMEMLIMIT: at 300 the heap may grow to four times what is live
// before a collection, and a consumer's window of large orders is a lot
// live; without a soft limit below the container's, such a consumer can
// be killed by the kernel. The measurements behind both are in
// docs/performance.md, "Garbage collector (GOGC, GOMEMLIMIT)".
type GC struct {
	Percent string `envconfig:"GOGC" default:"300" desc:"garbage collector target: a collection when the heap grew this many percent since the last one, or off; Go's own default is 100"`
	// MemoryRatio is read by memlimit as well; both read the same value.
	MemoryRatio string `envconfig:"AUTOMEMLIMIT" default:"0.9" desc:"GOMEMLIMIT as this fraction (0 to 1] of the container's memory limit (cgroup), so the collector runs harder before the kernel kills the process; off leaves it unset"`
	// MemoryLimit is applied by the runtime before main runs (a malformed
	// one stops it there); it is here to be listed in -h and logged.
	MemoryLimit string `envconfig:"GOMEMLIMIT" desc:"Go's soft memory limit (such as 100MiB), read by the Go runtime; when set, AUTOMEMLIMIT is not used"`
}

// Validate implements config.Validator.
func (g GC) Validate() error {
	if _, err := g.percent(); err != nil {
		return err
	}
	_, err := g.ratio()
	return err
}

// apply sets the collector's target, as the runtime would have for GOGC,
// and the soft memory limit from limit (the container's, in Start), and
// logs the limit.
func (g GC) apply(limit memlimit.Provider, log *slog.Logger) {
	if p, err := g.percent(); err == nil {
		debug.SetGCPercent(p)
	}
	ratio, err := g.ratio()
	if err != nil || ratio == 0 {
		return
	}
	set, err := memlimit.Set(memlimit.WithRatio(ratio), memlimit.WithProvider(limit))
	switch {
	case err != nil:
		// Not in a container, or not on Linux: nothing to derive it from.
		log.Info("memory limit not set: no container limit found", "error", err)
	case set == math.MaxInt64:
		log.Info("memory limit not set: the container has none")
	default:
		log.Info("memory limit set", "gomemlimit_mib", set>>20, "source", g.memorySource())
	}
}

// memorySource says where the limit memlimit.Set applied came from.
func (g GC) memorySource() string {
	if g.MemoryLimit != "" {
		return "GOMEMLIMIT=" + g.MemoryLimit
	}
	return "container limit × AUTOMEMLIMIT"
}

func (g GC) percent() (int, error) {
	if g.Percent == "off" {
		return -1, nil
	}
	p, err := strconv.Atoi(g.Percent)
	if err != nil || p <= 0 {
		return 0, fmt.Errorf("GOGC=%q: want a positive percentage or off", g.Percent)
	}
	return p, nil
}

// ratio is AUTOMEMLIMIT as a number, 0 for off.
func (g GC) ratio() (float64, error) {
	if g.MemoryRatio == "off" {
		return 0, nil
	}
	r, err := strconv.ParseFloat(g.MemoryRatio, 64)
	if err != nil || math.IsNaN(r) || r <= 0 || r > 1 {
		return 0, fmt.Errorf("AUTOMEMLIMIT=%q: want a fraction above 0 and at most 1, or off", g.MemoryRatio)
	}
	return r, nil
}
