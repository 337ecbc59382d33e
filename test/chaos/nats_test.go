//go:build chaos

package chaos

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/distsys-go/orders/internal/natstest"
	"github.com/distsys-go/orders/internal/testkit"
)

// natsNode is one nats-server process. A restart keeps its name, ports and
// store, as a pod of a StatefulSet does.
type natsNode struct {
	*testkit.Proc
	name    string
	url     string // client URL
	monitor string // host:port of the monitoring endpoints (/healthz)
}

// startNATS runs n nats-server processes with JetStream, each with its own
// store under the test's temporary folder; more than one form a cluster.
func startNATS(t *faultT, b bins, n int) []*natsNode {
	t.Helper()
	// Client, monitoring and cluster port of each node, all distinct.
	ports := natstest.FreePorts(t, 3*n)
	var routes []string
	for i := range n {
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", ports[3*i+2]))
	}
	nodes := make([]*natsNode, n)
	for i := range nodes {
		name := fmt.Sprintf("n%d", i+1)
		port, mon := ports[3*i], ports[3*i+1]
		args := []string{"-n", name, "-a", "127.0.0.1", "-p", fmt.Sprint(port), "-m", fmt.Sprint(mon),
			"-js", "-sd", filepath.Join(t.TempDir(), name)}
		if n > 1 {
			args = append(args, "--cluster_name", "chaos", "--cluster", routes[i], "--routes", strings.Join(routes, ","))
		}
		nodes[i] = &natsNode{
			Proc:    testkit.Start(t, b.natsServer, nil, testkit.Args(args...), testkit.Name("nats-"+name)),
			name:    name,
			url:     fmt.Sprintf("nats://127.0.0.1:%d", port),
			monitor: fmt.Sprintf("127.0.0.1:%d", mon),
		}
	}
	for _, node := range nodes {
		node.waitHealthy(t)
	}
	return nodes
}

// waitHealthy waits until the node's /healthz answers 200: it accepts
// clients and, in a cluster, its JetStream assets are current.
func (n *natsNode) waitHealthy(t *faultT) {
	t.Helper()
	testkit.Eventually(t, n.Name+" /healthz 200", testkit.Bound, func() (bool, string) {
		code := testkit.Status(n.monitor, "/healthz")
		return code == http.StatusOK, fmt.Sprintf("status %d (0: no answer)", code)
	})
}

// clientURLs is what NATS_URL lists for a service: every node.
func clientURLs(nodes []*natsNode) string {
	urls := make([]string, len(nodes))
	for i, n := range nodes {
		urls[i] = n.url
	}
	return strings.Join(urls, ",")
}

// byName finds the node a stream's cluster info names as its leader.
func byName(nodes []*natsNode, name string) *natsNode {
	for _, n := range nodes {
		if n.name == name {
			return n
		}
	}
	return nil
}
