//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/distsys-go/orders/test/audit"
)

// resumeBound is how soon after the stream's new leader the producers
// must be publishing again: what they add to the server's own election
// (docs/kubernetes.md, "What a crashed NATS server costs"). A target, not
// a measurement, so it does not flake on a busy machine.
const resumeBound = time.Second

// plannedGapBound is the longest publish gap a planned exit of a NATS
// server (deletion, eviction, rollout: lame duck) may cost; measured well
// under it (docs/e2e.md).
const plannedGapBound = time.Second

// streamElections returns when NATS servers logged that they lead the
// orders stream after since, oldest first, each with the pod; none for a
// single server's stream, which has no elections. The servers log in UTC
// (the image has no zone data) and share the test's host clock on the
// offline cluster; on a real cluster the nodes' clocks may differ a little.
func streamElections(t *testing.T, e env, since time.Time) []election {
	t.Helper()
	ctx := context.Background()
	var out []election
	for _, pod := range e.mustPods(t, ctx, "nats") {
		logs, err := e.kc(ctx, "logs", pod.Name, "-c", "nats", "--since-time", since.Add(-time.Second).UTC().Format(time.RFC3339))
		if err != nil {
			t.Logf("logs of %s: %v", pod.Name, err)
			continue
		}
		for line := range strings.Lines(logs) {
			nl, ok := audit.ParseNewLeader(line, time.UTC)
			if ok && nl.Kind == "stream" && strings.HasSuffix(nl.Asset, " > "+names.Stream) && nl.At.After(since) {
				out = append(out, election{at: nl.At, pod: pod.Name})
			}
		}
	}
	slices.SortFunc(out, func(a, b election) int { return a.at.Compare(b.at) })
	return out
}

// election is one new leader of the stream: when its server logged it.
type election struct {
	at  time.Time
	pod string
}

// attribute reads, once the fault is over, the stream's elections during
// it (the servers' logs).
func (d *disruption) attribute(t *testing.T, e env) {
	t.Helper()
	d.elections = streamElections(t, e, d.injected)
}

// resumed settles, from every acknowledged publish's time (sorted), which
// election publishing waited for and how long after it publishing went
// on: the last new leader before the first publish that followed one.
// (A leader can be replaced again before it takes a write: publishing
// needs the last.) False when the stream had no new leader, or nothing
// was published after it.
func (d *disruption) resumed(published []time.Time) (time.Duration, bool) {
	if len(d.elections) == 0 {
		return 0, false
	}
	first := d.elections[0].at
	i, _ := slices.BinarySearchFunc(published, first, time.Time.Compare)
	if i == len(published) {
		return 0, false
	}
	next := published[i]
	for _, el := range d.elections {
		if !el.at.After(next) {
			d.elected, d.electedBy = el.at, el.pod
		}
	}
	return next.Sub(d.elected), true
}

// checkFailover fails t when the producers published again later than
// resumeBound after the stream's new leader, after any fault, and for a
// planned exit (lame duck) when its gap reached plannedGapBound.
func (d *disruption) checkFailover(t *testing.T) {
	t.Helper()
	if d.hasResumed && d.resumedAfter > resumeBound {
		t.Errorf("%s: publishing again %s after the stream's new leader (%s), want within %s",
			d.name, d.resumedAfter.Round(time.Millisecond), d.electedBy, resumeBound)
	}
	if d.planned && d.longestGap >= plannedGapBound {
		t.Errorf("%s: a planned exit (lame duck) left a publish gap of %s, want under %s",
			d.name, d.longestGap.Round(time.Millisecond), plannedGapBound)
	}
}

// electionCell is the report's "stream's new leader" cell.
func (d *disruption) electionCell() string {
	if len(d.elections) == 0 {
		return "-"
	}
	if d.elected.IsZero() { // before the audit settled which one
		return fmt.Sprintf("%d, the first %s after the fault", len(d.elections), d.elections[0].at.Sub(d.injected).Round(time.Millisecond))
	}
	s := fmt.Sprintf("%s after the fault (%s", d.elected.Sub(d.injected).Round(time.Millisecond), d.electedBy)
	if n := len(d.elections); n > 1 {
		s += fmt.Sprintf("; %d elections, this the last before publishing went on", n)
	}
	s += ")"
	if d.hasResumed {
		s += fmt.Sprintf("; publishing again %s after it", d.resumedAfter.Round(time.Millisecond))
	}
	return s
}
