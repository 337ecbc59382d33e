//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// checkMemoryLimits: every pod of the components runs with the Go memory
// limit AUTOMEMLIMIT (0.9 by default) derives from its container's
// memory limit, as its go_gc_gomemlimit_bytes says. This is the cgroup
// the kubelet made, read from inside the distroless container.
func checkMemoryLimits(t *testing.T, e env, components ...string) {
	t.Helper()
	ctx := context.Background()
	for _, c := range components {
		for _, p := range e.mustPods(t, ctx, c) {
			limit, err := bytesOf(p.MemoryLimit)
			if err != nil {
				t.Fatalf("%s: memory limit: %v", p.Name, err)
			}
			m, err := e.metrics(ctx, p.Name)
			if err != nil {
				t.Fatalf("%s: %v", p.Name, err)
			}
			want := float64(int64(float64(limit) * 0.9))
			if got := m["go_gc_gomemlimit_bytes"]; got != want {
				t.Errorf("%s: go_gc_gomemlimit_bytes %.0f, want %.0f (0.9 of %s)", p.Name, got, want, p.MemoryLimit)
				continue
			}
			t.Logf("%s: GOMEMLIMIT %.1f MiB of a %s limit", p.Name, want/(1<<20), p.MemoryLimit)
		}
	}
}

// bytesOf reads a memory quantity in the binary units the chart uses
// ("128Mi") or in bytes.
func bytesOf(q string) (int64, error) {
	for i, unit := range []string{"Ki", "Mi", "Gi"} {
		if n, ok := strings.CutSuffix(q, unit); ok {
			v, err := strconv.ParseInt(n, 10, 64)
			return v << (10 * (i + 1)), err
		}
	}
	v, err := strconv.ParseInt(q, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q: want bytes or Ki, Mi, Gi", q)
	}
	return v, nil
}
