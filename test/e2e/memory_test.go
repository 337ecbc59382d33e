//go:build e2e

package e2e

import (
	"context"
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
			limit, err := quantity(p.MemoryLimit)
			if err != nil {
				t.Fatalf("%s: memory limit: %v", p.Name, err)
			}
			m, err := e.metrics(ctx, p.Name)
			if err != nil {
				t.Fatalf("%s: %v", p.Name, err)
			}
			want := float64(int64(limit * 0.9))
			if got := m["go_gc_gomemlimit_bytes"]; got != want {
				t.Errorf("%s: go_gc_gomemlimit_bytes %.0f, want %.0f (0.9 of %s)", p.Name, got, want, p.MemoryLimit)
				continue
			}
			t.Logf("%s: GOMEMLIMIT %.1f MiB of a %s limit", p.Name, want/(1<<20), p.MemoryLimit)
		}
	}
}
