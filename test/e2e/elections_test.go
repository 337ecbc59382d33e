//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
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

// streamLeaderLine is what a nats-server logs when it becomes the leader
// of the orders stream: "[7] 2026/12/05 01:02:03.123456 [INF] JetStream
// cluster new stream leader for '$G > ORDERS'". The servers log in UTC
// (the image has no zone data) and share the test's host clock on the
// offline cluster; on a real cluster the nodes' clocks may differ a little.
var streamLeaderLine = regexp.MustCompile(`^\[\d+\] (\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{6}) \[INF\] JetStream cluster new stream leader for '[^']+ > ` + regexp.QuoteMeta(names.Stream) + `'`)

// streamElectedAfter returns when the first NATS server logged that it
// leads the orders stream after since, and which pod; zero when none did
// (a single server's stream has no elections).
func streamElectedAfter(t *testing.T, e env, since time.Time) (time.Time, string) {
	t.Helper()
	ctx := context.Background()
	pods := e.mustPods(t, ctx, "nats")
	var first time.Time
	var by string
	for _, pod := range pods {
		out, err := e.kc(ctx, "logs", pod.Name, "-c", "nats", "--since-time", since.Add(-time.Second).UTC().Format(time.RFC3339))
		if err != nil {
			t.Logf("logs of %s: %v", pod.Name, err)
			continue
		}
		for line := range strings.Lines(out) {
			m := streamLeaderLine.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			at, err := time.ParseInLocation("2006/01/02 15:04:05.000000", m[1], time.UTC)
			if err == nil && at.After(since) && (first.IsZero() || at.Before(first)) {
				first, by = at, pod.Name
			}
		}
	}
	return first, by
}

// attribute reads, once the fault is over, whether the stream got a new
// leader (the servers' logs) during it.
func (d *disruption) attribute(t *testing.T, e env) {
	t.Helper()
	d.elected, d.electedBy = streamElectedAfter(t, e, d.injected)
}

// resumed is how long after the stream's new leader the first publish
// was acknowledged, given every acknowledged publish's time; false when
// the stream had no new leader or nothing was published after it.
func (d *disruption) resumed(published []time.Time) (time.Duration, bool) {
	if d.elected.IsZero() {
		return 0, false
	}
	for _, at := range published { // sorted
		if !at.Before(d.elected) {
			return at.Sub(d.elected), true
		}
	}
	return 0, false
}

// checkFailover fails t for a fault whose producers published again later
// than resumeBound after the stream's new leader, or a planned exit whose
// gap reached plannedGapBound.
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
	if d.elected.IsZero() {
		return "-"
	}
	s := fmt.Sprintf("%s after the fault (%s)", d.elected.Sub(d.injected).Round(time.Millisecond), d.electedBy)
	if d.hasResumed {
		s += fmt.Sprintf("; publishing again %s after it", d.resumedAfter.Round(time.Millisecond))
	}
	return s
}
