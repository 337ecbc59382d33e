//go:build chaos

package chaos

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/distsys-go/orders/internal/testkit"
	"github.com/distsys-go/orders/test/audit"
)

// row is one fault's line in the report, filled in as the fault runs, so a
// fault that fails half-way still shows how far it got.
type row struct {
	fault     string
	ran       bool // selected by -run
	failed    bool
	audited   bool
	published int
	recorded  int
	lost      int
	twice     int
	unlogged  int // ledger keys of no logged publish: the producer died between ack and log
	bad       int // bad messages sent
	deadOnce  int // of those, dead-lettered exactly once
	healthy   bool
	gap       time.Duration
	recovered time.Duration // until caught up, 0 when it did not
	back      time.Duration // until every consumer received an order again
	failovers []failover    // the leaders the fault killed, in order
	why       []string      // the messages that failed it
}

// healed records how the pipeline recovered from a fault that ended at heal.
func (r *rig) healed(row *row, heal time.Time) {
	r.t.Helper()
	row.back = r.backAtWork(heal)
	row.recovered = r.caughtUp(heal)
}

// report collects the rows of every fault.
type report struct {
	mu   sync.Mutex
	rows []*row
}

func (rep *report) add(fault string) *row {
	rep.mu.Lock()
	defer rep.mu.Unlock()
	r := &row{fault: fault}
	rep.rows = append(rep.rows, r)
	return r
}

func (rep *report) table() string {
	rep.mu.Lock()
	defer rep.mu.Unlock()
	tb := testkit.Table{
		Title:  "chaos audit (from NATS and the producers' logs)",
		Header: []string{"fault", "result", "published", "recorded", "lost", "twice", "unlogged", "bad→dead once", "healthy", "longest publish gap", "consumers back in", "caught up in"},
		Notes: []string{
			"published: ids the producers logged as acknowledged; recorded: of those, keys in the ledger",
			"lost: published, neither recorded nor dead-lettered; twice: ledger writes beyond one a key, plus ids two consumers logged",
			"unlogged: ledger keys no producer logged (a producer SIGKILLed between the ack and its log line)",
			"bad→dead once: bad messages dead-lettered exactly once / sent; healthy: every server's /healthz, every replica current",
			"consumers back in: from the fault's end until every running consumer received an order again",
			"caught up in: from the fault's end until every order acknowledged before it, and one after, was in the ledger",
		},
	}
	for _, r := range rep.rows {
		if !r.ran {
			continue // not selected by -run
		}
		result := "ok"
		if r.failed {
			result = "FAILED"
		}
		if !r.audited {
			tb.Add(r.fault, result, "-", "-", "-", "-", "-", "-", "-", "-", orDash(r.back), orDash(r.recovered))
			continue
		}
		dead := "-"
		if r.bad > 0 {
			dead = fmt.Sprintf("%d/%d", r.deadOnce, r.bad)
		}
		tb.Add(r.fault, result, r.published, r.recorded, r.lost, r.twice, r.unlogged, dead, r.healthy,
			r.gap.Round(time.Millisecond), orDash(r.back), orDash(r.recovered))
	}
	return tb.String()
}

// failures ends the report with what failed each failed fault, "" when
// none failed.
func (rep *report) failures() string {
	rep.mu.Lock()
	defer rep.mu.Unlock()
	var b strings.Builder
	for _, r := range rep.rows {
		if !r.failed {
			continue
		}
		if b.Len() == 0 {
			b.WriteString("\n==== chaos: what failed ====\n")
		}
		fmt.Fprintf(&b, "  %s:\n", r.fault)
		for _, why := range r.why {
			fmt.Fprintf(&b, "    %s\n", strings.ReplaceAll(why, "\n", "\n    "))
		}
	}
	return b.String()
}

func orDash(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return d.Round(time.Millisecond).String()
}

// audit drains the pipeline, checks every server's health and holds what
// NATS holds against the producers' and consumers' logs by the audit's
// rules (audit.Check), filling row and failing t for every broken promise.
// bad are the bad messages the fault sent; unloggedOK says the fault
// SIGKILLed a producer, so a stored order may lack its log line.
func (r *rig) audit(row *row, bad []audit.Sent, unloggedOK bool) {
	t := r.t
	t.Helper()
	r.drain()
	row.healthy = r.healthy() == nil
	v := audit.Check(audit.ReadAudit(t, r.js, r.names), audit.Expect{
		Published:   audit.PublishedIDs(r.producers...),
		UnloggedOK:  unloggedOK,
		Bad:         bad,
		ProcessedBy: audit.ProcessedBy(r.consumers...),
	})
	row.audited = true
	row.published, row.recorded, row.lost = v.Published, v.Recorded, v.Lost
	row.twice, row.unlogged = v.Twice+v.LoggedTwice, v.Unknown
	row.gap = longestGap(r.producers)
	row.bad, row.deadOnce = len(bad), v.DeadOnce
	for _, b := range v.Broken {
		t.Error(b)
	}
}
