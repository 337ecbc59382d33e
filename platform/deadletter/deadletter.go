// Package deadletter reads the dead letters the consumers leave on the
// stream (see platform/events for what one holds) and judges, for each,
// whether sending its order again could succeed. It reads without a
// consumer, so it leaves nothing on the server and runs beside the
// consumers.
package deadletter

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/distsys-go/orders/platform/events"
)

// Letter is one dead letter as stored: where the stream keeps it, and what
// its headers say of the original order.
type Letter struct {
	// Seq and Time are the dead letter's own sequence in the stream and
	// when the stream stored it.
	Seq  uint64
	Time time.Time
	// Reason is one of the events.Reason constants; Error the error
	// behind it.
	Reason string
	Error  string
	// Subject, Stream and OrigSeq are where the original was published
	// and stored; OrderID is its message id, the order's id; Type its
	// CloudEvents type (its event version), "" when it had none.
	Subject string
	Type    string
	Stream  string
	OrigSeq uint64
	OrderID string
	// Size is the original's body size in bytes, -1 when unknown.
	Size int
	// Deliveries is how often the original had been delivered.
	Deliveries int
	// Replays is how often the order had been replayed from a dead
	// letter before it was dead-lettered this time.
	Replays int
	// Truncated is true when Body is not all of the original.
	Truncated bool
	// Body is the original's body, or its first events.DeadLetterMaxBody
	// bytes when Truncated.
	Body []byte
	// Header is every header of the dead letter, as stored.
	Header nats.Header
	// Unreadable says why the headers do not describe an original (a
	// message published on the subject by hand, say); empty when they do.
	Unreadable string
}

// Parse reads a dead letter from its stored message. A message whose
// headers do not name a known reason and the original's subject (and, for
// a valid order, its id) is returned with Unreadable set: it is listed,
// never replayed.
func Parse(m *jetstream.RawStreamMsg) Letter {
	h := m.Header
	if h == nil {
		h = nats.Header{}
	}
	l := Letter{
		Seq: m.Sequence, Time: m.Time, Header: h, Body: m.Data,
		Reason:    h.Get(events.HeaderDeadLetterReason),
		Error:     h.Get(events.HeaderDeadLetterError),
		Subject:   h.Get(events.HeaderOriginalSubject),
		Stream:    h.Get(events.HeaderOriginalStream),
		OrderID:   h.Get(events.HeaderOriginalID),
		Type:      h.Get(events.HeaderOriginalType),
		Truncated: h.Get(events.HeaderDeadLetterTruncated) == "true",
		Size:      -1,
	}
	l.OrigSeq, _ = strconv.ParseUint(h.Get(events.HeaderOriginalSequence), 10, 64)
	if n, err := strconv.Atoi(h.Get(events.HeaderOriginalSize)); err == nil {
		l.Size = n
	}
	l.Deliveries, _ = strconv.Atoi(h.Get(events.HeaderDeliveries))
	l.Replays, _ = strconv.Atoi(h.Get(events.HeaderReplays))
	switch {
	case len(m.Header) == 0:
		l.Unreadable = "no headers: not a dead letter the consumers wrote"
	case !slices.Contains(events.Reasons, l.Reason):
		l.Unreadable = fmt.Sprintf("%s %q is none of %v", events.HeaderDeadLetterReason, l.Reason, events.Reasons)
	case l.Subject == "":
		l.Unreadable = "no " + events.HeaderOriginalSubject + " header"
	case l.OrderID == "" && replayable(l.Reason):
		// A bad message may come without an id (it was published by
		// hand); a valid order always has one, its ledger key.
		l.Unreadable = "no " + events.HeaderOriginalID + " header"
	}
	return l
}

// replayable reports whether a letter of reason may be replayed: its
// order was valid (max-deliveries) or of a version a newer consumer reads
// (unknown-version); for the other reasons the bytes themselves are at
// fault.
func replayable(reason string) bool {
	return reason == events.ReasonMaxDeliveries || reason == events.ReasonUnknownVersion
}

// Why a dead letter's order cannot be replayed: Judge's verdicts.
var (
	// ErrUnreadable: the headers do not say what the original was.
	ErrUnreadable = errors.New("unreadable")
	// ErrTruncated: only a prefix of the original was kept.
	ErrTruncated = errors.New("only a prefix of the order was kept")
	// ErrWouldFailAgain: the reason is in the bytes themselves
	// (oversized, malformed, invalid): sent again, they fail again.
	ErrWouldFailAgain = errors.New("the same bytes would fail again")
	// ErrTooOld: the dead letter is older than the ledger remembers
	// orders (DEDUP_TTL), so the ledger can no longer tell whether the
	// order was processed.
	ErrTooOld = errors.New("older than the ledger remembers orders")
	// ErrReplayedTooOften: the order came back from its replays as often
	// as the policy allows; what fails it is not fixed.
	ErrReplayedTooOften = errors.New("replayed too often")
	// ErrUnknownVersion: the order is of an event version this build does
	// not know either; replay it with a release that does.
	ErrUnknownVersion = errors.New("an event version this release does not know")
)

// Policy is what Judge allows.
type Policy struct {
	// LedgerTTL is how long the ledger keeps a record (DEDUP_TTL; 0 for
	// ever); AllowOld lets a dead letter older than that through.
	LedgerTTL time.Duration
	AllowOld  bool
	// MaxReplays is how often one order may be replayed; 0 for no limit.
	MaxReplays int
}

// Judge returns nil when l's order may be sent again at now, or why not
// (one of the Err variables, wrapped with the detail).
func Judge(l Letter, now time.Time, p Policy) error {
	switch {
	case l.Unreadable != "":
		return fmt.Errorf("%w: %s", ErrUnreadable, l.Unreadable)
	case !replayable(l.Reason):
		return fmt.Errorf("%w (%s)", ErrWouldFailAgain, l.Reason)
	case l.Reason == events.ReasonUnknownVersion && !known(l.Type):
		return fmt.Errorf("%w (%s %q)", ErrUnknownVersion, events.HeaderOriginalType, l.Type)
	case l.Truncated:
		return ErrTruncated
	case p.LedgerTTL > 0 && !p.AllowOld && now.Sub(l.Time) > p.LedgerTTL:
		return fmt.Errorf("%w (%s, dead-lettered %s ago)", ErrTooOld, p.LedgerTTL, now.Sub(l.Time).Round(time.Second))
	case p.MaxReplays > 0 && l.Replays >= p.MaxReplays:
		return fmt.Errorf("%w (%d times, the limit)", ErrReplayedTooOften, l.Replays)
	}
	return nil
}

// Each calls fn with every dead letter on subject in s from sequence from
// on, oldest first, until fn returns an error (returned, but for
// ErrStop) or none is left. It reads each with the stream's "next message
// for subject" get, so it creates nothing on the server.
func Each(ctx context.Context, s jetstream.Stream, subject string, from uint64, fn func(Letter) error) error {
	for seq := max(from, 1); ; {
		m, err := s.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(subject))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("dead letters on %s from sequence %d: %w", subject, seq, err)
		}
		if err := fn(Parse(m)); err != nil {
			if errors.Is(err, ErrStop) {
				return nil
			}
			return err
		}
		seq = m.Sequence + 1
	}
}

// ErrStop, returned by Each's fn, ends the walk without an error.
var ErrStop = errors.New("stop")

// Get returns the dead letter at sequence seq of s, or ErrNotDeadLetter
// when the message there is not on subject, or jetstream.ErrMsgNotFound.
func Get(ctx context.Context, s jetstream.Stream, subject string, seq uint64) (Letter, error) {
	m, err := s.GetMsg(ctx, seq)
	if err != nil {
		return Letter{}, fmt.Errorf("sequence %d: %w", seq, err)
	}
	if m.Subject != subject {
		return Letter{}, fmt.Errorf("sequence %d: %w (its subject is %s)", seq, ErrNotDeadLetter, m.Subject)
	}
	return Parse(m), nil
}

// ErrNotDeadLetter: the message asked for is not a dead letter.
var ErrNotDeadLetter = errors.New("not a dead letter")

// known reports whether t is the CloudEvents type of a version this build
// knows.
func known(t string) bool {
	_, ok := events.VersionOfType(t)
	return ok
}

// ErrOriginalGone: the stream no longer holds a letter's original (it was
// settled and left the work queue, or expired), or the letter names none.
var ErrOriginalGone = errors.New("the original is not stored any more")

// Original returns l's original if s still holds it: the message at the
// sequence the letter names, published on its subject under its order id
// (a sequence the stream reused for another message is not the original).
// One the server stopped delivering after MAX_DELIVER stays stored, never
// delivered again; one the consumer settled has left the work queue.
func Original(ctx context.Context, s jetstream.Stream, l Letter) (*jetstream.RawStreamMsg, error) {
	if l.OrigSeq == 0 || l.OrderID == "" {
		return nil, ErrOriginalGone
	}
	m, err := s.GetMsg(ctx, l.OrigSeq)
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
		return nil, ErrOriginalGone
	case err != nil:
		return nil, err
	case m.Subject != l.Subject || m.Header.Get(jetstream.MsgIDHeader) != l.OrderID:
		return nil, fmt.Errorf("%w: sequence %d now holds another message", ErrOriginalGone, l.OrigSeq)
	}
	return m, nil
}
