//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/distsys-go/orders/internal/testkit"
	"github.com/distsys-go/orders/platform/deadletter"
	"github.com/distsys-go/orders/test/audit"
)

// deadLetterOrders is how many orders the dead-letter step sends into the
// failure: fewer than the consumer's CONCURRENCY (256), so that with every
// one of them stalled it still has room to pull, and the server delivers
// each a second time and then gives it up. (A consumer whose every handler
// hangs pulls nothing more, and the server redelivers nothing: its orders
// wait, neither processed nor dead-lettered, until it is restarted.)
const deadLetterOrders = 100

// deadLetterReplay: valid orders stall on every delivery (WORK_TIME far
// over ACK_WAIT, a real failure: a consumer that hangs) until the server
// gives them up after MAX_DELIVER and the consumers dead-letter them; the
// fix rolls out; the dead-letter tool replays them from the toolbox pod,
// as the deadletters identity. Every order is then processed once (the
// scenario's audit counts them with the producers'), no dead letter is
// left, the audit stream names each replay, and a second run changes
// nothing. Runs with the producer stopped, one consumer.
func deadLetterReplay(r *scenario) {
	t, e, ctx := r.t, r.e, r.ctx
	consumerDeploy := "deploy/" + e.release + "-consumer"
	toolbox := "deploy/" + e.release + "-deadletters"
	// upgrade sets each key=value as a string (consumer.env takes only
	// strings), but the replica counts. The drain's replica counts are
	// set again: --reuse-values would bring the producer back.
	upgrade := func(sets ...string) {
		args := []string{"upgrade", e.release, e.chart, "--reuse-values", "--wait", "--timeout", e.helmTimeout}
		for _, s := range sets {
			flag := "--set-string"
			if strings.Contains(s, ".replicaCount=") {
				flag = "--set"
			}
			args = append(args, flag, s)
		}
		e.mustHelm(t, ctx, args...)
		e.mustKC(t, ctx, "rollout", "status", consumerDeploy, "--timeout=5m")
	}
	var ids []string
	r.step("10 dead letters: consumers that stall on every delivery (WORK_TIME=1h, ACK_WAIT=2s, MAX_DELIVER=2)", func() {
		// A short duplicate window, so that the replay need not wait two
		// minutes for the stream to forget the orders' ids.
		upgrade("consumer.env.WORK_TIME=1h", "consumer.env.ACK_WAIT=2s", "consumer.env.MAX_DELIVER=2", "stream.duplicateWindow=5s",
			"consumer.replicaCount=1", "producer.replicaCount=0")
		for i := range deadLetterOrders {
			id := fmt.Sprintf("order-dl-%s-%04d", r.name, i)
			ids = append(ids, id)
			body := fmt.Sprintf(`{"id":%q,"product_id":"sku-dl","quantity":1,"created_at":%q}`, id, time.Now().UTC().Format(time.RFC3339Nano))
			if _, err := r.conn.js.Publish(ctx, names.Orders, []byte(body), natsjs.WithMsgID(id)); err != nil {
				t.Fatalf("publish %s: %v", id, err)
			}
		}
		testkit.Eventually(t, fmt.Sprintf("%d orders dead-lettered as max-deliveries", deadLetterOrders), stepTimeout, func() (bool, string) {
			n, err := deadLetterCount(ctx, r.conn.js)
			return n == deadLetterOrders, fmt.Sprintf("%d dead letters (%v)", n, err)
		}, testkit.Every(time.Second), testkit.Verbose())
	})
	r.step("10 the fix rolls out (WORK_TIME=0s, ACK_WAIT=30s, MAX_DELIVER=20)", func() {
		upgrade("consumer.env.WORK_TIME=0s", "consumer.env.ACK_WAIT=30s", "consumer.env.MAX_DELIVER=20")
		testkit.Eventually(t, "the stream's duplicate window over the last order", stepTimeout, func() (bool, string) {
			// Within the window the stream answers "duplicate" before it
			// checks the (wrong) expected sequence; after it, it refuses
			// the message: nothing is stored either way.
			ack, err := r.conn.js.Publish(ctx, names.Orders, nil, natsjs.WithMsgID(ids[len(ids)-1]), natsjs.WithExpectLastSequence(1<<40))
			if err == nil && ack.Duplicate {
				return false, "still within the window"
			}
			return err != nil, fmt.Sprintf("probe: %v", err)
		}, testkit.Every(time.Second))
	})
	var took time.Duration
	r.step("10 replay from the toolbox pod: kubectl exec ... /service deadletters replay --yes", func() {
		// The toolbox rolled with the consumer's variables: exec into the
		// new pod, not one still terminating.
		e.mustKC(t, ctx, "rollout", "status", toolbox, "--timeout=5m")
		testkit.Eventually(t, "one toolbox pod, not terminating", stepTimeout, func() (bool, string) {
			pods, err := e.pods(ctx, "deadletters")
			if err != nil {
				return false, err.Error()
			}
			return len(pods) == 1 && pods[0].Ready && !pods[0].Deleting, describePods(pods)
		}, testkit.Every(time.Second))
		dry := e.mustKC(t, ctx, "exec", toolbox, "--", "/service", "deadletters", "replay", "--dry-run", "--json")
		if got := toolOutcomes(t, dry); got[deadletter.Replayed] != deadLetterOrders {
			t.Fatalf("dry run: %v, want %d to be replayed", got, deadLetterOrders)
		}
		start := time.Now()
		out := e.mustKC(t, ctx, "exec", toolbox, "--", "/service", "deadletters", "replay", "--yes", "--json", "--rate", "200", "--actor", "e2e")
		took = time.Since(start)
		got := toolOutcomes(t, out)
		t.Logf("replay: %v in %s (%.0f orders/s, kubectl exec included)", got, took.Round(time.Millisecond), float64(deadLetterOrders)/took.Seconds())
		if got[deadletter.Replayed] != deadLetterOrders || len(got) != 1 {
			t.Fatalf("replay outcomes %v, want all %d replayed", got, deadLetterOrders)
		}
	})
	r.step("10 every replayed order processed; no dead letter, no stalled original left; the audit names each", func() {
		kv, err := r.conn.js.KeyValue(ctx, names.Bucket)
		if err != nil {
			t.Fatal(err)
		}
		testkit.Eventually(t, "every replayed order in the ledger", stepTimeout, func() (bool, string) {
			missing := 0
			for _, id := range ids {
				if _, err := kv.Get(ctx, id); err != nil {
					missing++
				}
			}
			return missing == 0, fmt.Sprintf("%d of %d not in the ledger", missing, len(ids))
		}, testkit.Every(2*time.Second), testkit.Verbose())
		if n, err := deadLetterCount(ctx, r.conn.js); n != 0 || err != nil {
			t.Errorf("%d dead letters left (%v)", n, err)
		}
		records := auditRecords(t, ctx, r.conn.js)
		replayed := map[string]int{}
		for _, rec := range records {
			if rec.Actor == "e2e" && rec.Verb == "replay" && rec.Outcome == deadletter.Replayed {
				replayed[rec.OrderID]++
			}
		}
		for _, id := range ids {
			if replayed[id] != 1 {
				t.Errorf("audit: %s replayed %d times, want 1", id, replayed[id])
				break
			}
		}
		again := toolOutcomes(t, e.mustKC(t, ctx, "exec", toolbox, "--", "/service", "deadletters", "replay", "--yes", "--json"))
		if len(again) != 0 {
			t.Errorf("a second replay run: %v, want nothing selected", again)
		}
		r.published = append(r.published, ids...)
		r.addExtra(r.name+": dead-letter replay", fmt.Sprintf("%d orders stalled on every delivery, dead-lettered as max-deliveries; replayed from the toolbox pod in %s (%.0f orders/s at --rate 200, kubectl exec included); outcomes: %d replayed; audit records: %d; second run: nothing selected\n",
			deadLetterOrders, took.Round(time.Millisecond), float64(deadLetterOrders)/took.Seconds(), deadLetterOrders, len(records)))
	})
}

// toolOutcomes counts the outcomes in the tool's JSON lines (its summary).
func toolOutcomes(t testingT, out string) map[string]int {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var sum struct {
		Summary  string         `json:"summary"`
		Outcomes map[string]int `json:"outcomes"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); err != nil || sum.Summary == "" {
		t.Fatalf("the tool's last line is no summary (%v): %q", err, lastLines(out, 5))
	}
	return sum.Outcomes
}

// testingT is what toolOutcomes needs of a test.
type testingT interface {
	Helper()
	Fatalf(format string, args ...any)
}

// deadLetterCount is how many messages the stream holds on the
// dead-letter subject.
func deadLetterCount(ctx context.Context, js natsjs.JetStream) (uint64, error) {
	s, err := js.Stream(ctx, names.Stream)
	if err != nil {
		return 0, err
	}
	info, err := s.Info(ctx, natsjs.WithSubjectFilter(names.DeadLetters))
	if err != nil {
		return 0, err
	}
	return info.State.Subjects[names.DeadLetters], nil
}

// auditRecords reads the dead-letter tool's audit stream.
func auditRecords(t testing.TB, ctx context.Context, js natsjs.JetStream) []deadletter.Entry {
	t.Helper()
	s, err := js.Stream(ctx, "ORDERS_AUDIT")
	if err != nil {
		t.Fatalf("audit stream: %v", err)
	}
	var out []deadletter.Entry
	for _, m := range audit.StreamMessages(t, s, ">") {
		var e deadletter.Entry
		if err := json.Unmarshal(m.Data, &e); err != nil {
			t.Fatalf("audit record %d: %v", m.Sequence, err)
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out
}
