package audit

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
)

// Sent is a bad message a test published and the stream sequence the
// server acknowledged it with, which its dead letter must name.
type Sent struct {
	Body []byte
	Seq  uint64
}

// Expect is what a suite knows beyond NATS: what was published and sent,
// and the exceptions its faults allow.
type Expect struct {
	// Published are the order ids the producers logged as acknowledged.
	Published []string
	// GivenUp are the ids a producer logged as not published at shutdown:
	// its ack was lost, not necessarily the order, so a ledger key of one
	// is explained.
	GivenUp []string
	// UnloggedOK says a producer was SIGKILLed, so a stored order may lack
	// its log line: ledger keys of no logged id are then no failure.
	UnloggedOK bool
	// Bad are the bad messages the test sent: each must be dead-lettered
	// exactly once, and nothing else may be.
	Bad []Sent
	// ProcessedBy maps each order id to the consumer instances that logged
	// it as received (see ProcessedBy); nil when the suite does not read
	// the consumers' logs.
	ProcessedBy map[string][]string
}

// Verdict is an audit held against what a suite expected: the counts its
// report prints, and every promise the run broke.
type Verdict struct {
	Outcome
	GivenUpStored int // ledger keys of ids in Expect.GivenUp
	LoggedTwice   int // ids two consumers logged as received
	DeadOnce      int // bad messages dead-lettered exactly once
	// Broken says, one line each, which rules the run broke; empty when
	// it kept every promise.
	Broken []string
}

// Check holds the audit a against e by the one set of rules of every
// suite that runs the pipeline: something was published; no acknowledged
// order is lost; no valid one is dead-lettered; none has a second effect
// (ledger writes beyond one a key, or two consumers logging it); no ledger
// key is of an order nobody published, unless e explains it; the durable
// consumer exists and is drained; every bad message is dead-lettered
// exactly once with a reason, its original's sequence and its body, and
// no other message is.
func Check(a Audit, e Expect) Verdict {
	v := Verdict{Outcome: a.Against(e.Published)}
	broke := func(format string, args ...any) { v.Broken = append(v.Broken, fmt.Sprintf(format, args...)) }
	if v.Published == 0 {
		broke("nothing was published")
	}
	if v.Lost != 0 {
		broke("%d acknowledged orders lost, e.g. %v", v.Lost, v.LostIDs)
	}
	if v.Dead != 0 {
		broke("%d valid published orders dead-lettered, e.g. %v", v.Dead, v.DeadIDs)
	}
	if v.Twice != 0 {
		broke("the ledger took %d writes for %d keys: a second effect", a.LedgerWrites, len(a.Recorded))
	}
	for _, id := range slices.Sorted(maps.Keys(e.ProcessedBy)) {
		if by := e.ProcessedBy[id]; len(by) > 1 {
			v.LoggedTwice++
			broke("order %s logged as received by %v", id, by)
		}
	}
	for _, id := range e.GivenUp {
		if hasKey(a.Recorded, id) {
			v.GivenUpStored++
		}
	}
	if unexplained := v.Unknown - v.GivenUpStored; unexplained != 0 && !e.UnloggedOK {
		broke("%d ledger keys of orders no producer logged as acknowledged or given up, e.g. %v", unexplained, v.UnknownIDs)
	}
	if a.Durable == nil {
		broke("the durable consumer does not exist")
	}
	for _, name := range slices.Sorted(maps.Keys(a.Durables)) {
		if d := a.Durables[name]; d.NumPending != 0 || d.NumAckPending != 0 {
			broke("the durable consumer %s is not drained: %d pending, %d ack pending", name, d.NumPending, d.NumAckPending)
		}
	}
	var deadBroken []string
	v.DeadOnce, deadBroken = checkDeadLetters(a.DeadLetters, e.Bad)
	v.Broken = append(v.Broken, deadBroken...)
	return v
}

// checkDeadLetters returns how many bad messages were dead-lettered exactly
// once, with their body (or, when truncated, a prefix of it), and what is
// wrong with the dead letters: one without a reason, a bad message
// dead-lettered never or twice, a dead letter of no bad message.
func checkDeadLetters(dead []DeadLetter, bad []Sent) (once int, broken []string) {
	bySeq := map[uint64][]DeadLetter{}
	for _, d := range dead {
		bySeq[d.OriginalSeq] = append(bySeq[d.OriginalSeq], d)
		if d.Reason == "" {
			broken = append(broken, fmt.Sprintf("dead letter of #%d (%.40q) has no reason", d.OriginalSeq, d.Data))
		}
	}
	for _, b := range bad {
		ds := bySeq[b.Seq]
		delete(bySeq, b.Seq)
		if len(ds) != 1 {
			broken = append(broken, fmt.Sprintf("bad message #%d %.40q (%d bytes) dead-lettered %d times, want once", b.Seq, b.Body, len(b.Body), len(ds)))
			continue
		}
		if d := ds[0]; !bytes.HasPrefix(b.Body, d.Data) || (!d.Truncated && len(d.Data) != len(b.Body)) {
			broken = append(broken, fmt.Sprintf("dead letter of #%d carries %d bytes (truncated %v) that are not the original's %d", b.Seq, len(d.Data), d.Truncated, len(b.Body)))
			continue
		}
		once++
	}
	stray := 0
	for _, ds := range bySeq {
		stray += len(ds)
	}
	if stray > 0 {
		broken = append(broken, fmt.Sprintf("%d dead letters of no bad message", stray))
	}
	return once, broken
}
