package systemtest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/distsys-go/orders/internal/natstest"
	"github.com/distsys-go/orders/internal/testkit"
	"github.com/distsys-go/orders/platform/events"
	"github.com/distsys-go/orders/test/audit"
)

// produce runs a producer of version until it published count orders and
// returns their ids.
func produce(t *testing.T, url, version string, count int) []string {
	t.Helper()
	p := start(t, "producer", env(url, "p-"+version, "PUBLISH_INTERVAL=0", fmt.Sprintf("PUBLISH_COUNT=%d", count), "EVENT_VERSION="+version))
	if code := p.Wait(t); code != 0 {
		t.Fatalf("producer %s: exit %d: %s", version, code, p.Stderr())
	}
	ids := audit.PublishedIDs(p)
	if len(ids) != count {
		t.Fatalf("producer %s logged %d published orders, want %d", version, len(ids), count)
	}
	return ids
}

// waiting is the number of messages stored on subject.
func waiting(t *testing.T, js natsjs.JetStream, subject string) uint64 {
	t.Helper()
	s, err := js.Stream(context.Background(), names.Stream)
	if err != nil {
		t.Fatal(err)
	}
	si, err := s.Info(context.Background(), natsjs.WithSubjectFilter(subject))
	if err != nil {
		t.Fatal(err)
	}
	return si.State.Subjects[subject]
}

// TestMixedVersionsRollout: the upgrade to v2 in both orders. The unsafe
// one first: a v2 producer while the only consumer reads v1 (as the
// release before v2 did; CONSUME_VERSIONS=v1 stands for it): its orders
// wait on their subject, counted by the gauge, and flow once a consumer
// that reads both starts. Then the safe one: the old consumer stops, v1
// and v2 and v1 again are produced. Every order is processed once, none
// is dead-lettered.
func TestMixedVersionsRollout(t *testing.T) {
	srv := natstest.Run(t)
	url := srv.ClientURL()
	js := jetStream(t, srv)
	provision(t, url) // every version's durable, as the chart's Job
	v2 := events.V2.Subject(names.Orders)

	old := start(t, "consumer", env(url, "c-old", "CONSUME_VERSIONS=v1", "METRICS_INTERVAL=1s"))
	oldAddr := old.WaitReady(t)
	published := produce(t, url, "v1", 40)
	early := produce(t, url, "v2", 40)
	testkit.Eventually(t, "the v1 orders processed by the v1 consumer", testkit.Bound, func() (bool, string) {
		return missing(published, old)
	})
	if n := waiting(t, js, v2); n != 40 {
		t.Fatalf("%d orders stored on %s while no consumer reads v2, want all 40 waiting", n, v2)
	}
	wantMetrics(t, oldAddr, fmt.Sprintf(`orders_stream_subject_messages{stream="ORDERS",subject=%q} 40`, v2))

	both := start(t, "consumer", env(url, "c-new"))
	published = append(published, early...)
	testkit.Eventually(t, "the waiting v2 orders processed once a consumer reads v2", testkit.Bound, func() (bool, string) {
		return missing(early, old, both)
	})
	if code := old.Terminate(t); code != 0 {
		t.Errorf("old consumer exit %d: %s", code, old.Stderr())
	}
	for _, v := range []string{"v1", "v2", "v1"} {
		published = append(published, produce(t, url, v, 40)...)
	}
	testkit.Eventually(t, "every order processed", testkit.Bound, func() (bool, string) {
		return missing(published, old, both)
	})
	a := readAudit(t, srv)
	requireExactlyOnce(t, a, published, old, both)
	if len(a.DeadLetters) != 0 {
		t.Errorf("%d dead letters, want none", len(a.DeadLetters))
	}
	for _, d := range names.Durables() {
		if a.Durables[d] == nil {
			t.Errorf("durable %s does not exist", d)
		}
	}
	if code := both.Terminate(t); code != 0 {
		t.Errorf("consumer exit %d: %s", code, both.Stderr())
	}
}

// TestVersionMismatchesDeadLettered: a body or a header of one version on
// the other's subject, and a version nobody knows, are dead-lettered with
// a reason naming it; the tool replays none of them, saying why.
func TestVersionMismatchesDeadLettered(t *testing.T) {
	srv := natstest.Run(t)
	url := srv.ClientURL()
	c := start(t, "consumer", env(url, "c1"))
	addr := c.WaitReady(t)
	js := jetStream(t, srv)
	v1Body := `{"id":"order-a","product_id":"sku-1","quantity":1,"created_at":"2026-12-05T08:00:00Z"}`
	v2Body := `{"id":"order-b","lines":[{"sku":"sku-1","quantity":1,"unit_price":250}],"currency":"EUR","created_at":"2026-12-05T08:00:00Z"}`
	v2 := events.V2.Subject(names.Orders)
	cases := []struct {
		name, subject, body, ceType, reason, detail, outcome string
	}{
		{"a v2 body on the v1 subject", names.Orders, v2Body, "", "version-mismatch", "the body is a v2 event", "refused-would-fail-again"},
		{"a v1 body on the v2 subject", v2, v1Body, "", "version-mismatch", "the body is a v1 event", "refused-would-fail-again"},
		{"a v2 header on the v1 subject", names.Orders, v2Body, events.V2.Type, "version-mismatch", "a v2 event (ce-type) on the v1 subject", "refused-would-fail-again"},
		{"an unknown version", names.Orders, v1Body, events.TypePrefix + "v9", "unknown-version", `"` + events.TypePrefix + `v9" is none of v1, v2`, "refused-unknown-version"},
	}
	seqs := map[uint64]int{}
	for i, tc := range cases {
		m := nats.NewMsg(tc.subject)
		m.Data = []byte(tc.body)
		m.Header[nats.MsgIdHdr] = []string{fmt.Sprintf("bad-%d", i)}
		if tc.ceType != "" {
			m.Header[events.HeaderSpecVersion] = []string{events.SpecVersion}
			m.Header[events.HeaderType] = []string{tc.ceType}
		}
		ack, err := js.PublishMsg(context.Background(), m)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		seqs[ack.Sequence] = i
	}
	testkit.Eventually(t, "every bad message dead-lettered", testkit.Bound, func() (bool, string) {
		n := len(deadLetters(t, js))
		return n == len(cases), fmt.Sprintf("%d dead letters", n)
	})
	for seq, dl := range deadLetters(t, js) {
		tc := cases[seqs[seq]]
		if got := dl.Header.Get(events.HeaderDeadLetterReason); got != tc.reason || !strings.Contains(dl.Header.Get(events.HeaderDeadLetterError), tc.detail) {
			t.Errorf("%s: reason %q error %q, want %q with %q", tc.name, got, dl.Header.Get(events.HeaderDeadLetterError), tc.reason, tc.detail)
		}
		if got := dl.Header.Get(events.HeaderOriginalType); got != tc.ceType {
			t.Errorf("%s: %s %q, want %q", tc.name, events.HeaderOriginalType, got, tc.ceType)
		}
	}
	wantMetrics(t, addr, `orders_dead_lettered_total{reason="version-mismatch"} 3`, `orders_dead_lettered_total{reason="unknown-version"} 1`)

	_, listed, _ := tool(t, url, nil, "list", "--json", "--reason", "unknown-version")
	if len(listed) != 1 || !strings.Contains(listed[0], `"type":"`+events.TypePrefix+`v9"`) {
		t.Errorf("list --json --reason unknown-version: %q, want one letter naming its type", listed)
	}
	code, lines, stderr := tool(t, url, nil, "replay", "--yes", "--json", "--actor", "test")
	if code != 0 {
		t.Fatalf("replay: exit %d: %s", code, stderr)
	}
	got := map[string]int{}
	for _, r := range results(t, lines) {
		got[r.Outcome]++
	}
	if got["refused-would-fail-again"] != 3 || got["refused-unknown-version"] != 1 || len(got) != 2 {
		t.Errorf("replay outcomes %v, want 3 refused-would-fail-again and 1 refused-unknown-version", got)
	}
	if n := len(deadLetters(t, js)); n != len(cases) {
		t.Errorf("%d dead letters left, want all %d kept", n, len(cases))
	}
}

// TestProducerRefusesUncapturedVersion: with PROVISION=false the
// producer's STREAM_SUBJECTS may not be the stream's; it asks the stream
// and exits 1 naming the subject when its version's is not captured,
// before publishing anything.
func TestProducerRefusesUncapturedVersion(t *testing.T) {
	srv := natstest.Run(t)
	url := srv.ClientURL()
	provision(t, url, "STREAM_SUBJECTS=orders.created,orders.deadletter", "CONSUME_VERSIONS=v1")
	p := start(t, "producer", env(url, "p1", "PROVISION=false", "EVENT_VERSION=v2", "PUBLISH_COUNT=1"))
	if code := p.Wait(t); code != 1 {
		t.Fatalf("producer exit %d, want 1: %s", code, p.Stderr())
	}
	want := "EVENT_VERSION=v2: stream ORDERS does not capture orders.created.v2 (its subjects: orders.created, orders.deadletter)"
	if !strings.Contains(p.Stderr(), want) {
		t.Errorf("stderr lacks %q:\n%s", want, p.Stderr())
	}
	if n := len(audit.PublishedIDs(p)); n != 0 {
		t.Errorf("%d orders published, want none", n)
	}
}

// TestUnknownVersionReplayedOnceKnown: a v2 order that a consumer of an
// older release dead-lettered as of an unknown version (on the v1
// subject, its ce-type kept in the letter) is replayed by this release's
// tool on v2's subject, with v2's headers, and processed there once.
func TestUnknownVersionReplayedOnceKnown(t *testing.T) {
	srv := natstest.Run(t)
	url := srv.ClientURL()
	c := start(t, "consumer", env(url, "c1"))
	c.WaitReady(t)
	js := jetStream(t, srv)
	body := []byte(`{"id":"order-v2-early","lines":[{"sku":"sku-1","quantity":1,"unit_price":990}],"currency":"EUR","created_at":"2026-12-05T08:00:00Z"}`)
	letter(t, js, "order-v2-early", body, map[string]string{
		events.HeaderDeadLetterReason: events.ReasonUnknownVersion, events.HeaderOriginalType: events.V2.Type,
		events.HeaderDeadLetterError: `unknown event version: ce-type "` + events.V2.Type + `" is none of v1`,
	})
	code, lines, stderr := tool(t, url, nil, "replay", "--yes", "--json", "--actor", "test")
	if code != 0 {
		t.Fatalf("replay: exit %d: %s", code, stderr)
	}
	res := results(t, lines)
	if len(res) != 1 {
		t.Fatalf("replay results %v, want one", res)
	}
	for _, r := range res {
		if r.Outcome != "replayed" {
			t.Fatalf("outcome %s (%s), want replayed", r.Outcome, r.Detail)
		}
	}
	testkit.Eventually(t, "the replayed v2 order processed", testkit.Bound, func() (bool, string) {
		return missing([]string{"order-v2-early"}, c)
	})
	got := c.Logged("received order")
	if len(got) != 1 || got[0].String("version") != "v2" {
		t.Errorf("received %v, want the order once, as v2", got)
	}
	if n := len(deadLetters(t, js)); n != 0 {
		t.Errorf("%d dead letters left, want none", n)
	}
}
