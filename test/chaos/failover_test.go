//go:build chaos

package chaos

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/distsys-go/orders/internal/testkit"
	"github.com/distsys-go/orders/test/audit"
)

// resumeBound is how soon after the stream's new leader the producers
// must be publishing again: issue 20's target, not a measurement (2-23 ms
// measured, docs/kubernetes.md, "What a crashed NATS server costs"), so
// it does not flake on a busy machine.
const resumeBound = time.Second

// processingBound is how soon after the last new leader processing needs
// (the stream's, the durable's, the ledger's) the consumers must be at
// work again. Usually milliseconds too (2-283 ms), but it waits for the
// durable's new leader to serve, which it announces a moment before: one
// run with a consumer SIGKILLed during the failover measured 1.28 s, one
// during a cold .ci/run (compiles beside it) 4.33 s, the restarts
// backing off (up to 2 s apart) until the leader served. A bound generous
// enough never to flake, which still catches a consumer that is not back
// before its pull request expires (10 s) or not back at all.
const processingBound = 8 * time.Second

// failover is one leader loss: when the leader was killed, when the
// cluster had new leaders for what the killed server led (their own log
// lines), and what the pipeline did around it.
type failover struct {
	what   string // the asset whose leader was killed
	killed time.Time
	// elected: for each asset that got a new leader after the kill (the
	// one killed for, and any other the same server led), when.
	elected map[string]time.Time
	pubGap  time.Duration // longest pause between acknowledged publishes around the kill
	procGap time.Duration // longest pause between processed orders around the kill
	// pubAfter, procAfter: from the new leader publishing needs (the
	// stream's) and the last one processing needs (stream, durable,
	// ledger) to the first publish and processed order after it; -1 when
	// it did not need one.
	pubAfter, procAfter time.Duration
}

// asset is one JetStream asset the pipeline needs: how the report and the
// servers' logs name it, and whether publishing needs it (processing
// needs them all).
type asset struct {
	name, logName string
	publishing    bool
}

// assets are the pipeline's JetStream assets.
func (r *rig) assets() []asset {
	return []asset{
		{"stream " + r.names.Stream, "$G > " + r.names.Stream, true},
		{"durable " + r.names.Durable, "$G > " + r.names.Stream + " > " + r.names.Durable, false},
		{"ledger KV_" + r.names.Bucket, "$G > KV_" + r.names.Bucket, false},
	}
}

// electedAfter returns the time of the first "new … leader for 'asset'"
// line any node logged after since; the nodes share this machine's clock.
func electedAfter(nodes []*natsNode, asset string, since time.Time) (time.Time, bool) {
	var first time.Time
	for _, n := range nodes {
		for line := range strings.Lines(n.Stderr()) {
			nl, ok := audit.ParseNewLeader(line, time.Local)
			if ok && nl.Asset == asset && nl.At.After(since) && (first.IsZero() || nl.At.Before(first)) {
				first = nl.At
			}
		}
	}
	return first, !first.IsZero()
}

// logTimes are the times of the lines msg the processes logged.
func logTimes(msg string, procs ...*testkit.Proc) []time.Time {
	var at []time.Time
	for _, p := range procs {
		for _, rec := range p.Logged(msg) {
			at = append(at, rec.Time())
		}
	}
	slices.SortFunc(at, time.Time.Compare)
	return at
}

// gapAround is the longest pause between two consecutive times of at that
// ends after from and begins before to.
func gapAround(at []time.Time, from, to time.Time) time.Duration {
	var gap time.Duration
	for i := 1; i < len(at); i++ {
		if at[i].After(from) && at[i-1].Before(to) {
			gap = max(gap, at[i].Sub(at[i-1]))
		}
	}
	return gap
}

// firstAfter is how long after t the first time of at came (0 when one
// came before t's moment and none after: the flow never stopped).
func firstAfter(at []time.Time, t time.Time) (time.Duration, bool) {
	i, _ := slices.BinarySearchFunc(at, t, time.Time.Compare)
	if i == len(at) {
		return 0, false
	}
	return at[i].Sub(t), true
}

// measureFailover fills in f once the pipeline is at work again after
// the kill: waits (bounded) for an acknowledged publish and a processed
// order after the new leader of what was killed, then reads which assets
// got new leaders and when from the servers' logs, and measures. A
// pipeline at work later than resumeBound (publishing) or processingBound
// (processing) after the new leader it needed fails t.
func (r *rig) measureFailover(f *failover) {
	t := r.t
	t.Helper()
	target := r.assetNamed(f.what)
	var elected time.Time
	testkit.Eventually(t, fmt.Sprintf("a node logs it leads %s", target.logName), testkit.Bound, func() (bool, string) {
		var ok bool
		elected, ok = electedAfter(r.nodes, target.logName, f.killed)
		return ok, "no \"JetStream cluster new … leader\" line after the kill"
	})
	pubs := func() []time.Time { return logTimes("published order", r.producers...) }
	procs := func() []time.Time { return logTimes("received order", r.consumers...) }
	testkit.Eventually(t, "orders published and processed after the new leader", testkit.Bound, func() (bool, string) {
		_, pubOK := firstAfter(pubs(), elected)
		_, procOK := firstAfter(procs(), elected)
		return pubOK && procOK, fmt.Sprintf("published after it: %v, processed after it: %v", pubOK, procOK)
	})
	f.elected = map[string]time.Time{}
	var pubNeeds, procNeeds time.Time
	for _, a := range r.assets() {
		at, ok := electedAfter(r.nodes, a.logName, f.killed)
		if !ok {
			continue
		}
		f.elected[a.name] = at
		if a.publishing && at.After(pubNeeds) {
			pubNeeds = at
		}
		if at.After(procNeeds) {
			procNeeds = at
		}
	}
	f.pubAfter, f.procAfter = resumedAfter(t, pubs, pubNeeds), resumedAfter(t, procs, procNeeds)
	until := procNeeds.Add(max(f.procAfter, 0))
	if f.pubAfter >= 0 {
		until = later(until, pubNeeds.Add(f.pubAfter))
	}
	f.pubGap, f.procGap = gapAround(pubs(), f.killed, until), gapAround(procs(), f.killed, until)
	t.Logf("%s: %s; publish gap %s, processing gap %s; publishing again %s after the new leader it needed, processing %s",
		f.what, f.electionsLine(), ms(f.pubGap), ms(f.procGap), msOrDash(f.pubAfter), msOrDash(f.procAfter))
	if f.pubAfter > resumeBound || f.procAfter > processingBound {
		t.Errorf("%s: publishing again %s after the new leader it needed (want within %s), processing %s (want within %s); meanwhile:\n%s",
			f.what, msOrDash(f.pubAfter), resumeBound, msOrDash(f.procAfter), processingBound,
			whatHappened(append(r.producers, r.consumers...), f.killed, until))
	}
}

func (r *rig) assetNamed(name string) asset {
	for _, a := range r.assets() {
		if a.name == name {
			return a
		}
	}
	r.t.Fatalf("no asset %q", name)
	return asset{}
}

// resumedAfter is how long after at the first time of times() came; -1
// when at is zero (nothing needed a new leader).
func resumedAfter(t *faultT, times func() []time.Time, at time.Time) time.Duration {
	if at.IsZero() {
		return -1
	}
	d, ok := firstAfter(times(), at)
	if !ok {
		testkit.Eventually(t, "work after the last new leader", testkit.Bound, func() (bool, string) {
			d, ok = firstAfter(times(), at)
			return ok, "none yet"
		})
	}
	return d
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// electionsLine says which assets got new leaders, how long after the
// kill.
func (f failover) electionsLine() string {
	var parts []string
	for name, at := range f.elected {
		parts = append(parts, fmt.Sprintf("%s new leader after %s", name, ms(at.Sub(f.killed))))
	}
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}

func msOrDash(d time.Duration) string {
	if d < 0 {
		return "-"
	}
	return ms(d)
}

// whatHappened lists, per process, the messages it logged between from
// and to other than the per-order lines, with their first time and count.
func whatHappened(procs []*testkit.Proc, from, to time.Time) string {
	var b strings.Builder
	for _, p := range procs {
		seen := map[string]int{}
		var order []string
		for _, line := range p.Lines() {
			var rec testkit.Record
			if json.Unmarshal([]byte(line), &rec) != nil {
				continue
			}
			msg, at := rec.String("msg"), rec.Time()
			if msg == "" || msg == "published order" || msg == "received order" || at.Before(from) || at.After(to) {
				continue
			}
			key := fmt.Sprintf("%s %s (%s)", at.Format("15:04:05.000"), msg, rec.String("error"))
			if seen[msg] == 0 {
				order = append(order, key)
			}
			seen[msg]++
		}
		for _, k := range order {
			fmt.Fprintf(&b, "  %s: %s\n", p.Name, k)
		}
	}
	return b.String()
}

func ms(d time.Duration) string { return d.Round(time.Millisecond).String() }

// failoverTable lists the leader losses of every fault that ran.
func (rep *report) failoverTable() string {
	rep.mu.Lock()
	defer rep.mu.Unlock()
	tb := testkit.Table{
		Title:  "leader losses: the servers' elections against the pipeline's gaps",
		Header: []string{"leader SIGKILLed", "new leaders after (servers' logs)", "longest publish gap", "publishing again after its new leader", "longest processing gap", "processing again after the last new leader"},
		Notes: []string{
			"new leaders after: from the kill to each new leader's own \"JetStream cluster new … leader\" log line, for every asset the killed server led",
			"publishing needs the stream's leader; processing needs the stream's, the durable's and the ledger's: \"again after\" runs from the last of those it needed to the first acknowledged publish / processed order; checked within " + resumeBound.String() + " (publishing) and " + processingBound.String() + " (processing)",
		},
	}
	for _, r := range rep.rows {
		for _, f := range r.failovers {
			tb.Add(f.what, f.electionsLine(), ms(f.pubGap), msOrDash(f.pubAfter), ms(f.procGap), msOrDash(f.procAfter))
		}
	}
	if len(tb.Rows) == 0 {
		return ""
	}
	return tb.String()
}
