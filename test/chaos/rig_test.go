//go:build chaos

package chaos

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/distsys-go/orders/internal/testkit"
	"github.com/distsys-go/orders/test/audit"
)

// Settings every fault shares. A short ack wait makes a dead or frozen
// consumer's orders come back in seconds, so a fault heals within the run.
const (
	ackWait     = 2 * time.Second
	publishRate = "50" // orders per second and producer
	drainBound  = 2 * time.Minute
)

// bins are the binaries make chaos built: CHAOS_BIN, else the repository's
// bin folder.
type bins struct{ producer, consumer, natsServer string }

func findBins(t *testing.T) bins {
	t.Helper()
	dir := os.Getenv("CHAOS_BIN")
	if dir == "" {
		dir = filepath.Join("..", "..", "bin")
	}
	b := bins{filepath.Join(dir, "producer"), filepath.Join(dir, "consumer"), filepath.Join(dir, "nats-server")}
	for _, p := range []string{b.producer, b.consumer, b.natsServer} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%v: run the suite through make chaos, which builds it", err)
		}
	}
	return b
}

// rig is one fault's pipeline: its NATS servers, the services, and a
// connection of the test's own that audits through NATS.
type rig struct {
	t         *faultT
	bins      bins
	nodes     []*natsNode
	js        jetstream.JetStream
	names     audit.Names
	producers []*testkit.Proc
	consumers []*testkit.Proc
	svcEnv    []string // settings every service gets (replicas on a cluster)
}

func newRig(t *faultT, b bins, natsNodes int, svcEnv ...string) *rig {
	t.Helper()
	r := &rig{t: t, bins: b, nodes: startNATS(t, b, natsNodes), names: audit.ChartNames(), svcEnv: svcEnv}
	nc, err := nats.Connect(clientURLs(r.nodes), nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	if err != nil {
		t.Fatalf("audit connection: %v", err)
	}
	t.Cleanup(nc.Close)
	if r.js, err = jetstream.New(nc); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *rig) env(natsURL, instance string, extra ...string) []string {
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"NATS_URL=" + natsURL,
		"HTTP_ADDR=127.0.0.1:0",
		"INSTANCE=" + instance,
		"NATS_RECONNECT_WAIT=100ms",
		"SHUTDOWN_GRACE=5s",
	}
	return append(append(env, r.svcEnv...), extra...)
}

// consumer starts a consumer connected to natsURL ("" for every node).
func (r *rig) consumer(instance, natsURL string, extra ...string) *testkit.Proc {
	r.t.Helper()
	if natsURL == "" {
		natsURL = clientURLs(r.nodes)
	}
	env := r.env(natsURL, instance, append([]string{"ACK_WAIT=" + ackWait.String()}, extra...)...)
	c := testkit.Start(r.t, r.bins.consumer, env, testkit.Name(instance))
	r.consumers = append(r.consumers, c)
	return c
}

// producer starts a producer publishing until stopped.
func (r *rig) producer(instance string) *testkit.Proc {
	r.t.Helper()
	p := testkit.Start(r.t, r.bins.producer, r.env(clientURLs(r.nodes), instance, "PUBLISH_RATE="+publishRate), testkit.Name(instance))
	r.producers = append(r.producers, p)
	return p
}

// ledgerKeys lists the ledger's keys; nil while NATS does not answer.
func (r *rig) ledgerKeys() (map[string]bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	kv, err := r.js.KeyValue(ctx, r.names.Bucket)
	if err != nil {
		return nil, err
	}
	lister, err := kv.ListKeys(ctx)
	if err != nil {
		return nil, err
	}
	keys := map[string]bool{}
	for k := range lister.Keys() {
		keys[k] = true
	}
	return keys, nil
}

// waitRecorded waits until the ledger holds at least n keys: orders flow.
func (r *rig) waitRecorded(n int) {
	r.t.Helper()
	testkit.Eventually(r.t, fmt.Sprintf("at least %d orders in the ledger", n), testkit.Bound, func() (bool, string) {
		keys, err := r.ledgerKeys()
		if err != nil {
			return false, err.Error()
		}
		return len(keys) >= n, fmt.Sprintf("%d keys", len(keys))
	}, testkit.Every(100*time.Millisecond))
}

// caughtUp waits until every order the producers acknowledged before heal
// is in the ledger, and one acknowledged after it too, and returns how long
// after heal that was: the time the pipeline took to recover from the
// fault. It reports a timeout as an error and returns 0, so the audit still
// runs.
func (r *rig) caughtUp(heal time.Time) time.Duration {
	r.t.Helper()
	var before []string
	for _, p := range r.producers {
		for _, rec := range p.Logged("published order") {
			if rec.Time().Before(heal) {
				before = append(before, rec.String("order_id"))
			}
		}
	}
	err := testkit.Await(r.t, fmt.Sprintf("the %d orders acknowledged before the fault healed, and a later one, in the ledger", len(before)), drainBound, func() (bool, string) {
		keys, err := r.ledgerKeys()
		if err != nil {
			return false, err.Error()
		}
		missing := 0
		for _, id := range before {
			if !keys[id] {
				missing++
			}
		}
		later := 0
		for _, p := range r.producers {
			for _, rec := range p.Logged("published order") {
				if !rec.Time().Before(heal) && keys[rec.String("order_id")] {
					later++
				}
			}
		}
		return missing == 0 && later > 0, fmt.Sprintf("%d of the earlier orders missing, %d later ones recorded", missing, later)
	}, testkit.Every(250*time.Millisecond))
	if err != nil {
		r.t.Error(err)
		return 0
	}
	return time.Since(heal)
}

// backAtWork waits until every running consumer has received an order
// after heal, and returns the longest wait. A consumer that reports ready
// but sits idle while orders wait breaks the readiness contract; within
// ten ack waits it is back or the fault fails.
func (r *rig) backAtWork(heal time.Time) time.Duration {
	r.t.Helper()
	var longest time.Duration
	for _, c := range r.consumers {
		if c.Exited() {
			continue
		}
		var first time.Time
		err := testkit.Await(r.t, c.Name+" receives an order after the fault", 10*ackWait, func() (bool, string) {
			recs := c.Logged("received order")
			for i := len(recs) - 1; i >= 0 && recs[i].Time().After(heal); i-- {
				first = recs[i].Time()
			}
			return !first.IsZero(), fmt.Sprintf("%d orders received in all, none after the fault; readyz %d", len(recs), testkit.Status(c.Addr(r.t), "/readyz"))
		}, testkit.Every(100*time.Millisecond))
		if err != nil {
			r.t.Error(err)
			continue
		}
		longest = max(longest, first.Sub(heal))
	}
	return longest
}

// drain stops the producers (SIGTERM) and waits until the durable consumer
// has nothing pending or unacknowledged; a timeout is an error, and the
// audit goes on.
func (r *rig) drain() {
	r.t.Helper()
	for _, p := range r.producers {
		if !p.Exited() {
			if code := p.Terminate(r.t); code != 0 {
				r.t.Errorf("%s exit %d after SIGTERM: %s", p.Name, code, p.Stderr())
			}
		}
	}
	err := testkit.Await(r.t, "the durable drained: num_pending 0, num_ack_pending 0", drainBound, func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, err := r.js.Consumer(ctx, r.names.Stream, r.names.Durable)
		if err != nil {
			return false, err.Error()
		}
		i, err := c.Info(ctx)
		if err != nil {
			return false, err.Error()
		}
		return i.NumPending == 0 && i.NumAckPending == 0, fmt.Sprintf("num_pending %d, num_ack_pending %d, redelivered %d", i.NumPending, i.NumAckPending, i.NumRedelivered)
	}, testkit.Every(250*time.Millisecond))
	if err != nil {
		r.t.Error(err)
	}
}

// healthy waits until every node's /healthz answers 200 and, on a cluster,
// every replica of the stream, the ledger and the durable is current; a
// lagging replica is an error, and the audit goes on.
func (r *rig) healthy() error {
	r.t.Helper()
	for _, n := range r.nodes {
		n.waitHealthy(r.t)
	}
	if len(r.nodes) == 1 {
		return nil
	}
	err := testkit.Await(r.t, "every replica current, none offline", testkit.Bound, func() (bool, string) {
		err := r.replicasCurrent()
		return err == nil, fmt.Sprint(err)
	}, testkit.Every(250*time.Millisecond))
	if err != nil {
		r.t.Error(err)
	}
	return err
}

var errReplica = errors.New("replica not healthy")

func (r *rig) replicasCurrent() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var clusters []*jetstream.ClusterInfo
	for _, name := range []string{r.names.Stream, "KV_" + r.names.Bucket} {
		s, err := r.js.Stream(ctx, name)
		if err != nil {
			return fmt.Errorf("stream %s: %w", name, err)
		}
		clusters = append(clusters, s.CachedInfo().Cluster)
	}
	c, err := r.js.Consumer(ctx, r.names.Stream, r.names.Durable)
	if err != nil {
		return fmt.Errorf("durable %s: %w", r.names.Durable, err)
	}
	clusters = append(clusters, c.CachedInfo().Cluster)
	for _, ci := range clusters {
		if ci == nil || ci.Leader == "" {
			return fmt.Errorf("%w: no leader (%+v)", errReplica, ci)
		}
		if len(ci.Replicas) != len(r.nodes)-1 {
			return fmt.Errorf("%w: %d followers, want %d", errReplica, len(ci.Replicas), len(r.nodes)-1)
		}
		for _, p := range ci.Replicas {
			if !p.Current || p.Offline {
				return fmt.Errorf("%w: %s current=%v offline=%v lag=%d", errReplica, p.Name, p.Current, p.Offline, p.Lag)
			}
		}
	}
	return nil
}

// longestGap is the longest pause between two acknowledged publishes of
// any producer: how long publishing stalled during the fault.
func longestGap(producers []*testkit.Proc) time.Duration {
	var at []time.Time
	for _, p := range producers {
		for _, rec := range p.Logged("published order") {
			at = append(at, rec.Time())
		}
	}
	slices.SortFunc(at, time.Time.Compare)
	var gap time.Duration
	for i := 1; i < len(at); i++ {
		gap = max(gap, at[i].Sub(at[i-1]))
	}
	return gap
}
