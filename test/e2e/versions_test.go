//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/distsys-go/orders/internal/testkit"
	"github.com/distsys-go/orders/platform/events"
)

// eventVersions rolls one side at a time through the change of the order
// event from v1 to v2 while the producer publishes at E2E_PUBLISH_RATE,
// from the previous release (built from E2E_PREVIOUS_RELEASE_REF; it
// reads and sends v1 only, on orders.created) to this one: the safe order
// (consumers that read both first, then the producer to v2, then back to
// v1), then the unsafe one (the producer sending v2 while the consumers
// are the previous release's: its orders wait on their subject, in the v2
// durable's backlog, and flow once the consumers read v2). Each step
// checks that no order was dead-lettered; the scenario's audit covers
// both subjects: nothing lost, nothing twice.
func eventVersions(r *scenario) {
	t, e, ctx := r.t, r.e, r.ctx
	v2 := events.V2.Subject(names.Orders)
	v2Durable := events.V2.Durable(names.Durable)
	prev := fmt.Sprintf("the previous release (%s, v1 only)", e.prevRef)
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
	r.step("8 versions: both sides on "+prev+", producer at "+e.rate+"/s", func() {
		// Two consumers, so that each rollout is quick. kubectl scale
		// first: step 4 scaled with kubectl, which owns .spec.replicas,
		// and helm's server-side apply refuses to set another value than
		// the owner's.
		e.mustKC(t, ctx, "scale", "deploy/"+e.release+"-consumer", "--replicas=2")
		upgrade("consumer.image.tag="+e.prevTag, "producer.image.tag="+e.prevTag, "consumer.replicaCount=2", "producer.eventVersion=v1")
		waitPods(t, e, "consumer", 2, ":"+e.prevTag)
		waitFlowing(t, r.conn.js, "on the previous release")
	})
	r.step("8 roll the consumers to this release (v1 and v2), v1 flowing", func() {
		before := e.mustPods(t, ctx, "producer")
		upgrade("consumer.image.tag=" + e.tag2)
		waitPods(t, e, "consumer", 2, ":"+e.tag2)
		samePods(t, "producer", before, e.mustPods(t, ctx, "producer"))
		waitVersionFlowing(t, r.conn.js, "v1", "after the consumers' rollout")
		noDeadLetters("after the consumers' rollout")
	})
	r.step("8 roll the producer to this release, sending v2", func() {
		before := e.mustPods(t, ctx, "consumer")
		upgrade("producer.image.tag="+e.tag2, "producer.eventVersion=v2")
		samePods(t, "consumer", before, e.mustPods(t, ctx, "consumer"))
		waitVersionFlowing(t, r.conn.js, "v2", "after the producer's rollout")
		noDeadLetters("after the producer's rollout to v2")
	})
	r.step("8 roll the producer back to v1", func() {
		upgrade("producer.eventVersion=v1")
		waitVersionFlowing(t, r.conn.js, "v1", "after the rollback")
		noDeadLetters("after the producer's rollback")
	})
	var peak uint64
	r.step("8 unsafe order: consumers back on "+prev+", then the producer to v2: its orders wait in "+v2Durable+"'s backlog", func() {
		upgrade("consumer.image.tag=" + e.prevTag)
		upgrade("producer.eventVersion=v2")
		testkit.Eventually(t, "v2 orders waiting on "+v2+", in "+v2Durable+"'s num_pending", stepTimeout, func() (bool, string) {
			stored, err := subjectCount(ctx, r.conn.js, v2)
			if err != nil {
				return false, err.Error()
			}
			pending, err := numPending(ctx, r.conn.js, v2Durable)
			if err != nil {
				return false, err.Error()
			}
			peak = max(peak, pending)
			return stored > 200 && pending > 200, fmt.Sprintf("%d stored on %s, %s num_pending %d", stored, v2, v2Durable, pending)
		}, testkit.Every(2*time.Second), testkit.Verbose())
		noDeadLetters("while v2 orders wait")
	})
	r.step("8 the consumers to this release again: the waiting orders flow, the backlog empties", func() {
		upgrade("consumer.image.tag=" + e.tag2)
		testkit.Eventually(t, v2Durable+" drained", stepTimeout, func() (bool, string) {
			pending, err := numPending(ctx, r.conn.js, v2Durable)
			if err != nil {
				return false, err.Error()
			}
			peak = max(peak, pending)
			return pending == 0, fmt.Sprintf("%s num_pending %d", v2Durable, pending)
		}, testkit.Every(2*time.Second), testkit.Verbose())
		waitVersionFlowing(t, r.conn.js, "v2", "once the consumers read v2 again")
		noDeadLetters("after the waiting orders flowed")
		r.addExtra(r.name+": event versions", fmt.Sprintf("from %s to this release, one side at a time at %s orders/s; unsafe order: up to %d v2 orders waited in %s while the consumers read v1 only, none dead-lettered, all processed once they read v2 (the audit covers both subjects)\n",
			prev, e.rate, peak, v2Durable))
	})
}

// numPending is the backlog of the durable: what KEDA's trigger and the
// consumers' orders_consumer_pending_messages report.
func numPending(ctx context.Context, js natsjs.JetStream, durable string) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := js.Consumer(ctx, names.Stream, durable)
	if err != nil {
		return 0, err
	}
	return c.CachedInfo().NumPending, nil
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
