package natstest

import (
	"fmt"
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Cluster is a JetStream cluster of in-process servers.
type Cluster struct {
	Servers []*Server
}

// RunCluster starts n routed servers with JetStream, each with its own
// store, and waits until they elected a JetStream meta leader. Every
// server routes to the first one (the seed), which gossips the others, so
// only the seed's route port must be known before it starts.
func RunCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	c := &Cluster{}
	seedPort := FreePort(t)
	seed := []*url.URL{{Scheme: "nats-route", Host: fmt.Sprintf("127.0.0.1:%d", seedPort)}}
	for i := range n {
		opts := options(t)
		opts.ServerName = fmt.Sprintf("n%d", i+1)
		opts.Cluster = server.ClusterOpts{Name: "natstest", Host: "127.0.0.1", Port: server.RANDOM_PORT}
		if i == 0 {
			opts.Cluster.Port = seedPort
		}
		opts.Routes = seed
		s := &Server{opts: opts}
		s.start(t)
		// Later starts reuse the ports, as a restarted pod keeps its address.
		opts.Port = s.Addr().(*net.TCPAddr).Port
		opts.Cluster.Port = s.ClusterAddr().Port
		c.Servers = append(c.Servers, s)
	}
	c.waitForMetaLeader(t)
	return c
}

// waitForMetaLeader waits until one server leads JetStream with all n
// peers and every server is current.
func (c *Cluster) waitForMetaLeader(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !c.formed() {
		if time.Now().After(deadline) {
			t.Fatal("jetstream cluster did not elect a meta leader")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (c *Cluster) formed() bool {
	leaders := 0
	for _, s := range c.Servers {
		if !s.JetStreamIsCurrent() {
			return false
		}
		// Only the leader lists the peers.
		if s.JetStreamIsLeader() && len(s.JetStreamClusterPeers()) == len(c.Servers) {
			leaders++
		}
	}
	return leaders == 1
}

// ConsumerLeader returns the server leading the consumer, or nil while
// it has none.
func (c *Cluster) ConsumerLeader(stream, consumer string) *Server {
	for _, s := range c.Servers {
		if s.Running() && s.JetStreamIsConsumerLeader(server.DEFAULT_GLOBAL_ACCOUNT, stream, consumer) {
			return s
		}
	}
	return nil
}
