package audit

import (
	"slices"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
)

// cleanRun is an audit of a run that kept every promise: three orders
// published and recorded once each, one bad message dead-lettered once,
// the durable drained.
func cleanRun() (Audit, Expect) {
	durable := &jetstream.ConsumerInfo{}
	a := Audit{
		Recorded:     map[string]string{"order-1": "c1", "order-2": "c2", "order-3": "c1"},
		LedgerWrites: 3,
		DeadLetters:  []DeadLetter{{Data: []byte("not json"), Reason: "malformed", OriginalSeq: 7}},
		Durable:      durable,
		Durables:     map[string]*jetstream.ConsumerInfo{"fulfilment-workers": durable, "fulfilment-workers-v2": {}},
	}
	e := Expect{
		Published:   []string{"order-1", "order-2", "order-3"},
		Bad:         []Sent{{Body: []byte("not json"), Seq: 7}},
		ProcessedBy: map[string][]string{"order-1": {"c1"}, "order-2": {"c2"}, "order-3": {"c1"}},
	}
	return a, e
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name  string
		spoil func(*Audit, *Expect)
		// broken are substrings of the broken rules, one each, in order;
		// none for a run that kept every promise.
		broken []string
	}{
		{"clean run", func(*Audit, *Expect) {}, nil},
		{"a published order missing", func(a *Audit, _ *Expect) {
			delete(a.Recorded, "order-2")
			a.LedgerWrites = 2
		}, []string{"1 acknowledged orders lost, e.g. [order-2]"}},
		{"a valid published order dead-lettered", func(a *Audit, _ *Expect) {
			delete(a.Recorded, "order-3")
			a.LedgerWrites = 2
			a.DeadLetters = append(a.DeadLetters, DeadLetter{Data: []byte(`{"id":"order-3"}`), Reason: "max_deliveries", OriginalSeq: 3})
		}, []string{"1 valid published orders dead-lettered, e.g. [order-3]", "1 dead letters of no bad message"}},
		{"nothing published", func(a *Audit, e *Expect) {
			*a = Audit{Recorded: map[string]string{}, Durable: &jetstream.ConsumerInfo{}}
			e.Published, e.Bad, e.ProcessedBy = nil, nil, nil
		}, []string{"nothing was published"}},
		{"a second ledger write", func(a *Audit, _ *Expect) { a.LedgerWrites = 4 }, []string{"4 writes for 3 keys"}},
		{"two consumers logged an order", func(_ *Audit, e *Expect) { e.ProcessedBy["order-1"] = []string{"c1", "c2"} },
			[]string{"order order-1 logged as received by [c1 c2]"}},
		{"a ledger key nobody published", func(a *Audit, _ *Expect) {
			a.Recorded["order-x"] = "c1"
			a.LedgerWrites = 4
		}, []string{"1 ledger keys of orders no producer logged"}},
		{"a ledger key of an order given up is explained", func(a *Audit, e *Expect) {
			a.Recorded["order-x"] = "c1"
			a.LedgerWrites = 4
			e.GivenUp = []string{"order-x"}
		}, nil},
		{"a ledger key without its log line after a SIGKILL", func(a *Audit, e *Expect) {
			a.Recorded["order-x"] = "c1"
			a.LedgerWrites = 4
			e.UnloggedOK = true
		}, nil},
		{"the durable gone", func(a *Audit, _ *Expect) { a.Durable = nil }, []string{"durable consumer does not exist"}},
		{"the durable not drained", func(a *Audit, _ *Expect) { a.Durable.NumAckPending = 2 }, []string{"fulfilment-workers is not drained: 0 pending, 2 ack pending"}},
		{"the v2 durable not drained", func(a *Audit, _ *Expect) { a.Durables["fulfilment-workers-v2"].NumPending = 3 },
			[]string{"fulfilment-workers-v2 is not drained: 3 pending, 0 ack pending"}},
		{"a bad message never dead-lettered", func(a *Audit, _ *Expect) { a.DeadLetters = nil }, []string{"#7 \"not json\" (8 bytes) dead-lettered 0 times"}},
		{"a bad message dead-lettered twice", func(a *Audit, _ *Expect) { a.DeadLetters = append(a.DeadLetters, a.DeadLetters[0]) },
			[]string{"dead-lettered 2 times"}},
		{"a dead letter without a reason", func(a *Audit, _ *Expect) { a.DeadLetters[0].Reason = "" }, []string{"has no reason"}},
		{"a dead letter with another body", func(a *Audit, _ *Expect) { a.DeadLetters[0].Data = []byte("not jsox") },
			[]string{"carries 8 bytes (truncated false)"}},
		{"a truncated dead letter carries the body's prefix", func(a *Audit, _ *Expect) {
			a.DeadLetters[0].Data, a.DeadLetters[0].Truncated = []byte("not"), true
		}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, e := cleanRun()
			tc.spoil(&a, &e)
			v := Check(a, e)
			ok := len(v.Broken) == len(tc.broken)
			for i := 0; ok && i < len(tc.broken); i++ {
				ok = strings.Contains(v.Broken[i], tc.broken[i])
			}
			if !ok {
				t.Fatalf("broken rules:\n  %s\nwant, one each:\n  %s", strings.Join(v.Broken, "\n  "), strings.Join(tc.broken, "\n  "))
			}
		})
	}
}

// The counts a report prints come with the verdict.
func TestCheckCounts(t *testing.T) {
	a, e := cleanRun()
	a.Recorded["order-x"] = "c2"
	a.LedgerWrites = 4
	e.GivenUp = []string{"order-x"}
	e.Published = append(e.Published, "order-1") // logged twice: one order
	v := Check(a, e)
	got := []int{v.Published, v.Recorded, v.Lost, v.Dead, v.Twice, v.Unknown, v.GivenUpStored, v.LoggedTwice, v.DeadOnce}
	if want := []int{3, 3, 0, 0, 0, 1, 1, 0, 1}; !slices.Equal(got, want) {
		t.Errorf("published, recorded, lost, dead, twice, unknown, given up stored, logged twice, dead once = %v, want %v", got, want)
	}
}
