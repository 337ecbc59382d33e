//go:build chaos

package chaos

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
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
func partition(t *testing.T, b bins, row *row) {
	r := newRig(t, b, 1)
	px := startProxy(t, strings.TrimPrefix(r.nodes[0].url, "nats://"))
	c1 := r.consumer("c1", "nats://"+px.Listen)
	r.consumer("c2", "")
	r.producer("p1")
	r.waitRecorded(50)

	t.Log("partition c1 from NATS")
	blackhole := []string{"blackhole-up", "blackhole-down"}
	addToxic(t, px, blackhole[0], "timeout", "upstream", `{"timeout":0}`)
	addToxic(t, px, blackhole[1], "timeout", "downstream", `{"timeout":0}`)
	<-time.After(partitionFor) // the fault's length
	removeToxics(t, px, blackhole...)
	r.healed(row, time.Now())

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
func startProxy(t *testing.T, upstream string) *toxiproxy.Proxy {
	t.Helper()
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	px := toxiproxy.NewProxy(srv, "c1-nats", "127.0.0.1:0", upstream)
	if err := px.Start(); err != nil {
		t.Fatalf("start proxy: %v", err)
	}
	t.Cleanup(px.Stop)
	return px
}

func addToxic(t *testing.T, px *toxiproxy.Proxy, name, kind, stream, attributes string) {
	t.Helper()
	js := fmt.Sprintf(`{"name":%q,"type":%q,"stream":%q,"attributes":%s}`, name, kind, stream, attributes)
	if _, err := px.Toxics.AddToxicJson(strings.NewReader(js)); err != nil {
		t.Fatalf("toxic %s: %v", name, err)
	}
}

func removeToxics(t *testing.T, px *toxiproxy.Proxy, names ...string) {
	t.Helper()
	for _, name := range names {
		if err := px.Toxics.RemoveToxic(context.Background(), name); err != nil {
			t.Fatalf("remove toxic %s: %v", name, err)
		}
	}
}
