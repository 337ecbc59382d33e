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
	"golang.org/x/time/rate"

	"github.com/distsys-go/orders/platform/events"
	msgjs "github.com/distsys-go/orders/platform/messaging/jetstream"
)

// Outcomes of replaying or purging one dead letter: each letter a run
// selects gets exactly one.
const (
	// Replayed: the order was stored in the stream again under its id,
	// then the dead letter was removed.
	Replayed = "replayed"
	// SkippedRecorded: the ledger already has the order, so it was
	// processed after all; the dead letter was removed.
	SkippedRecorded = "skipped-recorded"
	// SkippedDuplicate: the stream stored nothing, having seen the
	// order's id within its duplicate window (another run replaying it at
	// the same moment, or an order dead-lettered within the window of its
	// publication); the dead letter is kept for a later run.
	SkippedDuplicate = "skipped-duplicate"
	// RefusedUnreadable, RefusedTruncated, RefusedWouldFailAgain,
	// RefusedTooOld, RefusedTooOften and RefusedUnknownVersion are
	// Judge's verdicts: nothing was
	// sent, the dead letter is kept.
	RefusedUnreadable     = "refused-unreadable"
	RefusedTruncated      = "refused-truncated"
	RefusedWouldFailAgain = "refused-would-fail-again"
	RefusedTooOld         = "refused-too-old"
	RefusedTooOften       = "refused-replayed-too-often"
	RefusedUnknownVersion = "refused-unknown-version"
	// Failed: the replay was not stored (the stream is full, say) or the
	// ledger could not be read; the dead letter is kept and the run stops.
	Failed = "failed"
	// Purged: the dead letter was deleted.
	Purged = "purged"
)

// refusals maps Judge's verdicts to their outcomes.
var refusals = []struct {
	err     error
	outcome string
}{
	{ErrUnreadable, RefusedUnreadable}, {ErrTruncated, RefusedTruncated}, {ErrWouldFailAgain, RefusedWouldFailAgain},
	{ErrTooOld, RefusedTooOld}, {ErrReplayedTooOften, RefusedTooOften}, {ErrUnknownVersion, RefusedUnknownVersion},
}

// Unreadable is the reason a filter gives to select unreadable letters.
const Unreadable = "unreadable"

// Filter selects dead letters; its zero value selects all.
type Filter struct {
	// Reasons, if any, are the reasons selected (Reasons, or Unreadable).
	Reasons []string
	// Since and Until, if set, bound when the dead letter was stored.
	Since, Until time.Time
	// OrderID, if set, is the one order selected.
	OrderID string
}

// Match reports whether f selects l.
func (f Filter) Match(l Letter) bool {
	reason := l.Reason
	if l.Unreadable != "" {
		reason = Unreadable
	}
	switch {
	case len(f.Reasons) > 0 && !slices.Contains(f.Reasons, reason):
		return false
	case !f.Since.IsZero() && l.Time.Before(f.Since), !f.Until.IsZero() && l.Time.After(f.Until):
		return false
	}
	return f.OrderID == "" || l.OrderID == f.OrderID
}

// Result is what a run did with one dead letter.
type Result struct {
	Letter  Letter
	Outcome string
	// Detail says why, for a refusal or a failure.
	Detail string
	// DryRun: nothing was changed; Outcome is what a real run would do
	// as far as it can be known without sending (a replay the stream
	// would de-duplicate shows as Replayed).
	DryRun bool
}

// Operator replays and purges the dead letters of one stream.
type Operator struct {
	// JS publishes the replays; Stream holds the orders and their dead
	// letters on Subject.
	JS      jetstream.JetStream
	Stream  jetstream.Stream
	Subject string
	// Orders is the orders' SUBJECT: an order dead-lettered as of an
	// unknown version is replayed on its version's subject made from it.
	Orders string
	// Recorded reports whether the ledger has the order.
	Recorded func(ctx context.Context, orderID string) (bool, error)
	// Audit, if set, keeps a record of every result of a run that is not
	// a dry run.
	Audit *Audit
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// ReplayOptions is what Replay selects and how fast it sends.
type ReplayOptions struct {
	Filter Filter
	Policy Policy
	// Rate bounds the replays sent per second; Max, if positive, the
	// letters selected.
	Rate float64
	Max  int
	// DryRun changes nothing.
	DryRun bool
}

// ErrFailed is returned by a run that ended on a Failed result.
var ErrFailed = errors.New("dead-letter run failed")

// Replay sends the orders of the dead letters o selects back to their
// subject under their id, oldest first, calling report with each result.
// A dead letter is removed only once its replay is stored (or the ledger
// shows the order processed), so a run killed at any point and run again
// loses and doubles nothing: the order id de-duplicates in the stream and
// in the ledger.
func (op *Operator) Replay(ctx context.Context, o ReplayOptions, report func(Result)) error {
	limit := rate.NewLimiter(rate.Limit(o.Rate), 1)
	return op.walk(ctx, o.Filter, o.Max, func(l Letter) Result {
		r := op.replay(ctx, l, o, limit)
		r.DryRun = o.DryRun
		return r
	}, "replay", o.DryRun, report)
}

func (op *Operator) replay(ctx context.Context, l Letter, o ReplayOptions, limit *rate.Limiter) Result {
	if err := Judge(l, op.now(), o.Policy); err != nil {
		for _, r := range refusals {
			if errors.Is(err, r.err) {
				return Result{Letter: l, Outcome: r.outcome, Detail: err.Error()}
			}
		}
		return Result{Letter: l, Outcome: Failed, Detail: err.Error()}
	}
	recorded, err := op.Recorded(ctx, l.OrderID)
	switch {
	case err != nil:
		return Result{Letter: l, Outcome: Failed, Detail: "read the ledger: " + err.Error()}
	case recorded:
		return op.remove(ctx, Result{Letter: l, Outcome: SkippedRecorded, Detail: "the ledger has the order"}, o.DryRun)
	case o.DryRun:
		return Result{Letter: l, Outcome: Replayed}
	}
	if err := limit.Wait(ctx); err != nil {
		return Result{Letter: l, Outcome: Failed, Detail: err.Error()}
	}
	msg := op.replayMsg(l)
	ack, err := op.JS.PublishMsg(ctx, msg, jetstream.WithMsgID(l.OrderID), jetstream.WithExpectStream(op.Stream.CachedInfo().Config.Name))
	switch {
	case msgjs.IsFull(err):
		return Result{Letter: l, Outcome: Failed, Detail: "the stream is full: " + err.Error()}
	case err != nil:
		return Result{Letter: l, Outcome: Failed, Detail: "publish: " + err.Error()}
	case ack.Duplicate:
		return Result{Letter: l, Outcome: SkippedDuplicate,
			Detail: "the stream saw this order id within its duplicate window and stored nothing; run again after the window"}
	}
	return op.remove(ctx, Result{Letter: l, Outcome: Replayed, Detail: "stored at sequence " + strconv.FormatUint(ack.Sequence, 10)}, false)
}

// replayMsg is the order of l as it is sent again: on its original
// subject, or on its version's when it was dead-lettered as of a version
// unknown then, with its CloudEvents headers (source: this tool) when it
// had them, and its replay count.
func (op *Operator) replayMsg(l Letter) *nats.Msg {
	msg := &nats.Msg{Subject: l.Subject, Data: l.Body, Header: nats.Header{}}
	if v, ok := events.VersionOfType(l.Type); ok {
		if l.Reason == events.ReasonUnknownVersion && op.Orders != "" {
			msg.Subject = v.Subject(op.Orders)
		}
		for k, val := range v.Headers(events.Order{ID: l.OrderID}, ReplaySource) {
			// As written: nats.Header.Set would make ce-type Ce-Type.
			msg.Header[k] = []string{val}
		}
	}
	msg.Header.Set(events.HeaderReplays, strconv.Itoa(l.Replays+1))
	return msg
}

// ReplaySource is the CloudEvents source of a replayed order.
const ReplaySource = "/orders/deadletters"

// remove deletes r's dead letter unless dryRun, and the original if the
// stream still holds it: one the server stopped delivering after
// MAX_DELIVER stays in the work queue, never delivered again, taking room.
// A letter that cannot be deleted keeps r's outcome, with the error in its
// detail: its order is safe (the next run skips it), only the letter is
// left.
func (op *Operator) remove(ctx context.Context, r Result, dryRun bool) Result {
	if dryRun {
		return r
	}
	l := r.Letter
	if _, err := Original(ctx, op.Stream, l); err == nil && op.delete(ctx, l.OrigSeq) == nil {
		r.Detail += "; the original, still stored, removed"
	}
	if err := op.delete(ctx, l.Seq); err != nil {
		r.Detail += "; dead letter not removed: " + err.Error()
	}
	return r
}

// delete deletes the message at seq; one already gone is no error (another
// run, or the stream's age limit, took it).
func (op *Operator) delete(ctx context.Context, seq uint64) error {
	if err := op.Stream.DeleteMsg(ctx, seq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		return err
	}
	return nil
}

// PurgeOptions is what Purge selects.
type PurgeOptions struct {
	Filter Filter
	// OlderThan, if positive, selects only letters stored longer ago.
	OlderThan time.Duration
	Max       int
	DryRun    bool
}

// Purge deletes the dead letters o selects, never anything else: it
// walks only the dead-letter subject.
func (op *Operator) Purge(ctx context.Context, o PurgeOptions, report func(Result)) error {
	f := o.Filter
	if o.OlderThan > 0 {
		cut := op.now().Add(-o.OlderThan)
		if f.Until.IsZero() || cut.Before(f.Until) {
			f.Until = cut
		}
	}
	return op.walk(ctx, f, o.Max, func(l Letter) Result {
		r := Result{Letter: l, Outcome: Purged, DryRun: o.DryRun}
		if o.DryRun {
			return r
		}
		if err := op.delete(ctx, l.Seq); err != nil {
			return Result{Letter: l, Outcome: Failed, Detail: "delete: " + err.Error()}
		}
		return r
	}, "purge", o.DryRun, report)
}

// walk applies do to each dead letter f selects, at most limit of them,
// reporting and auditing each result, and stops at the first Failed one.
// It ends at the stream's last message as the run began: a replayed order
// that fails again while the run goes on leaves a new dead letter, which
// waits for the next run rather than looping in this one.
func (op *Operator) walk(ctx context.Context, f Filter, limit int, do func(Letter) Result, verb string, dryRun bool, report func(Result)) error {
	info, err := op.Stream.Info(ctx)
	if err != nil {
		return fmt.Errorf("stream: %w", err)
	}
	last := info.State.LastSeq
	n := 0
	var failed error
	err = Each(ctx, op.Stream, op.Subject, 1, func(l Letter) error {
		if l.Seq > last {
			return ErrStop
		}
		if !f.Match(l) {
			return nil
		}
		if limit > 0 && n >= limit {
			return ErrStop
		}
		n++
		r := do(l)
		if op.Audit != nil && !dryRun {
			if err := op.Audit.Record(ctx, verb, r); err != nil {
				failed = fmt.Errorf("%w: audit: %w", ErrFailed, err)
			}
		}
		report(r)
		if r.Outcome == Failed {
			failed = fmt.Errorf("%w: sequence %d: %s", ErrFailed, l.Seq, r.Detail)
		}
		if failed != nil {
			return ErrStop
		}
		return nil
	})
	return errors.Join(err, failed)
}

func (op *Operator) now() time.Time {
	if op.Now == nil {
		return time.Now()
	}
	return op.Now()
}
