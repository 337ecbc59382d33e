//go:build chaos

package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/distsys-go/orders/internal/testkit"
)

// killStorm: three consumers, one SIGKILLed at random every few seconds and
// restarted at once (as a Deployment would), and the producer SIGKILLed and
// restarted once in the middle.
func killStorm(t *faultT, b bins, row *row) {
	r := newRig(t, b, 1)
	consumers := []*testkit.Proc{r.consumer("c1", ""), r.consumer("c2", ""), r.consumer("c3", "")}
	prod := r.producer("p1")
	r.waitRecorded(50)
	const kills = 6
	storm := time.NewTicker(3 * time.Second) // the storm's rhythm, not a wait for an event
	defer storm.Stop()
	for i := range kills {
		<-storm.C
		c := consumers[rand.IntN(len(consumers))]
		t.Logf("SIGKILL %s, restart it", c.Name)
		c.Kill(t)
		c.Restart(t)
		if i == kills/2 {
			t.Logf("SIGKILL %s, restart it", prod.Name)
			prod.Kill(t)
			prod.Restart(t)
		}
	}
	r.healed(row, time.Now())
	r.audit(row, nil, true)
}

// natsCrash: the only NATS server SIGKILLed and restarted on the same port
// and store while orders flow.
func natsCrash(t *faultT, b bins, row *row) {
	r := newRig(t, b, 1)
	r.consumer("c1", "")
	r.consumer("c2", "")
	r.producer("p1")
	r.waitRecorded(50)
	n := r.nodes[0]
	n.Kill(t)
	n.Restart(t)
	heal := time.Now()
	n.waitHealthy(t)
	r.healed(row, heal)
	r.audit(row, nil, false)
}

// frozenConsumer: a consumer SIGSTOPped for two ack waits, so its orders in
// hand are redelivered to the other one, then SIGCONTed: it must neither
// process them a second time nor stay stuck.
func frozenConsumer(t *faultT, b bins, row *row) {
	r := newRig(t, b, 1)
	c1 := r.consumer("c1", "")
	c2 := r.consumer("c2", "")
	r.producer("p1")
	r.waitRecorded(50)
	c1.Pause(t)
	<-time.After(2 * ackWait) // the fault's length
	// What c1 held when it froze came back, after the ack wait, to c2: not
	// a pause that happened to catch c1 with nothing in hand.
	testkit.Eventually(t, "c2 processes an order c1 held (deliveries ≥ 2)", testkit.Bound, func() (bool, string) {
		recs := c2.Logged("received order")
		for _, rec := range recs {
			if d, _ := rec["deliveries"].(float64); d >= 2 {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d orders received by c2, none redelivered", len(recs))
	})
	c1.Resume(t)
	r.healed(row, time.Now())
	r.audit(row, nil, false)
}

// clusterLeaders: a 3-node cluster, the stream and the ledger on 3
// replicas. SIGKILLed and restarted in turn: the stream's leader, the
// durable consumer's leader (with consumer c1 killed and restarted at the
// same moment, so it starts while its durable may have no leader), and the
// ledger's leader.
func clusterLeaders(t *faultT, b bins, row *row) {
	r := newRig(t, b, 3, "STREAM_REPLICAS=3", "DEDUP_REPLICAS=3")
	c1 := r.consumer("c1", "")
	r.consumer("c2", "")
	r.producer("p1")
	r.waitRecorded(50)
	assets := r.assets()
	targets := []struct {
		what      string
		cluster   func(context.Context) (*jetstream.ClusterInfo, error)
		restartC1 bool
	}{
		{assets[0].name, r.streamCluster(r.names.Stream), false},
		{assets[1].name, r.durableCluster(), true},
		{assets[2].name, r.streamCluster("KV_" + r.names.Bucket), false},
	}
	for _, tg := range targets {
		old := r.leader(tg.what, tg.cluster, "")
		n := byName(r.nodes, old)
		t.Logf("SIGKILL %s, the leader of %s", n.Name, tg.what)
		f := failover{what: tg.what, killed: time.Now()}
		n.Kill(t)
		if tg.restartC1 {
			t.Logf("SIGKILL %s during the failover, restart it", c1.Name)
			c1.Kill(t)
			c1.Restart(t)
		}
		r.leader(tg.what, tg.cluster, old)
		r.measureFailover(&f)
		row.failovers = append(row.failovers, f)
		n.Restart(t)
		n.waitHealthy(t)
	}
	r.healed(row, time.Now())
	r.audit(row, nil, false)
}

func (r *rig) streamCluster(name string) func(context.Context) (*jetstream.ClusterInfo, error) {
	return func(ctx context.Context) (*jetstream.ClusterInfo, error) {
		s, err := r.js.Stream(ctx, name)
		if err != nil {
			return nil, err
		}
		return s.CachedInfo().Cluster, nil
	}
}

func (r *rig) durableCluster() func(context.Context) (*jetstream.ClusterInfo, error) {
	return func(ctx context.Context) (*jetstream.ClusterInfo, error) {
		c, err := r.js.Consumer(ctx, r.names.Stream, r.names.Durable)
		if err != nil {
			return nil, err
		}
		return c.CachedInfo().Cluster, nil
	}
}

// leader waits until what has a leader other than not, and names it.
func (r *rig) leader(what string, cluster func(context.Context) (*jetstream.ClusterInfo, error), not string) string {
	r.t.Helper()
	var name string
	testkit.Eventually(r.t, fmt.Sprintf("%s led by a server other than %q", what, not), testkit.Bound, func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		ci, err := cluster(ctx)
		if err != nil {
			return false, err.Error()
		}
		if ci != nil {
			name = ci.Leader
		}
		return name != "" && name != not && byName(r.nodes, name) != nil, fmt.Sprintf("leader %q", name)
	}, testkit.Every(100*time.Millisecond))
	return name
}
