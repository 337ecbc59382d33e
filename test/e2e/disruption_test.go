//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/distsys-go/orders/internal/testkit"
)

// sample is one scrape of a consumer's orders_processed_total.
type sample struct {
	at time.Time
	v  float64
}

// disruption is one fault or rollout the scenario put the release through,
// measured from outside NATS: publishes from the producers' logs, processing
// from the consumers' /metrics.
type disruption struct {
	name       string
	start, end time.Time     // fault injected; every consumer processing again
	longestGap time.Duration // longest pause between acknowledged publishes across the window
	gapAt      time.Time     // when that pause began
	recovered  time.Duration // from start until every consumer processes steadily
	note       string        // what the fault did (leader moved, exit code, …)
	// planned: a NATS server exits as planned (lame duck), so the gap
	// must stay under plannedGapBound.
	planned bool
	// injected: when the fault acted (start, unless the fault marked it).
	injected time.Time
	// elections: the stream's new leaders during the fault (the servers'
	// logs); elected, electedBy: the one publishing waited for (see
	// resumed); resumedAfter: from then to the next acknowledged publish
	// (hasResumed when there was one).
	elections    []election
	elected      time.Time
	electedBy    string
	resumedAfter time.Duration
	hasResumed   bool
}

// disrupt runs fault, then waits until n consumers are each processing
// again, and measures the disruption. The returned value is filled in by
// measure once the producers' logs are complete (at the audit).
func disrupt(t *testing.T, e env, scr *scraper, n int, name string, fault func() string) *disruption {
	t.Helper()
	scr.scrapeOnce() // a sample just before, so a stall starting now shows
	d := &disruption{name: name, start: time.Now()}
	d.note = fault()
	waitConsumersProcessing(t, e, scr, n, "after: "+name)
	d.end = time.Now()
	d.recovered = scr.recovery(d.start, d.end)
	t.Logf("%s: every consumer processing %s after the fault (%s)", name, d.recovered.Round(100*time.Millisecond), d.note)
	return d
}

// measure finds the longest pause between acknowledged publishes (sorted
// log times of every producer) that overlaps the disruption: the pause
// that straddles its start counts, so a fault that stops publishing at
// once shows its full outage.
func (d *disruption) measure(published []time.Time) {
	d.longestGap, d.gapAt = 0, time.Time{}
	for i := 1; i < len(published); i++ {
		a, b := published[i-1], published[i]
		if b.Before(d.start) || a.After(d.end) {
			continue
		}
		if gap := b.Sub(a); gap > d.longestGap {
			d.longestGap, d.gapAt = gap, a
		}
	}
	d.resumedAfter, d.hasResumed = d.resumed(published)
}

// waitConsumersProcessing waits until exactly n consumer pods are ready and
// not terminating, and the scraper saw each one's orders_processed_total
// rise between its last two scrapes, both taken after this call.
func waitConsumersProcessing(t *testing.T, e env, scr *scraper, n int, when string) {
	t.Helper()
	since := time.Now()
	testkit.Eventually(t, fmt.Sprintf("%d consumers, each one's orders_processed_total rising (%s)", n, when), stepTimeout, func() (bool, string) {
		pods, err := e.pods(context.Background(), "consumer")
		if err != nil {
			return false, err.Error()
		}
		var seen []string
		rising := 0
		for _, p := range pods {
			if !p.Ready || p.Deleting {
				seen = append(seen, p.String())
				continue
			}
			last := scr.lastSamples(p.UID, since, 2)
			switch {
			case len(last) < 2:
				seen = append(seen, p.Name+": scraping")
			case last[1].v > last[0].v:
				rising++
			default:
				seen = append(seen, fmt.Sprintf("%s at %.0f", p.Name, last[1].v))
			}
		}
		return rising == n && len(pods) == n, fmt.Sprintf("%d pods, %d rising; %s", len(pods), rising, describe(seen))
	}, testkit.Every(time.Second), testkit.Verbose())
}

// lastSamples returns up to n of the pod's last scrapes taken after since.
func (s *scraper) lastSamples(uid string, since time.Time, n int) []sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.processed[uid]
	var out []sample
	for i := len(h) - 1; i >= 0 && len(out) < n && h[i].at.After(since); i-- {
		out = append([]sample{h[i]}, out...)
	}
	return out
}

// recovery is how long after start every consumer was processing for
// good: the last scrape within (start, end] at which some ready consumer
// had not processed anything since its previous scrape (or was scraped for
// the first time, a new pod not yet seen processing), minus start. Zero
// when no consumer stalled at all.
func (s *scraper) recovery(start, end time.Time) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	var last time.Time
	for _, h := range s.processed {
		for i, cur := range h {
			if !cur.at.After(start) || cur.at.After(end) {
				continue
			}
			if (i == 0 || cur.v <= h[i-1].v) && cur.at.After(last) {
				last = cur.at
			}
		}
	}
	if last.IsZero() {
		return 0
	}
	return last.Sub(start)
}

// disruptionTable is the per-fault report.
func disruptionTable(title string, ds []*disruption) *testkit.Table {
	tb := &testkit.Table{
		Title:  title,
		Header: []string{"fault", "longest publish gap", "stream's new leader (servers' logs)", "every consumer processing after", "step took", "what happened"},
		Notes: []string{
			"longest publish gap: the longest pause between two orders the producers logged as acknowledged, from the pause the fault began in until every consumer processed again",
			"stream's new leader: from the fault to the first \"JetStream cluster new stream leader\" line of a NATS pod, and from that line to the next acknowledged publish (checked within " + resumeBound.String() + "; a planned exit's gap checked under " + plannedGapBound.String() + ")",
			"every consumer processing after: from the fault until the last scrape (every 1 s) at which a ready consumer pod had processed nothing since its previous scrape",
		},
	}
	for _, d := range ds {
		gap := d.longestGap.Round(time.Millisecond).String()
		if d.longestGap >= time.Second {
			gap = d.longestGap.Round(100 * time.Millisecond).String()
		}
		if !d.gapAt.IsZero() {
			gap += " from " + d.gapAt.Format("15:04:05.0")
		}
		tb.Add(d.name, gap, d.electionCell(), d.recovered.Round(100*time.Millisecond), d.end.Sub(d.start).Round(100*time.Millisecond), strings.TrimSpace(d.note))
	}
	return tb
}
