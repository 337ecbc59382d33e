package deadletter

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/distsys-go/orders/internal/natstest"
	"github.com/distsys-go/orders/platform/events"
)

const deadSubject = "orders.deadletter"

// letterHeader is what the consumer writes on a dead letter of an order
// stored at seq.
func letterHeader(reason, orderID string, seq uint64, truncated bool) nats.Header {
	return nats.Header{
		events.HeaderDeadLetterReason:    {reason},
		events.HeaderDeadLetterError:     {"boom"},
		events.HeaderOriginalSubject:     {"orders.created"},
		events.HeaderOriginalStream:      {"ORDERS"},
		events.HeaderOriginalSequence:    {strconv.FormatUint(seq, 10)},
		events.HeaderOriginalID:          {orderID},
		events.HeaderOriginalSize:        {"42"},
		events.HeaderDeliveries:          {"20"},
		events.HeaderDeadLetterTruncated: {strconv.FormatBool(truncated)},
	}
}

func TestJudge(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	readable := Letter{Reason: events.ReasonMaxDeliveries, Subject: "orders.created", OrderID: "o-1", Time: now.Add(-time.Hour)}
	with := func(f func(*Letter)) Letter { l := readable; f(&l); return l }
	for _, tc := range []struct {
		name string
		l    Letter
		p    Policy
		want error
	}{
		{"max-deliveries within the ledger's memory", readable, Policy{LedgerTTL: 24 * time.Hour}, nil},
		{"a ledger that forgets nothing", with(func(l *Letter) { l.Time = now.Add(-1000 * time.Hour) }), Policy{}, nil},
		{"unreadable", with(func(l *Letter) { l.Unreadable = "no headers" }), Policy{}, ErrUnreadable},
		{"malformed bytes fail again", with(func(l *Letter) { l.Reason = events.ReasonMalformed }), Policy{}, ErrWouldFailAgain},
		{"invalid bytes fail again", with(func(l *Letter) { l.Reason = events.ReasonInvalid }), Policy{}, ErrWouldFailAgain},
		{"oversized bytes fail again", with(func(l *Letter) { l.Reason = events.ReasonOversized }), Policy{}, ErrWouldFailAgain},
		{"only a prefix kept", with(func(l *Letter) { l.Truncated = true }), Policy{}, ErrTruncated},
		{"older than the ledger remembers", readable, Policy{LedgerTTL: 30 * time.Minute}, ErrTooOld},
		{"older, allowed", readable, Policy{LedgerTTL: 30 * time.Minute, AllowOld: true}, nil},
		{"replayed as often as allowed", with(func(l *Letter) { l.Replays = 3 }), Policy{MaxReplays: 3}, ErrReplayedTooOften},
		{"replayed less often", with(func(l *Letter) { l.Replays = 2 }), Policy{MaxReplays: 3}, nil},
		{"no replay limit", with(func(l *Letter) { l.Replays = 50 }), Policy{}, nil},
		{"a version mismatch fails again", with(func(l *Letter) { l.Reason = events.ReasonVersionMismatch }), Policy{}, ErrWouldFailAgain},
		{"a version unknown then, known now", with(func(l *Letter) { l.Reason, l.Type = events.ReasonUnknownVersion, events.V2.Type }), Policy{}, nil},
		{"a version still unknown", with(func(l *Letter) { l.Reason, l.Type = events.ReasonUnknownVersion, events.TypePrefix+"v9" }), Policy{}, ErrUnknownVersion},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Judge(tc.l, now, tc.p)
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Errorf("Judge = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestEachAndGet reads dead letters from a work-queue stream on a real
// server while the orders beside them stay untouched, and leaves no
// consumer behind.
func TestEachAndGet(t *testing.T) {
	ctx := context.Background()
	nc := natstest.Run(t).Connect(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	s, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "ORDERS", Subjects: []string{"orders.>"}, Retention: jetstream.WorkQueuePolicy})
	if err != nil {
		t.Fatal(err)
	}
	publish := func(subject string, h nats.Header, body string) uint64 {
		t.Helper()
		ack, err := js.PublishMsg(ctx, &nats.Msg{Subject: subject, Header: h, Data: []byte(body)})
		if err != nil {
			t.Fatal(err)
		}
		return ack.Sequence
	}
	o1 := publish("orders.created", nil, `{"id":"o-1"}`)
	d1 := publish(deadSubject, letterHeader(events.ReasonMaxDeliveries, "o-1", o1, false), `{"id":"o-1"}`)
	publish("orders.created", nil, `{"id":"o-2"}`)
	d2 := publish(deadSubject, letterHeader(events.ReasonMalformed, "o-3", 7, true), `{"id":`)
	d3 := publish(deadSubject, nil, "by hand")

	var got []Letter
	if err := Each(ctx, s, deadSubject, 0, func(l Letter) error { got = append(got, l); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Seq != d1 || got[1].Seq != d2 || got[2].Seq != d3 {
		t.Fatalf("Each read %d dead letters %v, want sequences %d, %d, %d", len(got), seqs(got), d1, d2, d3)
	}
	first := got[0]
	if first.Unreadable != "" || first.Reason != events.ReasonMaxDeliveries || first.OrderID != "o-1" || first.OrigSeq != o1 ||
		first.Subject != "orders.created" || first.Deliveries != 20 || first.Size != 42 || first.Truncated || string(first.Body) != `{"id":"o-1"}` {
		t.Errorf("first dead letter read as %+v", first)
	}
	if !got[1].Truncated || got[1].Reason != events.ReasonMalformed {
		t.Errorf("second dead letter read as %+v", got[1])
	}
	if got[2].Unreadable == "" {
		t.Errorf("a message without headers read as a dead letter: %+v", got[2])
	}

	var from []Letter
	if err := Each(ctx, s, deadSubject, d1+1, func(l Letter) error { from = append(from, l); return ErrStop }); err != nil || len(from) != 1 || from[0].Seq != d2 {
		t.Errorf("Each from %d stopping at the first: %v, %v, want sequence %d", d1+1, seqs(from), err, d2)
	}

	if l, err := Get(ctx, s, deadSubject, d2); err != nil || l.OrderID != "o-3" {
		t.Errorf("Get(%d) = %+v, %v", d2, l, err)
	}
	if _, err := Get(ctx, s, deadSubject, o1); !errors.Is(err, ErrNotDeadLetter) {
		t.Errorf("Get of an order: %v, want ErrNotDeadLetter", err)
	}
	if _, err := Get(ctx, s, deadSubject, 999); !errors.Is(err, jetstream.ErrMsgNotFound) {
		t.Errorf("Get of no message: %v, want ErrMsgNotFound", err)
	}

	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Consumers != 0 || info.State.Msgs != 5 {
		t.Errorf("after reading: %d consumers and %d messages, want 0 and 5", info.State.Consumers, info.State.Msgs)
	}
}

func seqs(ls []Letter) []uint64 {
	out := make([]uint64, len(ls))
	for i, l := range ls {
		out[i] = l.Seq
	}
	return out
}

// TestParse: what makes a dead letter unreadable, never replayed; a bad
// message published without an id is still read for its reason.
func TestParse(t *testing.T) {
	without := func(reason string, keys ...string) nats.Header {
		h := letterHeader(reason, "o-1", 7, false)
		for _, k := range keys {
			h.Del(k)
		}
		return h
	}
	for _, tc := range []struct {
		name       string
		header     nats.Header
		unreadable bool
	}{
		{"as the consumers write it", without(events.ReasonMaxDeliveries), false},
		{"no headers: typed by hand", nil, true},
		{"an unknown reason", without("exploded"), true},
		{"no original subject", without(events.ReasonMaxDeliveries, events.HeaderOriginalSubject), true},
		{"a valid order without its id", without(events.ReasonMaxDeliveries, events.HeaderOriginalID), true},
		{"a malformed message published without an id", without(events.ReasonMalformed, events.HeaderOriginalID), false},
	} {
		l := Parse(&jetstream.RawStreamMsg{Subject: deadSubject, Sequence: 9, Header: tc.header, Data: []byte("x")})
		if (l.Unreadable != "") != tc.unreadable {
			t.Errorf("%s: unreadable %q, want %t", tc.name, l.Unreadable, tc.unreadable)
		}
	}
}

// A replayed order goes back as it came, with its replay count; one
// dead-lettered as of a version unknown then goes to its version's
// subject, known now, with CloudEvents headers naming the tool.
func TestReplayMsg(t *testing.T) {
	op := &Operator{Orders: "orders.created"}
	for _, tc := range []struct {
		name        string
		l           Letter
		wantSubject string
		wantType    string
	}{
		{"an order from before versions", Letter{Reason: events.ReasonMaxDeliveries, Subject: "orders.created", OrderID: "o-1", Replays: 1},
			"orders.created", ""},
		{"a v2 order", Letter{Reason: events.ReasonMaxDeliveries, Subject: "orders.created.v2", Type: events.V2.Type, OrderID: "o-2"},
			"orders.created.v2", events.V2.Type},
		{"a v2 order an older consumer did not know", Letter{Reason: events.ReasonUnknownVersion, Subject: "orders.created", Type: events.V2.Type, OrderID: "o-3"},
			"orders.created.v2", events.V2.Type},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := op.replayMsg(tc.l)
			h := m.Header
			if m.Subject != tc.wantSubject || first(h[events.HeaderType]) != tc.wantType || h.Get(events.HeaderReplays) != strconv.Itoa(tc.l.Replays+1) {
				t.Errorf("subject %s, headers %v", m.Subject, h)
			}
			if tc.wantType != "" && (first(h[events.HeaderID]) != tc.l.OrderID || first(h[events.HeaderSource]) != ReplaySource) {
				t.Errorf("CloudEvents headers %v", h)
			}
		})
	}
}

func first(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}
