//go:build chaos

package chaos

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
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

func orDash(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return d.Round(time.Millisecond).String()
}

// audit drains the pipeline, checks every server's health and compares the
// producers' logs with what NATS holds, filling row and failing t for every
// broken promise. bad are the bad messages the fault sent; unloggedOK says
// the fault SIGKILLed a producer, so a stored order may lack its log line.
func (r *rig) audit(row *row, bad []sent, unloggedOK bool) {
	t := r.t
	t.Helper()
	r.drain()
	row.healthy = r.healthy() == nil
	a := audit.ReadAudit(t, r.js, r.names)
	o := a.Against(audit.PublishedIDs(r.producers...))
	loggedTwice := 0
	for id, by := range audit.ProcessedBy(r.consumers...) {
		if len(by) > 1 {
			loggedTwice++
			t.Errorf("order %s logged as received by %v", id, by)
		}
	}
	row.audited = true
	row.published, row.recorded, row.lost = o.Published, o.Recorded, o.Lost
	row.twice, row.unlogged = o.Twice+loggedTwice, o.Unknown
	row.gap = longestGap(r.producers)
	row.bad = len(bad)

	if o.Published == 0 {
		t.Error("nothing was published")
	}
	if o.Lost != 0 {
		t.Errorf("%d acknowledged orders lost, e.g. %v", o.Lost, o.LostIDs)
	}
	if o.Dead != 0 {
		t.Errorf("%d good orders dead-lettered", o.Dead)
	}
	if o.Twice != 0 {
		t.Errorf("the ledger took %d writes more than it has keys: a second effect", o.Twice)
	}
	if o.Unknown != 0 && !unloggedOK {
		t.Errorf("%d ledger keys of no acknowledged order, e.g. %v", o.Unknown, o.UnknownIDs)
	}
	row.deadOnce = checkDeadLetters(t, a.DeadLetters, bad)
}

// sent is a bad message the test published, and the stream sequence the
// server acknowledged it with.
type sent struct {
	body []byte
	seq  uint64
}

// checkDeadLetters fails t unless every bad message is dead-lettered exactly
// once, with a reason, naming its original's sequence and carrying its body
// (or, when truncated, a prefix of it), and nothing else is; it returns how
// many were.
func checkDeadLetters(t *testing.T, dead []audit.DeadLetter, bad []sent) int {
	t.Helper()
	bySeq := map[uint64][]audit.DeadLetter{}
	for _, d := range dead {
		bySeq[d.OriginalSeq] = append(bySeq[d.OriginalSeq], d)
		if d.Reason == "" {
			t.Errorf("dead letter of #%d (%.40q) has no reason", d.OriginalSeq, d.Data)
		}
	}
	once := 0
	for _, b := range bad {
		ds := bySeq[b.seq]
		delete(bySeq, b.seq)
		if len(ds) != 1 {
			t.Errorf("bad message #%d %.40q (%d bytes) dead-lettered %d times, want once", b.seq, b.body, len(b.body), len(ds))
			continue
		}
		if d := ds[0]; !bytes.HasPrefix(b.body, d.Data) || (!d.Truncated && len(d.Data) != len(b.body)) {
			t.Errorf("dead letter of #%d carries %d bytes (truncated %v) that are not the original's %d", b.seq, len(d.Data), d.Truncated, len(b.body))
			continue
		}
		once++
	}
	if len(bySeq) > 0 {
		t.Errorf("%d dead letters of no bad message", len(bySeq))
	}
	return once
}
