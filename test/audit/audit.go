package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/distsys-go/orders/internal/testkit"
	"github.com/distsys-go/orders/platform/events"
)

// Names are the JetStream names of the orders pipeline an audit reads.
type Names struct {
	Stream      string // the stream of order events and dead letters
	Orders      string // subject of the order events (SUBJECT: v1's)
	DeadLetters string // subject of the dead letters
	Bucket      string // the ledger: the processed-orders key-value bucket
	Durable     string // the consumers' shared durable consumer (v1's)
}

// OrderSubjects are the subjects of every event version, v1's first.
func (n Names) OrderSubjects() []string {
	out := make([]string, len(events.Versions))
	for i, v := range events.Versions {
		out[i] = v.Subject(n.Orders)
	}
	return out
}

// Durables are the durables of every event version, v1's first.
func (n Names) Durables() []string {
	out := make([]string, len(events.Versions))
	for i, v := range events.Versions {
		out[i] = v.Durable(n.Durable)
	}
	return out
}

// ChartNames are the services' defaults, which the chart keeps.
func ChartNames() Names {
	return Names{
		Stream:      "ORDERS",
		Orders:      "orders.created",
		DeadLetters: "orders.deadletter",
		Bucket:      "orders-processed",
		Durable:     "fulfilment-workers",
	}
}

// DeadLetter is one message on the dead-letter subject.
type DeadLetter struct {
	Data   []byte // the original's body, or its first bytes when Truncated
	Reason string
	// OriginalSeq is the original's sequence in the stream, 0 when the
	// dead letter does not name it.
	OriginalSeq uint64
	Truncated   bool
}

// Audit is what NATS holds: the order events still stored, the dead
// letters, and the ledger. It reads NATS, not the services, so it sees
// what a service claimed but did not do. It never creates a consumer on
// the stream of orders: that stream is a work queue, where the services'
// durable must be the only consumer of the orders (the server refuses a
// second one), and where an acknowledgement would delete what it read.
type Audit struct {
	// Stored counts the order events still in the stream, by order id (the
	// body's id, else the Nats-Msg-Id header). The stream is a work queue:
	// an order leaves it once processed or dead-lettered, so these are the
	// orders not processed yet; "published" comes from the producers.
	Stored map[string]int
	// StoredMsgs is the number of order events still in the stream.
	StoredMsgs int
	// IDMismatches are the stored order events whose Nats-Msg-Id header is
	// not the id in their body (up to ten): a producer should send its
	// order id.
	IDMismatches []string
	// StoredAt holds the stream's timestamp of every stored order event.
	StoredAt []time.Time
	// DeadLetters are the messages on the dead-letter subject.
	DeadLetters []DeadLetter
	// Recorded maps each ledger key (an order id) to the consumer instance
	// that recorded it.
	Recorded map[string]string
	// LedgerWrites counts every write the ledger's stream took (its last
	// sequence): more writes than keys means an order had a second effect.
	LedgerWrites uint64
	// Durable is v1's durable consumer's state, nil when it does not
	// exist; Durables every version's that exists, by name.
	Durable  *jetstream.ConsumerInfo
	Durables map[string]*jetstream.ConsumerInfo
}

// Delivered is how many deliveries the durables made, all versions'.
func (a Audit) Delivered() uint64 {
	var n uint64
	for _, d := range a.Durables {
		n += d.Delivered.Consumer
	}
	return n
}

// ReadAudit reads the audit from NATS through js, failing t when NATS does
// not answer.
func ReadAudit(t testing.TB, js jetstream.JetStream, n Names) Audit {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	a := Audit{Stored: map[string]int{}, Recorded: map[string]string{}, Durables: map[string]*jetstream.ConsumerInfo{}}

	s, err := js.Stream(ctx, n.Stream)
	if err != nil {
		t.Fatalf("audit: stream %s: %v", n.Stream, err)
	}
	// Every version's subject: an order is one, whatever its version.
	for _, subject := range n.OrderSubjects() {
		si, err := s.Info(ctx, jetstream.WithSubjectFilter(subject))
		if err != nil {
			t.Fatalf("audit: stream %s info: %v", n.Stream, err)
		}
		a.StoredMsgs += int(si.State.Subjects[subject])
		get(t, ctx, s, subject, func(m *jetstream.RawStreamMsg) {
			id := orderID(m.Data, m.Header)
			a.Stored[id]++
			if h := m.Header.Get("Nats-Msg-Id"); h != "" && h != id {
				a.IDMismatches = appendExample(a.IDMismatches, fmt.Sprintf("message id %q, order id %q", h, id))
			}
			a.StoredAt = append(a.StoredAt, m.Time)
		})
	}
	get(t, ctx, s, n.DeadLetters, func(m *jetstream.RawStreamMsg) {
		seq, _ := strconv.ParseUint(m.Header.Get(events.HeaderOriginalSequence), 10, 64)
		a.DeadLetters = append(a.DeadLetters, DeadLetter{
			Data: m.Data, Reason: m.Header.Get(events.HeaderDeadLetterReason),
			OriginalSeq: seq, Truncated: m.Header.Get(events.HeaderDeadLetterTruncated) == "true",
		})
	})

	// The bucket's own stream (limits retention, so an ordered consumer
	// may read it): one message per key, the recording instance in its
	// value; its last sequence counts every write ever made.
	kvs, err := js.Stream(ctx, "KV_"+n.Bucket)
	if err != nil {
		t.Fatalf("audit: ledger bucket %s: %v", n.Bucket, err)
	}
	ki, err := kvs.Info(ctx)
	if err != nil {
		t.Fatalf("audit: ledger bucket %s info: %v", n.Bucket, err)
	}
	a.LedgerWrites = ki.State.LastSeq
	prefix := "$KV." + n.Bucket + "."
	read(t, ctx, kvs, prefix+">", int(ki.State.Msgs), func(m jetstream.Msg) {
		if m.Headers().Get("KV-Operation") != "" {
			return // DEL or PURGE: the consumers never do that
		}
		var r struct {
			ProcessedBy string `json:"processed_by"`
		}
		_ = json.Unmarshal(m.Data(), &r)
		a.Recorded[strings.TrimPrefix(m.Subject(), prefix)] = r.ProcessedBy
	})

	for _, name := range n.Durables() {
		c, err := s.Consumer(ctx, name)
		switch {
		case errors.Is(err, jetstream.ErrConsumerNotFound):
		case err != nil:
			t.Fatalf("audit: durable %s: %v", name, err)
		default:
			info, err := c.Info(ctx)
			if err != nil {
				t.Fatalf("audit: durable %s info: %v", name, err)
			}
			a.Durables[name] = info
		}
	}
	a.Durable = a.Durables[n.Durable]
	return a
}

// orderID is the order id an event carries: the body's, else its message id.
func orderID(data []byte, h nats.Header) string {
	var o struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(data, &o) == nil && o.ID != "" {
		return o.ID
	}
	return h.Get("Nats-Msg-Id")
}

// StreamMessages returns the messages on subject stored in s, oldest
// first, read with the stream's get-next-by-subject API: no consumer is
// created, so it works on a work-queue stream and removes nothing.
func StreamMessages(t testing.TB, s jetstream.Stream, subject string) []*jetstream.RawStreamMsg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testkit.Bound)
	defer cancel()
	var out []*jetstream.RawStreamMsg
	get(t, ctx, s, subject, func(m *jetstream.RawStreamMsg) { out = append(out, m) })
	return out
}

// get hands the messages on subject in s to fn, oldest first, each fetched
// by the stream's get-next-by-subject API. Messages removed meanwhile (a
// consumer processed them) are skipped.
func get(t testing.TB, ctx context.Context, s jetstream.Stream, subject string, fn func(*jetstream.RawStreamMsg)) {
	t.Helper()
	var retry retrier
	for seq := uint64(1); ; {
		m, err := s.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(subject))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return
		}
		if err != nil && retry.again(ctx, err) {
			continue
		}
		if err != nil {
			t.Fatalf("audit: get %s from #%d: %v", subject, seq, err)
		}
		retry = retrier{}
		fn(m)
		seq = m.Sequence + 1
	}
}

// read hands the want messages on subject in s to fn, through an ordered
// consumer; s must not be a work queue.
func read(t testing.TB, ctx context.Context, s jetstream.Stream, subject string, want int, fn func(jetstream.Msg)) {
	t.Helper()
	if want == 0 {
		return
	}
	c, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	if err != nil {
		t.Fatalf("audit: read %s: %v", subject, err)
	}
	var (
		retry retrier
		last  uint64 // stream sequence of the last message handed to fn
	)
	for got := 0; got < want; {
		// Ask for no more than is left: a short last batch would otherwise
		// wait out FetchMaxWait.
		batch, err := c.Fetch(min(1000, want-got), jetstream.FetchMaxWait(5*time.Second))
		if err != nil && retry.again(ctx, err) {
			continue
		}
		if err != nil {
			t.Fatalf("audit: read %s: %v", subject, err)
		}
		n := 0
		for m := range batch.Messages() {
			// After a fault the ordered consumer starts again after the
			// last message it delivered; never count one twice.
			if md, err := m.Metadata(); err == nil {
				if md.Sequence.Stream <= last {
					continue
				}
				last = md.Sequence.Stream
			}
			fn(m)
			n++
		}
		if n == 0 && batch.Error() != nil && retry.again(ctx, batch.Error()) {
			continue
		}
		if n == 0 {
			t.Fatalf("audit: read %s: stopped after %d of %d messages: %v", subject, got, want, batch.Error())
		}
		retry = retrier{}
		got += n
	}
}

// retrier lets a read ride out a short NATS fault in the middle of an
// audit: right after a server restart a request can find no responder, or
// time out, while JetStream elects leaders. It allows a few attempts in a
// row, a second apart, then the error is the audit's.
type retrier struct{ tries int }

// again reports whether to try again after err, once a second has passed;
// false once ctx ended or after maxAuditRetries errors in a row.
func (r *retrier) again(ctx context.Context, err error) bool {
	const maxAuditRetries = 15
	if r.tries >= maxAuditRetries || !(errors.Is(err, nats.ErrNoResponders) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, jetstream.ErrNoHeartbeat) || errors.Is(err, context.DeadlineExceeded)) {
		return false
	}
	r.tries++
	select {
	case <-time.After(time.Second):
		return ctx.Err() == nil
	case <-ctx.Done():
		return false
	}
}

// Twice is the number of second effects: ledger writes beyond one per key.
func (a Audit) Twice() int { return int(a.LedgerWrites) - len(a.Recorded) }

// Outcome compares the ids a producer acknowledged with what NATS holds.
type Outcome struct {
	Published int // distinct acknowledged order ids
	Recorded  int // of those, with a ledger key
	Dead      int // of those, dead-lettered (their id in a dead letter's body)
	Lost      int // of those, neither recorded nor dead-lettered
	Unknown   int // ledger keys of no acknowledged id
	Twice     int // second effects in the ledger
	// LostIDs, DeadIDs and UnknownIDs give up to ten examples each.
	LostIDs, DeadIDs, UnknownIDs []string
}

// Against compares the audit with the ids the producers acknowledged.
func (a Audit) Against(published []string) Outcome {
	o := Outcome{Twice: a.Twice()}
	dead := map[string]bool{}
	for _, d := range a.DeadLetters {
		var e struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(d.Data, &e) == nil && e.ID != "" {
			dead[e.ID] = true
		}
	}
	seen := map[string]bool{}
	for _, id := range published {
		if seen[id] {
			continue
		}
		seen[id] = true
		o.Published++
		switch {
		case hasKey(a.Recorded, id):
			o.Recorded++
		case dead[id]:
			o.Dead++
			o.DeadIDs = appendExample(o.DeadIDs, id)
		default:
			o.Lost++
			o.LostIDs = appendExample(o.LostIDs, id)
		}
	}
	keys := make([]string, 0, len(a.Recorded))
	for k := range a.Recorded {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !seen[k] {
			o.Unknown++
			o.UnknownIDs = appendExample(o.UnknownIDs, k)
		}
	}
	return o
}

func hasKey(m map[string]string, k string) bool {
	_, ok := m[k]
	return ok
}

func appendExample(s []string, id string) []string {
	if len(s) < 10 {
		s = append(s, id)
	}
	return s
}
