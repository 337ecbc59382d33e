package systemtest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/distsys-go/orders/internal/natstest"
	"github.com/distsys-go/orders/internal/testkit"
	"github.com/distsys-go/orders/platform/deadletter"
	"github.com/distsys-go/orders/platform/events"
	"github.com/distsys-go/orders/test/audit"
)

// auditStream is the audit stream's default name, the tool's and the
// provisioning's.
const auditStream = "ORDERS_AUDIT"

// tool runs "consumer deadletters args…" to its end and returns its exit
// code, its standard output's lines and its standard error.
func tool(t *testing.T, natsURL string, extraEnv []string, args ...string) (int, []string, string) {
	t.Helper()
	p := testkit.Start(t, bins["consumer"], env(natsURL, "tool", extraEnv...),
		testkit.Args(append([]string{"deadletters"}, args...)...), testkit.Name("deadletters "+strings.Join(args, " ")))
	code := p.Wait(t)
	return code, p.Lines(), p.Stderr()
}

// result is one JSON line of a replay or purge.
type result struct {
	Seq     uint64 `json:"seq"`
	OrderID string `json:"order_id"`
	Outcome string `json:"outcome"`
	Detail  string `json:"detail"`
	DryRun  bool   `json:"dry_run"`
}

// results parses the JSON lines of a run, by dead letter sequence.
func results(t *testing.T, lines []string) map[uint64]result {
	t.Helper()
	out := map[uint64]result{}
	for _, l := range lines {
		var r result
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("not a JSON line: %q", l)
		}
		if r.Seq != 0 {
			out[r.Seq] = r
		}
	}
	return out
}

// letter publishes a dead letter as the consumer writes it, for the order
// id with body, and returns its sequence; header changes what it says.
func letter(t *testing.T, js natsjs.JetStream, id string, body []byte, header map[string]string) uint64 {
	t.Helper()
	h := nats.Header{}
	for k, v := range map[string]string{
		events.HeaderDeadLetterReason: events.ReasonMaxDeliveries, events.HeaderDeadLetterError: "delivered 20 times",
		events.HeaderOriginalSubject: names.Orders, events.HeaderOriginalStream: names.Stream, events.HeaderOriginalSequence: "1",
		events.HeaderOriginalID: id, events.HeaderOriginalSize: strconv.Itoa(len(body)), events.HeaderDeliveries: "20",
		events.HeaderDeadLetterTruncated: "false",
	} {
		h.Set(k, v)
	}
	for k, v := range header {
		if v == "" {
			h.Del(k)
			continue
		}
		h.Set(k, v)
	}
	ack, err := js.PublishMsg(context.Background(), &nats.Msg{Subject: names.DeadLetters, Header: h, Data: body})
	if err != nil {
		t.Fatal(err)
	}
	return ack.Sequence
}

// remaining are the sequences of the dead letters left in the stream.
func remaining(t *testing.T, js natsjs.JetStream) []uint64 {
	t.Helper()
	s, err := js.Stream(context.Background(), names.Stream)
	if err != nil {
		t.Fatal(err)
	}
	var seqs []uint64
	for _, m := range audit.StreamMessages(t, s, names.DeadLetters) {
		seqs = append(seqs, m.Sequence)
	}
	return seqs
}

// auditEntries reads the audit stream's records.
func auditEntries(t *testing.T, js natsjs.JetStream) []deadletter.Entry {
	t.Helper()
	s, err := js.Stream(context.Background(), auditStream)
	if err != nil {
		t.Fatal(err)
	}
	var out []deadletter.Entry
	for _, m := range audit.StreamMessages(t, s, ">") {
		var e deadletter.Entry
		if err := json.Unmarshal(m.Data, &e); err != nil {
			t.Fatalf("audit record %q: %v", m.Data, err)
		}
		if want := "orders-audit.deadletters." + e.Verb + "." + e.Outcome; m.Subject != want {
			t.Errorf("audit record on %s, want %s", m.Subject, want)
		}
		out = append(out, e)
	}
	return out
}

// TestDeadLetterToolOutcomes: every outcome a replay can give, on a real
// server with no consumer running, then a second run that changes
// nothing, purge, inspect and the audit.
func TestDeadLetterToolOutcomes(t *testing.T) {
	srv := natstest.Run(t)
	url := srv.ClientURL()
	provision(t, url)
	js := jetStream(t, srv)

	recordLedger(t, js, "order-recorded")
	dupSeq := publishID(t, js, "order-dup") // within the duplicate window, unprocessed
	seqs := map[string]uint64{
		deadletter.SkippedRecorded:       letter(t, js, "order-recorded", order("order-recorded", 0), nil),
		deadletter.RefusedWouldFailAgain: letter(t, js, "order-bad", []byte("{not json"), map[string]string{events.HeaderDeadLetterReason: events.ReasonMalformed}),
		deadletter.RefusedTruncated:      letter(t, js, "order-big", order("order-big", 10), map[string]string{events.HeaderDeadLetterTruncated: "true"}),
		deadletter.RefusedTooOften:       letter(t, js, "order-again", order("order-again", 0), map[string]string{events.HeaderReplays: "3"}),
		deadletter.SkippedDuplicate:      letter(t, js, "order-dup", order("order-dup", 0), nil),
		deadletter.Replayed:              letter(t, js, "order-new", order("order-new", 0), map[string]string{events.HeaderReplays: "1"}),
	}
	unreadable, err := js.Publish(context.Background(), names.DeadLetters, []byte("typed by hand"))
	if err != nil {
		t.Fatal(err)
	}
	seqs[deadletter.RefusedUnreadable] = unreadable.Sequence

	// list: every letter, the hand-published one as unreadable.
	code, lines, stderr := tool(t, url, nil, "list")
	if code != 0 || len(lines) != len(seqs)+1 {
		t.Fatalf("list: exit %d, %d lines, want 0 and a header + %d:\n%s\n%s", code, len(lines), len(seqs), strings.Join(lines, "\n"), stderr)
	}
	for _, l := range lines {
		if strings.HasPrefix(l, strconv.FormatUint(unreadable.Sequence, 10)+" ") &&
			(!strings.Contains(l, "unreadable") || !strings.Contains(l, "no: unreadable")) {
			t.Errorf("the hand-published letter listed as %q, want unreadable and not replayable", l)
		}
	}
	_, lines, _ = tool(t, url, nil, "list", "--json", "--reason", "malformed")
	if len(lines) != 1 || !strings.Contains(lines[0], `"order_id":"order-bad"`) || !strings.Contains(lines[0], `"replayable":false`) {
		t.Errorf("list --json --reason malformed: %q, want order-bad only, not replayable", lines)
	}

	// A dry run says what would happen and changes nothing.
	before := remaining(t, js)
	code, lines, stderr = tool(t, url, nil, "replay", "--dry-run", "--json")
	if code != 0 {
		t.Fatalf("dry run: exit %d: %s", code, stderr)
	}
	dry := results(t, lines)
	if r := dry[seqs[deadletter.Replayed]]; r.Outcome != deadletter.Replayed || !r.DryRun {
		t.Errorf("dry run of order-new: %+v, want replayed as a dry run", r)
	}
	if got := remaining(t, js); !slices.Equal(got, before) {
		t.Errorf("a dry run changed the dead letters: %v, was %v", got, before)
	}
	if s, _ := js.Stream(context.Background(), auditStream); s.CachedInfo().State.Msgs != 0 {
		t.Errorf("a dry run left %d audit records", s.CachedInfo().State.Msgs)
	}

	// The real run: one outcome per letter.
	code, lines, stderr = tool(t, url, nil, "replay", "--yes", "--json", "--actor", "alice")
	if code != 0 {
		t.Fatalf("replay: exit %d: %s", code, stderr)
	}
	got := results(t, lines)
	for want, seq := range seqs {
		if got[seq].Outcome != want || got[seq].DryRun {
			t.Errorf("dead letter %d: %+v, want %s", seq, got[seq], want)
		}
	}
	// Removed: the replayed and the recorded one; kept: the others.
	wantLeft := []uint64{}
	for outcome, seq := range seqs {
		if outcome != deadletter.Replayed && outcome != deadletter.SkippedRecorded {
			wantLeft = append(wantLeft, seq)
		}
	}
	slices.Sort(wantLeft)
	if left := remaining(t, js); !slices.Equal(left, wantLeft) {
		t.Errorf("dead letters left %v, want %v", left, wantLeft)
	}
	replayed := storedOrder(t, js, "order-new")
	if replayed.Header.Get(events.HeaderReplays) != "2" || string(replayed.Data) != string(order("order-new", 0)) {
		t.Errorf("the replay of order-new: headers %v, body %q; want its body, replayed twice now", replayed.Header, replayed.Data)
	}
	if m := storedOrder(t, js, "order-dup"); m.Sequence != dupSeq {
		t.Errorf("order-dup stored at %d, want only its original at %d", m.Sequence, dupSeq)
	}
	entries := auditEntries(t, js)
	if len(entries) != len(seqs) {
		t.Errorf("%d audit records, want %d", len(entries), len(seqs))
	}
	for _, e := range entries {
		if e.Actor != "alice" || e.Verb != "replay" || got[e.Seq].Outcome != e.Outcome || !strings.Contains(e.Command, "--actor alice") {
			t.Errorf("audit record %+v does not match the run", e)
		}
	}

	// A second run changes nothing.
	code, lines, _ = tool(t, url, nil, "replay", "--yes", "--json")
	for seq, r := range results(t, lines) {
		if r.Outcome == deadletter.Replayed || r.Outcome == deadletter.SkippedRecorded || r.Outcome != got[seq].Outcome {
			t.Errorf("second run, dead letter %d: %+v, want %s again", seq, r, got[seq].Outcome)
		}
	}
	if left := remaining(t, js); code != 0 || !slices.Equal(left, wantLeft) {
		t.Errorf("second run: exit %d, dead letters left %v, want 0 and %v", code, left, wantLeft)
	}

	// inspect: one letter, and clear failures.
	code, lines, _ = tool(t, url, nil, "inspect", strconv.FormatUint(seqs[deadletter.RefusedWouldFailAgain], 10))
	if text := strings.Join(lines, "\n"); code != 0 || !strings.Contains(text, "Orders-Dead-Letter-Reason: malformed") || !strings.Contains(text, "{not json") {
		t.Errorf("inspect: exit %d:\n%s", code, text)
	}
	for _, tc := range []struct{ seq uint64 }{{9999}, {dupSeq}} {
		code, _, stderr = tool(t, url, nil, "inspect", strconv.FormatUint(tc.seq, 10))
		if code != 1 || !strings.Contains(stderr, strconv.FormatUint(tc.seq, 10)) || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
			// one line: the tool logs warnings only
			t.Errorf("inspect %d: exit %d, stderr %q; want 1 and one line naming it", tc.seq, code, stderr)
		}
	}

	// purge: a dry run, then the malformed letter only; never an order.
	code, lines, _ = tool(t, url, nil, "purge", "--reason", "unreadable", "--dry-run")
	if left := remaining(t, js); code != 0 || !slices.Equal(left, wantLeft) || !strings.Contains(strings.Join(lines, "\n"), "would be purged") {
		t.Errorf("purge --dry-run: exit %d, left %v:\n%s", code, left, strings.Join(lines, "\n"))
	}
	code, lines, _ = tool(t, url, nil, "purge", "--reason", "malformed,unreadable", "--yes", "--json")
	purged := results(t, lines)
	if code != 0 || len(purged) != 2 || purged[seqs[deadletter.RefusedWouldFailAgain]].Outcome != deadletter.Purged ||
		purged[seqs[deadletter.RefusedUnreadable]].Outcome != deadletter.Purged {
		t.Errorf("purge: exit %d, %+v; want the malformed and the unreadable letter purged", code, purged)
	}
	if m := storedOrder(t, js, "order-dup"); m.Sequence != dupSeq {
		t.Errorf("purge touched an order: order-dup at %d", m.Sequence)
	}
}

// provision runs 'consumer provision' against url and waits for its end.
func provision(t *testing.T, url string, extraEnv ...string) {
	t.Helper()
	p := testkit.Start(t, bins["consumer"], env(url, "provision", extraEnv...), testkit.Args("provision"))
	if code := p.Wait(t); code != 0 {
		t.Fatalf("provision: exit %d: %s", code, p.Stderr())
	}
}

// recordLedger puts a ledger record of id, as a consumer would.
func recordLedger(t *testing.T, js natsjs.JetStream, id string) {
	t.Helper()
	kv, err := js.KeyValue(context.Background(), names.Bucket)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Create(context.Background(), id, []byte(`{"consumer":"earlier"}`)); err != nil {
		t.Fatal(err)
	}
}

// publishID stores order id on the orders' subject under its id.
func publishID(t *testing.T, js natsjs.JetStream, id string) uint64 {
	t.Helper()
	ack, err := js.Publish(context.Background(), names.Orders, order(id, 0), natsjs.WithMsgID(id))
	if err != nil {
		t.Fatal(err)
	}
	return ack.Sequence
}

// storedOrder returns the one order id stored on the orders' subject.
func storedOrder(t *testing.T, js natsjs.JetStream, id string) *natsjs.RawStreamMsg {
	t.Helper()
	s, err := js.Stream(context.Background(), names.Stream)
	if err != nil {
		t.Fatal(err)
	}
	var found []*natsjs.RawStreamMsg
	for _, m := range audit.StreamMessages(t, s, names.Orders) {
		if m.Header.Get(natsjs.MsgIDHeader) == id {
			found = append(found, m)
		}
	}
	if len(found) != 1 {
		t.Fatalf("order %s stored %d times, want once", id, len(found))
	}
	return found[0]
}

// TestDeadLetterToolUsage: bad arguments exit 2 with one line naming
// what is wrong (and the valid values), before anything connects; -h
// lists the verbs, the flags and the variables.
func TestDeadLetterToolUsage(t *testing.T) {
	const nowhere = "nats://127.0.0.1:1" // never reached
	for _, tc := range []struct {
		args []string
		code int
		want string // in stderr, or in stdout for -h
	}{
		{nil, 2, "a verb is missing"},
		{[]string{"frobnicate"}, 2, `unknown verb "frobnicate"`},
		{[]string{"replay"}, 2, "add --yes"},
		{[]string{"purge", "--older-than", "1h"}, 2, "add --yes"},
		{[]string{"replay", "--yes", "--dry-run"}, 2, "choose one"},
		{[]string{"replay", "--yes", "--reason", "bogus"}, 2, "want one of oversized, malformed, invalid, unknown-version, version-mismatch, max-deliveries, unreadable"},
		{[]string{"replay", "--yes", "--rate", "0"}, 2, "want 1 to 1000"},
		{[]string{"replay", "--yes", "--rate", "5000"}, 2, "want 1 to 1000"},
		{[]string{"replay", "--yes", "--max-replays", "0"}, 2, "want 1 to 100"},
		{[]string{"list", "--since", "yesterday"}, 2, "neither an RFC 3339 time nor a duration"},
		{[]string{"inspect"}, 2, "want one argument"},
		{[]string{"inspect", "x"}, 2, `sequence "x"`},
		{[]string{"-h"}, 0, "NATS_URL"},
		{[]string{"replay", "-h"}, 0, "-rate"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			p := testkit.Start(t, bins["consumer"], env(nowhere, "tool"), testkit.Args(append([]string{"deadletters"}, tc.args...)...))
			code := p.Wait(t)
			out := p.Stderr()
			if tc.code == 0 {
				out = strings.Join(p.Lines(), "\n")
			}
			if code != tc.code || !strings.Contains(out, tc.want) {
				t.Errorf("exit %d, want %d with %q in:\n%s", code, tc.code, tc.want, out)
			}
			if tc.code == 2 && strings.Contains(p.Stderr(), "nats") && strings.Contains(p.Stderr(), "connect") {
				t.Errorf("a usage error tried to connect: %s", p.Stderr())
			}
		})
	}
}

// TestDeadLetterToolStreamFull: a replay the full stream refuses fails,
// keeps its dead letter and exits non-zero.
func TestDeadLetterToolStreamFull(t *testing.T) {
	srv := natstest.Run(t)
	url := srv.ClientURL()
	small := []string{"STREAM_MAX_BYTES=262144"}
	provision(t, url, small...)
	js := jetStream(t, srv)
	seq := letter(t, js, "order-waiting", order("order-waiting", 0), nil)
	// Fill it up to the last bytes: large orders, then ever smaller.
	for i, size := 0, 4096; size > 0; i++ {
		if _, err := js.Publish(context.Background(), names.Orders, order("filler-"+strconv.Itoa(i), size)); err != nil {
			size /= 2
		}
	}
	code, lines, stderr := tool(t, url, small, "replay", "--yes", "--json")
	if r := results(t, lines)[seq]; code != 1 || r.Outcome != deadletter.Failed || !strings.Contains(r.Detail, "full") {
		t.Errorf("exit %d, %+v; want 1 and failed, the stream full:\n%s", code, r, stderr)
	}
	if left := remaining(t, js); !slices.Equal(left, []uint64{seq}) {
		t.Errorf("dead letters %v, want %d kept", left, seq)
	}
}

// TestDeadLetterReplayEndToEnd: orders that stall on every delivery (a
// real failure: WORK_TIME longer than ACK_WAIT) end as dead letters; the
// fix rolls out (the consumer restarts without the stall); two replays
// run at once and one is killed mid-run and run again; every order is
// processed exactly once, no dead letter and no stalled original is left,
// and a further run changes nothing.
func TestDeadLetterReplayEndToEnd(t *testing.T) {
	srv := natstest.Run(t)
	url := srv.ClientURL()
	js := jetStream(t, srv)
	// Orders are dead-lettered here within seconds of their publication,
	// where the stream would still de-duplicate their replays; with the
	// defaults a failing order takes minutes to reach MAX_DELIVER.
	window := "STREAM_DUPLICATE_WINDOW=1s"
	stalling := start(t, "consumer", env(url, "c1", "MAX_DELIVER=2", "ACK_WAIT=1s", "WORK_TIME=1h", window))
	stalling.WaitReady(t)
	const n = 12
	var ids []string
	for i := range n {
		ids = append(ids, fmt.Sprintf("order-%02d", i))
		publishID(t, js, ids[i])
	}
	testkit.Eventually(t, "every order dead-lettered", testkit.Bound, func() (bool, string) {
		left := remaining(t, js)
		return len(left) == n, fmt.Sprintf("%d dead letters", len(left))
	})
	testkit.Eventually(t, "the duplicate window passed", testkit.Bound, func() (bool, string) {
		// Within the window the stream answers "duplicate" before it
		// checks the (wrong) expected sequence; after it, it refuses the
		// message: nothing is stored either way.
		dup, err := js.Publish(context.Background(), names.Orders, nil, natsjs.WithMsgID(ids[n-1]), natsjs.WithExpectLastSequence(1<<40))
		if err == nil && dup.Duplicate {
			return false, "the last order's id is still within the window"
		}
		return err != nil, fmt.Sprintf("probe: %v", err)
	})
	stalling.Kill(t)
	// The fix: the consumer without the stall.
	fixed := start(t, "consumer", env(url, "c2", window))
	fixed.WaitReady(t)

	// Two runs at once over the first half; one replays each letter.
	half := []string{"replay", "--yes", "--json", "--rate", "20", "--max", strconv.Itoa(n / 2)}
	a := testkit.Start(t, bins["consumer"], env(url, "a"), testkit.Args(append([]string{"deadletters"}, half...)...), testkit.Name("replay a"))
	b := testkit.Start(t, bins["consumer"], env(url, "b"), testkit.Args(append([]string{"deadletters"}, half...)...), testkit.Name("replay b"))
	if ca, cb := a.Wait(t), b.Wait(t); ca != 0 || cb != 0 {
		t.Fatalf("concurrent runs exited %d and %d:\n%s\n%s", ca, cb, a.Stderr(), b.Stderr())
	}
	byA := map[string]bool{}
	for _, r := range results(t, a.Lines()) {
		byA[r.OrderID] = r.Outcome == deadletter.Replayed
	}
	for _, r := range results(t, b.Lines()) {
		if r.Outcome == deadletter.Replayed && byA[r.OrderID] {
			t.Errorf("two runs at once both replayed %s", r.OrderID)
		}
	}

	// A slow run killed after its first replay, then run again.
	slow := testkit.Start(t, bins["consumer"], env(url, "slow"), testkit.Args("deadletters", "replay", "--yes", "--json", "--rate", "1"), testkit.Name("replay slow"))
	testkit.Eventually(t, "the slow run replayed one", testkit.Bound, func() (bool, string) {
		for _, r := range results(t, slow.Lines()) {
			if r.Outcome == deadletter.Replayed {
				return true, ""
			}
		}
		return false, "nothing replayed yet"
	})
	slow.Kill(t)
	code, lines, stderr := tool(t, url, nil, "replay", "--yes", "--json", "--rate", "100")
	if code != 0 {
		t.Fatalf("the run after the kill: exit %d: %s", code, stderr)
	}
	for _, r := range results(t, lines) {
		if r.Outcome != deadletter.Replayed && r.Outcome != deadletter.SkippedRecorded && r.Outcome != deadletter.SkippedDuplicate {
			t.Errorf("after the kill: %+v", r)
		}
	}
	testkit.Eventually(t, "every order processed", testkit.Bound, func() (bool, string) { return missing(ids, fixed) })
	// A letter the stream de-duplicated (replayed by another run a moment
	// before) may still be there: the next run removes it, the ledger
	// having the order.
	_, _, _ = tool(t, url, nil, "replay", "--yes")
	testkit.Eventually(t, "the stream holds no order and no dead letter", testkit.Bound, func() (bool, string) {
		a := readAudit(t, srv)
		return len(a.Stored) == 0 && len(a.DeadLetters) == 0, fmt.Sprintf("%d orders, %d dead letters stored", len(a.Stored), len(a.DeadLetters))
	})
	requireExactlyOnce(t, readAudit(t, srv), ids, fixed)
	code, lines, _ = tool(t, url, nil, "replay", "--yes")
	if code != 0 || len(lines) != 1 || !strings.Contains(lines[0], "no dead letter selected") {
		t.Errorf("a last run: exit %d:\n%s\nwant nothing selected", code, strings.Join(lines, "\n"))
	}
	// The consumer counts what the audit holds, by verb and outcome, and
	// exports the backlog: none left.
	counts := map[string]int{}
	for _, e := range auditEntries(t, js) {
		counts[fmt.Sprintf(`orders_dead_letter_actions_total{outcome=%q,verb=%q}`, e.Outcome, e.Verb)]++
	}
	if counts[`orders_dead_letter_actions_total{outcome="replayed",verb="replay"}`] != n {
		t.Errorf("audit records %v, want %d replayed", counts, n)
	}
	addr := fixed.WaitReady(t)
	for metric, c := range counts {
		wantMetrics(t, addr, fmt.Sprintf("%s %d", metric, c))
	}
	wantMetrics(t, addr, `orders_stream_subject_messages{stream="ORDERS",subject="orders.deadletter"} 0`)
}

// TestDeadLetterTooOld: a dead letter older than DEDUP_TTL is refused
// unless --allow-old: the ledger can no longer tell whether its order was
// processed.
func TestDeadLetterTooOld(t *testing.T) {
	t.Parallel()
	srv := natstest.Run(t)
	url := srv.ClientURL()
	provision(t, url)
	js := jetStream(t, srv)
	seq := letter(t, js, "order-old", order("order-old", 0), nil)
	// The shortest DEDUP_TTL the consumer accepts with MAX_DELIVER=1.
	short := []string{"MAX_DELIVER=1", "ACK_WAIT=1s", "STREAM_DUPLICATE_WINDOW=1s", "DEDUP_TTL=32s"}
	testkit.Eventually(t, "the letter is older than DEDUP_TTL", 2*time.Minute, func() (bool, string) {
		_, lines, _ := tool(t, url, short, "list", "--json")
		return len(lines) == 1 && strings.Contains(lines[0], "older than the ledger remembers"), strings.Join(lines, "\n")
	})
	_, lines, _ := tool(t, url, short, "replay", "--yes", "--json")
	if r := results(t, lines)[seq]; r.Outcome != deadletter.RefusedTooOld {
		t.Errorf("replay: %+v, want %s", r, deadletter.RefusedTooOld)
	}
	_, lines, _ = tool(t, url, short, "replay", "--yes", "--json", "--allow-old")
	if r := results(t, lines)[seq]; r.Outcome != deadletter.Replayed {
		t.Errorf("replay --allow-old: %+v, want %s", r, deadletter.Replayed)
	}
}
