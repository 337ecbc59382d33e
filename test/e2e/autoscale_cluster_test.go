//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/distsys-go/orders/internal/testkit"
)

// autoscalingCluster: KEDA against three NATS servers. The chart points the
// scaler at the headless Service; with a cluster the scaler reads /varz
// there, then /jsz on <route host>.<Service> for each route until the
// server that leads the durable answers (docs/autoscaling.md). The scenario
// shows what each server's /jsz says next to what KEDA serves, moves the
// durable's leader, and checks KEDA still scales on the leader's numbers.
func autoscalingCluster(r *scenario) {
	t, e := r.t, r.e
	r.install(append(kedaValues(), "--set", "nats.cluster.enabled=true")...)
	r.conn = e.connectNATS(t, natsServers, e.releaseCreds(t))
	rl := startReplicaLog(e, r.conn.js, 2*time.Second)
	t.Cleanup(rl.close)
	var jsz []string

	r.step("1 R3, ScaledObject ready, consumers at the minimum", func() {
		waitR3(t, r.conn.js, "after install")
		waitScaledObjectReady(r)
		waitReplicas(r, rl, asMin, stepTimeout)
	})
	r.step(fmt.Sprintf("2 burst %d orders/s: KEDA reads the leader's lag, consumers to %d", asBurstRate, asMax), func() {
		setRate(r, rl, asBurstRate)
		waitReplicas(r, rl, asMax, asScaleUpBound)
		jsz = append(jsz, e.jszTable(t, "during the burst").String())
	})
	r.step("3 consumer leader steps down; KEDA follows the new leader", func() {
		old := e.jszLeader(t)
		resp, err := r.conn.nc.Request(fmt.Sprintf("$JS.API.CONSUMER.LEADER.STEPDOWN.%s.%s", names.Stream, names.Durable), nil, 10*time.Second)
		if err != nil {
			t.Fatalf("consumer leader stepdown: %v", err)
		}
		t.Logf("stepdown: %s", resp.Data)
		testkit.Eventually(t, "a new consumer leader", stepTimeout, func() (bool, string) {
			l := e.jszLeader(t)
			return l != "" && l != old, "leader " + l
		}, testkit.Every(time.Second))
		rl.mark("consumer leader " + old + " stepped down, now " + e.jszLeader(t))
		waitKEDAReads(r, rl, time.Now())
		jsz = append(jsz, e.jszTable(t, "after the stepdown").String())
	})
	r.step(fmt.Sprintf("4 rate drops to %d orders/s", asQuietRate), func() {
		setRate(r, rl, asQuietRate)
		waitFlowing(t, r.conn.js, "after the rate drop")
	})
	r.drain(-1)
	r.step("settle: stream and ledger R3 and current", func() { waitR3(t, r.conn.js, "before the audit") })
	rl.close()
	r.extra = rl.table(r.name+": consumer replicas over time").String() + strings.Join(jsz, "")
}

// waitKEDAReads waits for a sample after since in which KEDA served the
// durable's leader's lag, as kedaReadsLeader decides: the scaler found
// the consumer's leader again.
func waitKEDAReads(r *scenario, rl *replicaLog, since time.Time) {
	testkit.Eventually(r.t, "KEDA serves the leader's lag again", stepTimeout, func() (bool, string) {
		s := rl.last()
		keda, err := quantity(s.kedaLag)
		if !s.at.After(since) || err != nil || s.err != "" {
			return false, fmt.Sprintf("no reading yet: KEDA lag %s (%v), errors %q", s.kedaLag, err, s.err)
		}
		return kedaReadsLeader(keda, s.lag, s.pending)
	}, testkit.Every(time.Second), testkit.Verbose())
}

// jszConsumer is what one server's /jsz says of the durable.
type jszConsumer struct {
	server, leader         string
	pending, ackPending    int
	delivered, ackFloorSeq uint64
}

// jsz reads /jsz?acc=$G&consumers=true of NATS pod i through the API
// server's pod proxy: the request the scaler makes, from outside.
func (e env) jsz(ctx context.Context, i int) (jszConsumer, error) {
	pod := fmt.Sprintf("%s-nats-%d", e.release, i)
	q := url.Values{"acc": {"$G"}, "consumers": {"true"}, "config": {"true"}}
	out, err := e.get(ctx, e.nsPath("v1", "pods/"+pod+":8222/proxy/jsz", "")+"?"+q.Encode())
	if err != nil {
		return jszConsumer{}, err
	}
	var resp struct {
		Accounts []struct {
			Streams []struct {
				Name      string
				Consumers []struct {
					Name          string
					NumPending    int `json:"num_pending"`
					NumAckPending int `json:"num_ack_pending"`
					Delivered     struct {
						StreamSeq uint64 `json:"stream_seq"`
					}
					AckFloor struct {
						StreamSeq uint64 `json:"stream_seq"`
					} `json:"ack_floor"`
					Cluster struct{ Leader string }
				} `json:"consumer_detail"`
			} `json:"stream_detail"`
		} `json:"account_details"`
	}
	if err := json.Unmarshal([]byte(out), &resp); err != nil {
		return jszConsumer{}, fmt.Errorf("decode /jsz of %s: %w", pod, err)
	}
	c := jszConsumer{server: pod} // /jsz names no server; the chart names each after its pod
	for _, a := range resp.Accounts {
		for _, s := range a.Streams {
			for _, d := range s.Consumers {
				if s.Name == names.Stream && d.Name == names.Durable {
					c.leader, c.pending, c.ackPending = d.Cluster.Leader, d.NumPending, d.NumAckPending
					c.delivered, c.ackFloorSeq = d.Delivered.StreamSeq, d.AckFloor.StreamSeq
				}
			}
		}
	}
	return c, nil
}

// jszLeader is the durable's leader as server 0 reports it.
func (e env) jszLeader(t *testing.T) string {
	c, err := e.jsz(context.Background(), 0)
	if err != nil {
		t.Logf("jsz: %v", err)
	}
	return c.leader
}

// jszTable puts each server's view of the durable next to the others'.
func (e env) jszTable(t *testing.T, when string) *testkit.Table {
	tb := &testkit.Table{Title: "each server's /jsz for " + names.Durable + " " + when,
		Header: []string{"server", "leader", "num_pending", "num_ack_pending", "lag (KEDA's sum)", "delivered seq", "ack floor seq"},
		Notes:  []string{"read one server after the other through the API server's pod proxy (a second or so apart)"}}
	for i := range natsServers {
		c, err := e.jsz(context.Background(), i)
		if err != nil {
			tb.Add(fmt.Sprintf("%s-nats-%d", e.release, i), "error: "+err.Error(), "", "", "", "", "")
			continue
		}
		tb.Add(c.server, c.leader == c.server, c.pending, c.ackPending, c.pending+c.ackPending,
			strconv.FormatUint(c.delivered, 10), strconv.FormatUint(c.ackFloorSeq, 10))
	}
	return tb
}
