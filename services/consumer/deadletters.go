package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	envcfg "github.com/distsys-go/orders/platform/config"
	"github.com/distsys-go/orders/platform/deadletter"
	"github.com/distsys-go/orders/platform/events"
	"github.com/distsys-go/orders/platform/ledger"
	"github.com/distsys-go/orders/platform/service"
)

// deadLettersUsage is the tool's -h, before the variables.
const deadLettersUsage = `Usage: consumer deadletters <verb> [flags]

Acts on the dead letters of STREAM_NAME on DEAD_LETTER_SUBJECT, with the
consumer's own variables (listed below) and credentials. It creates
nothing on the server and may run while the consumers run.

Verbs:
  list             one line per dead letter, and whether it can be replayed
  inspect SEQ      one dead letter's headers and body, and its original if still stored
  replay           send the selected orders again under their order id, then remove their dead letters
  purge            delete the selected dead letters (never an order)
  idle             connect, then wait until stopped: the chart's toolbox pod, which
                   'kubectl exec' runs the other verbs in

Run 'consumer deadletters <verb> -h' for a verb's flags.
`

// Flag bounds, stated once for the flags and their errors.
const (
	defaultRate, minRate, maxRate = 10, 1, 1000
	defaultMaxReplays, maxReplays = 3, 100
)

// dlArgs are the tool's parsed arguments.
type dlArgs struct {
	verb   string
	filter deadletter.Filter
	json   bool
	seq    uint64
	// replay and purge
	rate       float64
	max        int
	dryRun     bool
	yes        bool
	allowOld   bool
	maxReplays int
	olderThan  time.Duration
	actor      string
	command    string
	out        io.Writer // the results
}

// deadLetterTool parses "consumer deadletters …" and returns its run.
func deadLetterTool(args []string, out io.Writer) (service.WireFunc[*config], error) {
	if len(args) == 0 || isHelp(args[0]) {
		fmt.Fprint(out, deadLettersUsage)
		if len(args) == 0 {
			return nil, fmt.Errorf("%w: a verb is missing: list, inspect, replay, purge or idle", service.ErrUsage)
		}
		return nil, errHelp
	}
	a := dlArgs{verb: args[0], command: "deadletters " + strings.Join(args, " "), maxReplays: defaultMaxReplays, out: out}
	fs := flag.NewFlagSet("consumer deadletters "+a.verb, flag.ContinueOnError)
	fs.SetOutput(out)
	switch a.verb {
	case "list":
		a.filterFlags(fs)
		fs.BoolVar(&a.json, "json", false, "JSON lines instead of a table")
	case "inspect":
		fs.BoolVar(&a.json, "json", false, "one JSON object instead of text")
	case "replay":
		a.filterFlags(fs)
		a.changeFlags(fs, "replay")
		fs.Float64Var(&a.rate, "rate", defaultRate, fmt.Sprintf("orders sent per second at most (%d to %d)", minRate, maxRate))
		fs.BoolVar(&a.allowOld, "allow-old", false, "replay dead letters older than DEDUP_TTL too: the ledger can no longer tell whether they were processed")
		fs.IntVar(&a.maxReplays, "max-replays", defaultMaxReplays, fmt.Sprintf("refuse an order replayed this often already (1 to %d)", maxReplays))
	case "idle":
	case "purge":
		a.filterFlags(fs)
		a.changeFlags(fs, "purge")
		fs.DurationVar(&a.olderThan, "older-than", 0, "only dead letters stored longer ago than this (e.g. 72h)")
	default:
		fmt.Fprint(out, deadLettersUsage)
		return nil, fmt.Errorf("%w: unknown verb %q: want list, inspect, replay, purge or idle", service.ErrUsage, a.verb)
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, errHelp
		}
		return nil, fmt.Errorf("%w: %w", service.ErrUsage, err)
	}
	if err := a.check(fs); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", service.ErrUsage, a.verb, err)
	}
	return a.run, nil
}

// errHelp is -h: usage printed; the runtime adds the variables.
var errHelp = fmt.Errorf("deadletters: %w", envcfg.ErrHelp)

func isHelp(arg string) bool { return arg == "-h" || arg == "-help" || arg == "--help" }

func (a *dlArgs) filterFlags(fs *flag.FlagSet) {
	fs.Func("reason", "only these reasons, comma-separated: "+strings.Join(reasons(), ", "), func(v string) error {
		for r := range strings.SplitSeq(v, ",") {
			if !slices.Contains(reasons(), r) {
				return fmt.Errorf("unknown reason %q: want one of %s", r, strings.Join(reasons(), ", "))
			}
			a.filter.Reasons = append(a.filter.Reasons, r)
		}
		return nil
	})
	fs.Func("since", "only dead letters stored at or after this time (RFC 3339) or this long ago (e.g. 2h)", timeFlag(&a.filter.Since))
	fs.Func("until", "only dead letters stored at or before this time (RFC 3339) or this long ago", timeFlag(&a.filter.Until))
	fs.StringVar(&a.filter.OrderID, "order-id", "", "only the dead letters of this order")
}

func (a *dlArgs) changeFlags(fs *flag.FlagSet, verb string) {
	fs.IntVar(&a.max, "max", 0, "act on this many dead letters at most (0: all selected)")
	fs.BoolVar(&a.dryRun, "dry-run", false, "show what would be done, change nothing")
	fs.BoolVar(&a.yes, "yes", false, "really "+verb+" (required unless --dry-run)")
	fs.StringVar(&a.actor, "actor", "", "who runs this, for the audit record (default: $USER, else the host name)")
	fs.BoolVar(&a.json, "json", false, "JSON lines instead of a table")
}

// reasons are the values --reason takes.
func reasons() []string { return append(slices.Clone(events.Reasons), deadletter.Unreadable) }

// timeFlag parses an RFC 3339 time or a duration before now.
func timeFlag(t *time.Time) func(string) error {
	return func(v string) error {
		if d, err := time.ParseDuration(v); err == nil && d >= 0 {
			*t = time.Now().Add(-d)
			return nil
		}
		p, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return fmt.Errorf("%q is neither an RFC 3339 time nor a duration", v)
		}
		*t = p
		return nil
	}
}

// check holds the rules between flags and the positional arguments.
func (a *dlArgs) check(fs *flag.FlagSet) error {
	if a.verb == "idle" && fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if a.verb == "inspect" {
		if fs.NArg() != 1 {
			return errors.New("want one argument, the dead letter's sequence (see list)")
		}
		seq, err := strconv.ParseUint(fs.Arg(0), 10, 64)
		if err != nil || seq == 0 {
			return fmt.Errorf("sequence %q: want a positive number", fs.Arg(0))
		}
		a.seq = seq
		return nil
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case a.verb == "replay" && (a.rate < minRate || a.rate > maxRate):
		return fmt.Errorf("--rate=%g: want %d to %d orders per second", a.rate, minRate, maxRate)
	case a.verb == "replay" && (a.maxReplays < 1 || a.maxReplays > maxReplays):
		return fmt.Errorf("--max-replays=%d: want 1 to %d", a.maxReplays, maxReplays)
	case a.max < 0:
		return fmt.Errorf("--max=%d: must not be negative", a.max)
	case a.olderThan < 0:
		return fmt.Errorf("--older-than=%s: must not be negative", a.olderThan)
	case (a.verb == "replay" || a.verb == "purge") && !a.yes && !a.dryRun:
		return fmt.Errorf("it changes the stream: add --yes to %s, or --dry-run to see what it would do", a.verb)
	case a.yes && a.dryRun:
		return errors.New("--yes and --dry-run: choose one")
	}
	return nil
}

// run opens the stream and the ledger and runs the verb, printing to
// standard output.
func (a *dlArgs) run(ctx context.Context, rt *service.Runtime, cfg *config) error {
	js, err := rt.JetStream()
	if err != nil {
		return err
	}
	if a.verb == "idle" {
		<-ctx.Done()
		return nil
	}
	stream, err := js.Stream(ctx, cfg.StreamConfig.Name)
	if err != nil {
		return fmt.Errorf("stream %s: %w", cfg.StreamConfig.Name, err)
	}
	subject := cfg.Worker.DeadLetterSubject
	out := a.out
	policy := deadletter.Policy{LedgerTTL: cfg.Ledger.TTL, AllowOld: a.allowOld, MaxReplays: a.maxReplays}
	switch a.verb {
	case "list":
		return list(ctx, out, stream, subject, a.filter, policy, a.json)
	case "inspect":
		return inspect(ctx, out, stream, subject, a.seq, a.json)
	}
	op := &deadletter.Operator{JS: js, Stream: stream, Subject: subject, Orders: cfg.Subject}
	if !a.dryRun {
		// Nothing changes unless it can be recorded.
		if _, err := js.Stream(ctx, cfg.Audit.Stream); err != nil {
			return fmt.Errorf("audit stream %s: %w (made by 'consumer provision', or by the consumers with PROVISION=true)", cfg.Audit.Stream, err)
		}
		op.Audit = deadletter.NewAudit(js, cfg.Audit, deadletter.Run{ID: runID(), Actor: actor(a.actor), Command: a.command})
	}
	rep := newReporter(out, a.json)
	defer rep.summary(a.verb, a.dryRun)
	if a.verb == "purge" {
		return op.Purge(ctx, deadletter.PurgeOptions{Filter: a.filter, OlderThan: a.olderThan, Max: a.max, DryRun: a.dryRun}, rep.report)
	}
	led, err := ledger.Open(ctx, js, cfg.Ledger.Bucket)
	if err != nil {
		return err
	}
	op.Recorded = func(ctx context.Context, orderID string) (bool, error) {
		_, err := led.Get(ctx, orderID)
		if errors.Is(err, natsjs.ErrKeyNotFound) {
			return false, nil
		}
		return err == nil, err
	}
	return op.Replay(ctx, deadletter.ReplayOptions{Filter: a.filter, Policy: policy, Rate: a.rate, Max: a.max, DryRun: a.dryRun}, rep.report)
}

// runID tells one run's audit records from another's.
func runID() string {
	return time.Now().UTC().Format("20060102T150405.000Z") + "-" + strconv.Itoa(os.Getpid())
}

// actor is who runs the tool: as given, else $USER, else the host (the
// pod) name.
func actor(given string) string {
	if given != "" {
		return given
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	h, _ := os.Hostname()
	return h
}

// listing is one dead letter as list prints it.
type listing struct {
	Seq         uint64    `json:"seq"`
	Time        time.Time `json:"time"`
	Reason      string    `json:"reason"`
	Subject     string    `json:"subject"`
	Type        string    `json:"type,omitempty"` // the original's ce-type: its event version
	OrigSeq     uint64    `json:"original_seq"`
	OrderID     string    `json:"order_id"`
	Deliveries  int       `json:"deliveries"`
	Replays     int       `json:"replays"`
	Truncated   bool      `json:"truncated"`
	Replayable  bool      `json:"replayable"`
	WhyNot      string    `json:"why_not,omitempty"`
	Unreadable  string    `json:"unreadable,omitempty"`
	OriginalErr string    `json:"error,omitempty"`
}

func list(ctx context.Context, out io.Writer, s natsjs.Stream, subject string, f deadletter.Filter, p deadletter.Policy, asJSON bool) error {
	tw := tabwriter.NewWriter(out, 1, 0, 2, ' ', 0)
	if !asJSON {
		fmt.Fprintln(tw, "SEQ\tTIME\tREASON\tSUBJECT\tORIG-SEQ\tORDER-ID\tDELIVERIES\tREPLAYS\tTRUNCATED\tREPLAYABLE")
	}
	enc := json.NewEncoder(out)
	now := time.Now()
	err := deadletter.Each(ctx, s, subject, 1, func(l deadletter.Letter) error {
		if !f.Match(l) {
			return nil
		}
		li := listing{Seq: l.Seq, Time: l.Time.UTC(), Reason: l.Reason, Subject: l.Subject, Type: l.Type, OrigSeq: l.OrigSeq, OrderID: l.OrderID,
			Deliveries: l.Deliveries, Replays: l.Replays, Truncated: l.Truncated, Replayable: true, Unreadable: l.Unreadable, OriginalErr: l.Error}
		if err := deadletter.Judge(l, now, p); err != nil {
			li.Replayable, li.WhyNot = false, err.Error()
		}
		if asJSON {
			return enc.Encode(li)
		}
		replayable := "yes"
		if !li.Replayable {
			replayable = "no: " + li.WhyNot
		}
		reason := li.Reason
		if l.Unreadable != "" {
			reason = deadletter.Unreadable
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%d\t%d\t%t\t%s\n", li.Seq, li.Time.Format(time.RFC3339), reason, dash(li.Subject),
			li.OrigSeq, dash(li.OrderID), li.Deliveries, li.Replays, li.Truncated, replayable)
		return nil
	})
	return errors.Join(err, tw.Flush())
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// inspect prints the dead letter at seq and its original, if the stream
// still holds it (usually not: a dead-lettered order leaves the work
// queue; one the server stopped delivering stays).
func inspect(ctx context.Context, out io.Writer, s natsjs.Stream, subject string, seq uint64, asJSON bool) error {
	l, err := deadletter.Get(ctx, s, subject, seq)
	if errors.Is(err, natsjs.ErrMsgNotFound) {
		return fmt.Errorf("no dead letter at sequence %d: the stream holds no message there (see 'consumer deadletters list')", seq)
	}
	if err != nil {
		return err
	}
	var original string
	var origBody []byte
	m, err := deadletter.Original(ctx, s, l)
	switch {
	case err == nil:
		original, origBody = fmt.Sprintf("still stored at sequence %d (%d bytes)", l.OrigSeq, len(m.Data)), m.Data
	case errors.Is(err, deadletter.ErrOriginalGone):
		original = err.Error()
	default:
		original = "not read: " + err.Error()
	}
	if asJSON {
		return json.NewEncoder(out).Encode(map[string]any{
			"seq": l.Seq, "time": l.Time.UTC(), "header": l.Header, "body": string(l.Body),
			"original": original, "original_body": string(origBody),
		})
	}
	fmt.Fprintf(out, "Dead letter %d, stored %s on %s\n\nHeaders:\n", l.Seq, l.Time.UTC().Format(time.RFC3339), subject)
	keys := make([]string, 0, len(l.Header))
	for k := range l.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(out, "  %s: %s\n", k, strings.Join(l.Header.Values(k), ", "))
	}
	fmt.Fprintf(out, "\nBody (%d bytes):\n%s\n\nOriginal: %s\n", len(l.Body), l.Body, original)
	if origBody != nil {
		fmt.Fprintf(out, "%s\n", origBody)
	}
	return nil
}

// reporter prints each result of a replay or purge and counts outcomes.
type reporter struct {
	out    io.Writer
	tw     *tabwriter.Writer
	enc    *json.Encoder
	counts map[string]int
}

func newReporter(out io.Writer, asJSON bool) *reporter {
	r := &reporter{out: out, counts: map[string]int{}}
	if asJSON {
		r.enc = json.NewEncoder(out)
	} else {
		r.tw = tabwriter.NewWriter(out, 1, 0, 2, ' ', 0)
		fmt.Fprintln(r.tw, "SEQ\tORDER-ID\tREASON\tOUTCOME\tDETAIL")
	}
	return r
}

func (r *reporter) report(res deadletter.Result) {
	r.counts[res.Outcome]++
	if r.enc != nil {
		_ = r.enc.Encode(map[string]any{"seq": res.Letter.Seq, "order_id": res.Letter.OrderID, "reason": res.Letter.Reason,
			"outcome": res.Outcome, "detail": res.Detail, "dry_run": res.DryRun})
		return
	}
	outcome := res.Outcome
	if res.DryRun {
		outcome = "would be " + outcome
	}
	fmt.Fprintf(r.tw, "%d\t%s\t%s\t%s\t%s\n", res.Letter.Seq, dash(res.Letter.OrderID), dash(res.Letter.Reason), outcome, res.Detail)
	_ = r.tw.Flush() // a line per letter as it happens, for a long run
}

// summary prints the count of each outcome, in a stable order.
func (r *reporter) summary(verb string, dryRun bool) {
	outcomes := make([]string, 0, len(r.counts))
	for o := range r.counts {
		outcomes = append(outcomes, o)
	}
	sort.Strings(outcomes)
	parts := make([]string, 0, len(outcomes))
	for _, o := range outcomes {
		parts = append(parts, fmt.Sprintf("%d %s", r.counts[o], o))
	}
	if len(parts) == 0 {
		parts = []string{"no dead letter selected"}
	}
	suffix := ""
	if dryRun {
		suffix = " (dry run: nothing changed)"
	}
	if r.enc != nil {
		_ = r.enc.Encode(map[string]any{"summary": verb, "outcomes": r.counts, "dry_run": dryRun})
		return
	}
	fmt.Fprintf(r.out, "%s: %s%s\n", verb, strings.Join(parts, ", "), suffix)
}
