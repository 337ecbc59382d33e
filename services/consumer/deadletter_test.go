package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/distsys-go/orders/platform/events"
	"github.com/distsys-go/orders/platform/ledger"
	"github.com/distsys-go/orders/platform/messaging"
	"github.com/distsys-go/orders/platform/messaging/jetstream"
	"github.com/distsys-go/orders/platform/ops"
)

var (
	_ messaging.Settler   = (*recordingSettler)(nil)
	_ messaging.Publisher = (*capturePublisher)(nil)
	_ ledger.Ledger       = failingLedger{}
)

// recordingSettler remembers how its message was settled, as "ack",
// "nak <delay>" or "term <reason>".
type recordingSettler struct{ how string }

func (s *recordingSettler) Ack() error                { s.how = "ack"; return nil }
func (s *recordingSettler) Nak(d time.Duration) error { s.how = "nak " + d.String(); return nil }
func (s *recordingSettler) Term(r string) error       { s.how = "term " + r; return nil }
func (s *recordingSettler) InProgress() error         { return nil }

// capturePublisher keeps what it is given, or fails with err.
type capturePublisher struct {
	err error
	got []*messaging.Message
}

func (p *capturePublisher) Publish(_ context.Context, m *messaging.Message) error {
	if p.err != nil {
		return p.err
	}
	p.got = append(p.got, m)
	return nil
}

// failingLedger fails every order, as a store that stays down would.
type failingLedger struct{ ledger.Ledger }

func (failingLedger) Record(context.Context, ledger.Record) error {
	return errors.New("bucket unavailable")
}

// padTo pads a JSON document with trailing spaces (still valid JSON) to n bytes.
func padTo(doc []byte, n int) []byte {
	return append(doc, bytes.Repeat([]byte(" "), n-len(doc))...)
}

const (
	unitMaxPayload = 1024
	unitMaxDeliver = 3
	nearServerMax  = 1<<20 - 64 // 1,048,512 bytes: the default max_payload less 64
)

// TestHandleSettles covers each way a delivery ends, on one delivery
// handled synchronously: how it is settled, what is dead-lettered and
// what is counted.
func TestHandleSettles(t *testing.T) {
	transient := errors.New("nats: timeout")
	rejected := fmt.Errorf("publish: %w: %w", messaging.ErrRejected, errors.New("nats: maximum payload exceeded"))
	tests := []struct {
		name       string
		data       []byte
		deliveries uint64
		failing    bool  // the ledger fails every order
		pubErr     error // the dead-letter publish fails with it
		want       string
		wantDead   string // reason of the dead letter published, if any
		wantLost   string // reason counted as a dead-letter failure, if any
		wantFailed float64
	}{
		{"valid order", validOrder("order-1"), 1, false, nil, "ack", "", "", 0},
		{"exactly MAX_PAYLOAD_BYTES is not oversized", padTo(validOrder("order-1"), unitMaxPayload), 1, false, nil, "ack", "", "", 0},
		{"one byte over is oversized", padTo(validOrder("order-1"), unitMaxPayload+1), 1, false, nil, "term oversized", events.ReasonOversized, "", 0},
		{"near the server's max_payload", padTo(validOrder("order-1"), nearServerMax), 1, false, nil, "term oversized", events.ReasonOversized, "", 0},
		{"exactly MAX_PAYLOAD_BYTES, malformed", padTo([]byte(`{"id":`), unitMaxPayload), 1, false, nil, "term malformed", events.ReasonMalformed, "", 0},
		{"failure on the first delivery backs off 1s", validOrder("order-1"), 1, true, nil, "nak 1s", "", "", 1},
		{"failure on the second backs off 2s", validOrder("order-1"), 2, true, nil, "nak 2s", "", "", 1},
		{"failure on the last delivery dead-letters", validOrder("order-1"), unitMaxDeliver, true, nil, "term max-deliveries", events.ReasonMaxDeliveries, "", 0},
		{"rejected dead letter is handed back for the server to keep", []byte(`{"id":`), 1, false, rejected, "nak 30s", "", events.ReasonMalformed, 0},
		{"failed dead letter is retried", []byte(`{"id":`), 1, false, transient, "nak 1s", "", "", 1},
		{"failed dead letter on the last delivery is handed back", []byte(`{"id":`), unitMaxDeliver, false, transient, "nak 30s", "", events.ReasonMalformed, 0},
		{"failed max-deliveries dead letter is handed back", validOrder("order-1"), unitMaxDeliver, true, transient, "nak 30s", "", events.ReasonMaxDeliveries, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var led ledger.Ledger = ledger.NewMemory()
			if tc.failing {
				led = failingLedger{}
			}
			pub := &capturePublisher{err: tc.pubErr}
			f := unitFulfiller(led, pub)
			st := &recordingSettler{}
			msg := messaging.NewDelivery(testSubject, "m-1", nil, tc.data, tc.deliveries, st)
			msg.Stream, msg.Sequence = "ORDERS", 42

			f.Handler(events.V1)(context.Background(), msg)

			if st.how != tc.want {
				t.Errorf("settled %q, want %q", st.how, tc.want)
			}
			switch {
			case tc.wantDead == "" && len(pub.got) > 0:
				t.Errorf("dead-lettered %v, want none", pub.got[0].Header)
			case tc.wantDead != "" && len(pub.got) != 1:
				t.Errorf("%d dead letters, want 1", len(pub.got))
			case tc.wantDead != "":
				checkReference(t, pub.got[0], tc.wantDead, tc.data, tc.deliveries)
			}
			for _, reason := range []string{events.ReasonOversized, events.ReasonMalformed, events.ReasonInvalid, events.ReasonMaxDeliveries} {
				want := 0.0
				if reason == tc.wantLost {
					want = 1
				}
				if got := testutil.ToFloat64(f.metrics.deadLetterFailures.WithLabelValues(reason)); got != want {
					t.Errorf("dead-letter failures{%s} = %v, want %v", reason, got, want)
				}
			}
			if got := testutil.ToFloat64(f.metrics.failed); got != tc.wantFailed {
				t.Errorf("failed = %v, want %v", got, tc.wantFailed)
			}
		})
	}
}

func unitFulfiller(led ledger.Ledger, pub messaging.Publisher) *fulfiller {
	return &fulfiller{
		ledger: led, deadLetters: pub, deadLetterSub: testDLQ,
		maxPayload: unitMaxPayload, maxDeliver: unitMaxDeliver, instance: "replica-a", full: ops.NewStreak("recording orders", nil),
		metrics: newMetrics(prometheus.NewRegistry()), log: slog.New(slog.DiscardHandler), now: time.Now,
	}
}

// checkReference checks that dl refers to the delivery of data at ORDERS
// #42 and carries at most events.DeadLetterMaxBody bytes of it.
func checkReference(t *testing.T, dl *messaging.Message, reason string, data []byte, deliveries uint64) {
	t.Helper()
	truncated := len(data) > events.DeadLetterMaxBody
	want := map[string]string{
		events.HeaderDeadLetterReason:    reason,
		events.HeaderOriginalSubject:     testSubject,
		events.HeaderOriginalStream:      "ORDERS",
		events.HeaderOriginalSequence:    "42",
		events.HeaderOriginalID:          "m-1",
		events.HeaderOriginalSize:        strconv.Itoa(len(data)),
		events.HeaderDeliveries:          strconv.FormatUint(deliveries, 10),
		events.HeaderDeadLetterTruncated: strconv.FormatBool(truncated),
	}
	for k, v := range want {
		if dl.Header[k] != v {
			t.Errorf("header %s = %q, want %q", k, dl.Header[k], v)
		}
	}
	if dl.Header[events.HeaderDeadLetterError] == "" {
		t.Error("no error header")
	}
	if dl.Subject != testDLQ || dl.ID != "dead-ORDERS-42" {
		t.Errorf("dead letter on %q with id %q, want %q and dead-ORDERS-42", dl.Subject, dl.ID, testDLQ)
	}
	if !bytes.HasPrefix(data, dl.Data) || len(dl.Data) != min(len(data), events.DeadLetterMaxBody) {
		t.Errorf("body is %d bytes, not the first %d of the original", len(dl.Data), min(len(data), events.DeadLetterMaxBody))
	}
}

// TestDeadLetterAlwaysFits: whatever the original carries, its dead letter
// stays under 10 KiB with header values that cannot break the header block.
func TestDeadLetterAlwaysFits(t *testing.T) {
	huge := strings.Repeat("é\r\n", 1<<18)
	tests := []struct {
		name string
		msg  *messaging.Message
		err  error
	}{
		{"small", messaging.NewMessage(testSubject, "m-1", validOrder("order-1")), errors.New("bad")},
		{"near the server's max_payload", messaging.NewMessage(testSubject, "m-1", make([]byte, nearServerMax)), errors.New("bad")},
		{"huge id, subject and error", messaging.NewMessage(huge, huge, []byte(huge)), errors.New(huge)},
		{"invalid UTF-8", messaging.NewMessage("a\xffb", "\xff\xfe", nil), errors.New("\xff")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.msg.Stream, tc.msg.Sequence, tc.msg.Deliveries = strings.Repeat("S", 300), 1<<63, 7
			dl := deadLetterFor(testDLQ, tc.msg, events.ReasonOversized, tc.err)
			size := len(dl.Data) + len(dl.ID)
			for k, v := range dl.Header {
				size += len(k) + len(v) + 4 // "k: v\r\n"
				if strings.ContainsAny(v, "\r\n") || !utf8.ValidString(v) {
					t.Errorf("header %s = %.40q: has CR, LF or invalid UTF-8", k, v)
				}
			}
			if size >= 10<<10 {
				t.Errorf("dead letter of %d bytes, want under 10 KiB", size)
			}
		})
	}
}

// TestExhaustedMessagesAreDeadLettered: a max-deliveries advisory for a
// message the consumer never settled becomes a dead letter with the same id
// the consumer would use, whether or not the original can still be read.
func TestExhaustedMessagesAreDeadLettered(t *testing.T) {
	stored := messaging.NewMessage(testSubject, "m-1", validOrder("order-1"))
	stored.Stream, stored.Sequence, stored.Deliveries = "ORDERS", 42, unitMaxDeliver
	tests := []struct {
		name     string
		original *messaging.Message
		want     map[string]string
	}{
		{"original still stored", stored, map[string]string{
			events.HeaderOriginalID: "m-1", events.HeaderOriginalSubject: testSubject,
			events.HeaderOriginalSize: strconv.Itoa(len(stored.Data)), events.HeaderDeadLetterTruncated: "false",
		}},
		{"original gone", nil, map[string]string{
			events.HeaderOriginalID: "", events.HeaderOriginalSize: "", events.HeaderDeadLetterTruncated: "true",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pub := &capturePublisher{}
			f := unitFulfiller(ledger.NewMemory(), pub)
			f.deadLetterExhausted(context.Background(), jetstream.MaxDeliveries{
				Stream: "ORDERS", Consumer: "fulfilment-workers", Sequence: 42, Deliveries: unitMaxDeliver,
				Original: tc.original, OriginalErr: errors.New("message not found"),
			})
			if len(pub.got) != 1 {
				t.Fatalf("%d dead letters, want 1", len(pub.got))
			}
			dl := pub.got[0]
			tc.want[events.HeaderDeadLetterReason] = events.ReasonMaxDeliveries
			tc.want[events.HeaderOriginalStream] = "ORDERS"
			tc.want[events.HeaderOriginalSequence] = "42"
			tc.want[events.HeaderDeliveries] = strconv.Itoa(unitMaxDeliver)
			for k, v := range tc.want {
				if dl.Header[k] != v {
					t.Errorf("header %s = %q, want %q", k, dl.Header[k], v)
				}
			}
			if dl.ID != "dead-ORDERS-42" {
				t.Errorf("id %q, want dead-ORDERS-42", dl.ID)
			}
			if got := testutil.ToFloat64(f.metrics.deadLettered.WithLabelValues(events.ReasonMaxDeliveries)); got != 1 {
				t.Errorf("dead-lettered{max-deliveries} = %v, want 1", got)
			}
		})
	}
}

// TestReplayCountCarriedOn: a replayed order that fails again hands its
// replay count to its dead letter, so the tool's replay limit holds; a
// count that is not a small number is not copied.
func TestReplayCountCarriedOn(t *testing.T) {
	for _, tc := range []struct{ header, want string }{
		{"", ""}, {"1", "1"}, {"7", "7"}, {"0", ""}, {"-1", ""}, {"x", ""}, {"99999999", ""},
	} {
		msg := messaging.NewMessage(testSubject, "m-1", validOrder("order-1"))
		if tc.header != "" {
			msg.Header = map[string]string{events.HeaderReplays: tc.header}
		}
		dl := deadLetterFor(testDLQ, msg, events.ReasonMaxDeliveries, errors.New("bad"))
		if got := dl.Header[events.HeaderReplays]; got != tc.want {
			t.Errorf("replays %q on the order: %q on its dead letter, want %q", tc.header, got, tc.want)
		}
	}
}
