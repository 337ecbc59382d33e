//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/distsys-go/orders/internal/testkit"
	"github.com/distsys-go/orders/platform/events"
)

// eventVersions rolls one side at a time through the change of the order
// event from v1 to v2 while the producer publishes at E2E_PUBLISH_RATE:
// the safe order (consumers that read both first, then the producer to
// v2, then back to v1), and the unsafe one (the producer to v2 while the
// consumers read v1 only: its orders wait on their subject, visible in the
// consumers' gauge, and flow once the consumers read v2). Consumers that
// read v1 only (consumer.versions={v1}) stand for the release before v2,
// which read orders.created only. The scenario's audit covers both
// subjects: nothing lost, nothing twice, no dead letter.
func eventVersions(r *scenario) {
	t, e, ctx := r.t, r.e, r.ctx
	v2 := events.V2.Subject(names.Orders)
	// upgrade changes only what it names (and keeps the step before's
	// values), then waits for both rollouts.
	upgrade := func(sets ...string) {
		args := []string{"upgrade", e.release, e.chart, "--reuse-values", "--wait", "--timeout", e.helmTimeout}
		for _, s := range sets {
			args = append(args, "--set", s)
		}
		e.mustHelm(t, ctx, args...)
		for _, d := range []string{"producer", "consumer"} {
			e.mustKC(t, ctx, "rollout", "status", "deploy/"+e.release+"-"+d, "--timeout=5m")
		}
	}
	noDeadLetters := func(when string) {
		if n, err := deadLetterCount(ctx, r.conn.js); n != 0 || err != nil {
			t.Fatalf("%d dead letters %s (%v), want none", n, when, err)
		}
	}
	r.step("10 versions: consumers read v1 only (the release before v2), producer v1 at "+e.rate+"/s", func() {
		upgrade("consumer.versions={v1}", "consumer.replicaCount=2", "producer.eventVersion=v1", "producer.replicaCount=1")
		waitVersionFlowing(t, r.conn.js, "v1", "on the release before v2")
	})
	r.step("10 roll the consumers to read v1 and v2, v1 flowing", func() {
		upgrade("consumer.versions={v1,v2}")
		waitFlowing(t, r.conn.js, "after the consumers read v2 too")
		noDeadLetters("after the consumers' rollout")
	})
	r.step("10 roll the producer to v2", func() {
		upgrade("producer.eventVersion=v2")
		waitVersionFlowing(t, r.conn.js, "v2", "after the rollout")
		noDeadLetters("after the producer's rollout to v2")
	})
	r.step("10 roll the producer back to v1", func() {
		upgrade("producer.eventVersion=v1")
		waitVersionFlowing(t, r.conn.js, "v1", "after the rollback")
		noDeadLetters("after the producer's rollback")
	})
	var peak uint64
	r.step("10 unsafe order: consumers back to v1 only, then the producer to v2: its orders wait, in the backlog gauge", func() {
		upgrade("consumer.versions={v1}")
		upgrade("producer.eventVersion=v2")
		testkit.Eventually(t, "v2 orders waiting on "+v2+", the consumers' gauge showing them", stepTimeout, func() (bool, string) {
			stored, err := subjectCount(ctx, r.conn.js, v2)
			if err != nil {
				return false, err.Error()
			}
			gauge, err := subjectGauge(ctx, e, v2)
			if err != nil {
				return false, err.Error()
			}
			peak = max(peak, stored)
			return stored > 200 && gauge > 0, fmt.Sprintf("%d stored on %s, gauge %.0f", stored, v2, gauge)
		}, testkit.Every(2*time.Second), testkit.Verbose())
		noDeadLetters("while v2 orders wait")
	})
	r.step("10 the consumers read v2 again: the waiting orders flow, the backlog empties", func() {
		upgrade("consumer.versions={v1,v2}")
		upgrade("producer.eventVersion=v1")
		testkit.Eventually(t, "nothing left on "+v2, stepTimeout, func() (bool, string) {
			n, err := subjectCount(ctx, r.conn.js, v2)
			if err != nil {
				return false, err.Error()
			}
			return n == 0, fmt.Sprintf("%d stored on %s", n, v2)
		}, testkit.Every(2*time.Second), testkit.Verbose())
		noDeadLetters("after the waiting orders flowed")
		r.addExtra(r.name+": event versions", fmt.Sprintf("unsafe order: up to %d v2 orders waited on %s while the consumers read v1 only, none dead-lettered; all processed once they read v2 (the audit below covers both subjects)\n", peak, v2))
	})
}

// subjectCount is how many messages the orders' stream holds on subject.
func subjectCount(ctx context.Context, js natsjs.JetStream, subject string) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, names.Stream)
	if err != nil {
		return 0, err
	}
	si, err := s.Info(ctx, natsjs.WithSubjectFilter(subject))
	if err != nil {
		return 0, err
	}
	return si.State.Subjects[subject], nil
}

// subjectGauge is the largest orders_stream_subject_messages of subject
// the ready consumer pods export.
func subjectGauge(ctx context.Context, e env, subject string) (float64, error) {
	pods, err := e.pods(ctx, "consumer")
	if err != nil {
		return 0, err
	}
	line := regexp.MustCompile(`^orders_stream_subject_messages\{[^}]*subject="` + regexp.QuoteMeta(subject) + `"[^}]*\}\s+(\S+)`)
	best := -1.0
	for _, p := range pods {
		if !p.Ready || p.Deleting {
			continue
		}
		out, err := run(ctx, e.kubectl, "--request-timeout=5s", "get", "--raw",
			fmt.Sprintf("/api/v1/namespaces/%s/pods/%s:8080/proxy/metrics", e.namespace, p.Name))
		if err != nil {
			return 0, err
		}
		for _, l := range strings.Split(out, "\n") {
			if g := line.FindStringSubmatch(l); g != nil {
				if v, err := strconv.ParseFloat(g[1], 64); err == nil {
					best = max(best, v)
				}
			}
		}
	}
	if best < 0 {
		return 0, fmt.Errorf("no ready consumer exports orders_stream_subject_messages{subject=%q}", subject)
	}
	return best, nil
}

// waitVersionFlowing waits until the ledger takes new records and the
// newest is of an order of version: orders of that version are published
// and processed.
func waitVersionFlowing(t *testing.T, js natsjs.JetStream, version, when string) {
	var first uint64
	seen := false
	testkit.Eventually(t, "orders of "+version+" processed "+when, flowTimeout, func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		kv, err := js.Stream(ctx, "KV_"+names.Bucket)
		if err != nil {
			return false, err.Error()
		}
		last := kv.CachedInfo().State.LastSeq
		if !seen {
			first, seen = last, true
			return false, "first sample"
		}
		m, err := kv.GetMsg(ctx, last)
		if err != nil {
			return false, err.Error()
		}
		var rec struct {
			Version string `json:"version"`
		}
		_ = json.Unmarshal(m.Data, &rec)
		return last > first && rec.Version == version, fmt.Sprintf("KV writes %d (from %d), the newest of a %q order", last, first, rec.Version)
	}, testkit.Every(time.Second), testkit.Verbose())
}
