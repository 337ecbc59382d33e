//go:build chaos

package chaos

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/Shopify/toxiproxy/v2/toxics"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/distsys-go/orders/internal/testkit"
)

// partitionFor is how long the partition lasts: ten ack waits, so the other
// consumer takes the cut-off one's orders over long before it heals.
const partitionFor = 20 * time.Second

// partition: consumer c1 reaches NATS only through a TCP proxy. The proxy
// black-holes both directions for 20s (the connection stays open and
// silent, as in a real partition), then passes traffic again, then adds
// 50ms of latency each way while orders flow.
func partition(t *faultT, b bins, row *row) {
	r := newRig(t, b, 1)
	px := startProxy(t, strings.TrimPrefix(r.nodes[0].url, "nats://"))
	c1 := r.consumer("c1", "nats://"+px.Listen)
	r.consumer("c2", "")
	r.producer("p1")
	r.waitRecorded(50)

	t.Log("partition c1 from NATS")
	// Counting toxics before the blackhole and after it: what was offered
	// to the cut, and what got through it.
	counters := []string{"offered-up", "offered-down", "blackhole-up", "blackhole-down", "passed-up", "passed-down"}
	addToxic(t, px, "offered-up", "count", "upstream", `{}`)
	addToxic(t, px, "offered-down", "count", "downstream", `{}`)
	addToxic(t, px, "blackhole-up", "timeout", "upstream", `{"timeout":0}`)
	addToxic(t, px, "blackhole-down", "timeout", "downstream", `{"timeout":0}`)
	addToxic(t, px, "passed-up", "count", "upstream", `{}`)
	addToxic(t, px, "passed-down", "count", "downstream", `{}`)
	at := func() (up, down linkBytes) {
		return linkBytes{counted(t, px, "offered-up"), counted(t, px, "passed-up")},
			linkBytes{counted(t, px, "offered-down"), counted(t, px, "passed-down")}
	}
	up0, down0 := at()
	<-time.After(partitionFor) // the fault's length
	up1, down1 := at()
	removeToxics(t, px, counters...)
	r.healed(row, time.Now())
	up := linkBytes{up1.offered - up0.offered, up1.passed - up0.passed}
	down := linkBytes{down1.offered - down0.offered, down1.passed - down0.passed}
	t.Logf("during the partition: upstream %d bytes offered, %d through; downstream %d offered, %d through", up.offered, up.passed, down.offered, down.passed)
	if err := partitionCut(up, down); err != nil {
		t.Error(err)
	}

	t.Log("50ms latency each way between c1 and NATS")
	latency := []string{"latency-up", "latency-down"}
	addToxic(t, px, latency[0], "latency", "upstream", `{"latency":50}`)
	addToxic(t, px, latency[1], "latency", "downstream", `{"latency":50}`)
	slowFrom := len(c1.Logged("received order"))
	testkit.Eventually(t, "c1 receives 20 orders over the slow link", testkit.Bound, func() (bool, string) {
		n := len(c1.Logged("received order")) - slowFrom
		return n >= 20, fmt.Sprintf("%d received", n)
	})
	removeToxics(t, px, latency...)
	r.audit(row, nil, false)
}

// startProxy runs a toxiproxy proxy in-process to upstream, on a random
// local port (its Listen field), stopped when t ends.
func startProxy(t *faultT, upstream string) *toxiproxy.Proxy {
	t.Helper()
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	px := toxiproxy.NewProxy(srv, "c1-nats", "127.0.0.1:0", upstream)
	if err := px.Start(); err != nil {
		t.Fatalf("start proxy: %v", err)
	}
	t.Cleanup(px.Stop)
	return px
}

// countToxic passes every chunk on and counts its bytes: placed before a
// blackhole it counts what was offered to the cut, after it what got
// through. toxiproxy's own byte counters are only added to when a
// connection closes, too late for a partition that keeps it open.
type countToxic struct{ bytes atomic.Int64 }

func (c *countToxic) Pipe(stub *toxics.ToxicStub) {
	for {
		select {
		case <-stub.Interrupt:
			return
		case chunk := <-stub.Input:
			if chunk == nil {
				stub.Close()
				return
			}
			c.bytes.Add(int64(len(chunk.Data)))
			stub.Output <- chunk
		}
	}
}

func init() { toxics.Register("count", new(countToxic)) }

// counted is how many bytes the count toxic name passed on so far.
func counted(t *faultT, px *toxiproxy.Proxy, name string) int64 {
	t.Helper()
	w := px.Toxics.GetToxic(name)
	if w == nil {
		t.Fatalf("no toxic %s", name)
	}
	c, ok := w.Toxic.(*countToxic)
	if !ok {
		t.Fatalf("toxic %s is a %T, not a count", name, w.Toxic)
	}
	return c.bytes.Load()
}

func addToxic(t *faultT, px *toxiproxy.Proxy, name, kind, stream, attributes string) {
	t.Helper()
	js := fmt.Sprintf(`{"name":%q,"type":%q,"stream":%q,"attributes":%s}`, name, kind, stream, attributes)
	if _, err := px.Toxics.AddToxicJson(strings.NewReader(js)); err != nil {
		t.Fatalf("toxic %s: %v", name, err)
	}
}

func removeToxics(t *faultT, px *toxiproxy.Proxy, names ...string) {
	t.Helper()
	for _, name := range names {
		if err := px.Toxics.RemoveToxic(context.Background(), name); err != nil {
			t.Fatalf("remove toxic %s: %v", name, err)
		}
	}
}
