//go:build e2e

package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/distsys-go/orders/internal/testkit"
)

// natsServers is the clustered scenario's NATS size (nats.cluster.replicas).
const natsServers = 3

// clustered: three NATS servers on the chart's defaults (TLS for clients
// and routes, an identity per side), R3 stream and ledger; crash the
// stream leader, delete the ledger leader's pod, roll every server while
// the consumers scale 2 -> 5 -> 2, renew the server certificate while
// orders flow.
func clustered(r *scenario) {
	t, e, ctx := r.t, r.e, r.ctx
	consumerDeploy := "deploy/" + e.release + "-consumer"

	// 1. install; helm test; stream and ledger R3, each with a leader and
	// two current replicas.
	r.install("--set", "nats.cluster.enabled=true")
	r.conn = e.connectNATS(t, natsServers, e.releaseCreds(t))
	r.step("1 stream and ledger R3: a leader, two current replicas", func() {
		waitR3(t, r.conn.js, "after install")
		waitFlowing(t, r.conn.js, "after install")
	})
	consumers := 2 // the chart's consumer.replicaCount

	// 2a. crash the ORDERS leader's server: the container restarts in place.
	r.disrupt("2a crash the "+names.Stream+" leader's nats-server (SIGQUIT)", consumers, func() string {
		leader := waitR3(t, r.conn.js, "before the crash")[names.Stream]
		before := restarts(t, e, leader)
		t.Logf("crashing %s (restarts %d)", leader, before)
		// By the pid in nats-server's pid file, not PID 1: with the
		// certificate reloader the pod shares one process namespace, whose
		// PID 1 is the pause process. The Go runtime's default for
		// SIGQUIT is a crash (goroutine dump, exit 2, no shutdown).
		r.inject()
		e.mustKC(t, ctx, "exec", leader, "-c", "nats", "--", "sh", "-c", `kill -QUIT "$(cat /var/run/nats/nats.pid)"`)
		testkit.Eventually(t, leader+" restarted in place and ready", stepTimeout, func() (bool, string) {
			n, last, ready := containerState(e, leader)
			return n > before && ready, fmt.Sprintf("restarts %d, last exit %s, ready %v", n, last, ready)
		}, testkit.Every(time.Second), testkit.Verbose())
		_, exit, _ := containerState(e, leader)
		// The election after a crash may pick the crashed server again
		// once it is back (a restart in place can beat the followers'
		// election timeout): a leader with two current replicas is what
		// counts, not which server it is.
		newLeader := waitR3(t, r.conn.js, "after the crash")[names.Stream]
		waitFlowing(t, r.conn.js, "after the crash")
		return fmt.Sprintf("%s exited (%s), restarted in place; leader now %s", leader, exit, newLeader)
	})

	// 2b. delete the ledger leader's pod the normal way (SIGTERM, lame duck).
	r.plannedExit("2b delete the ledger leader's pod (kubectl delete pod)", consumers, func() string {
		leader := waitR3(t, r.conn.js, "before the delete")["KV_"+names.Bucket]
		old := e.mustPods(t, ctx, "nats")
		t.Logf("deleting pod %s", leader)
		r.inject()
		e.mustKC(t, ctx, "delete", "pod", leader, "--wait=false")
		newLeader := waitNewLeader(t, r.conn.js, "KV_"+names.Bucket, leader)
		waitReplaced(t, e, old)
		waitR3(t, r.conn.js, "after the delete")
		waitFlowing(t, r.conn.js, "after the delete")
		return fmt.Sprintf("%s deleted (lame duck), recreated; new leader %s", leader, newLeader)
	})

	// 2c. evict the stream leader's pod, as kubectl drain does (the
	// Eviction API, which the NATS PodDisruptionBudget allows one at a
	// time): lame duck too.
	r.plannedExit("2c evict the "+names.Stream+" leader's pod (Eviction API, as kubectl drain)", consumers, func() string {
		leader := waitR3(t, r.conn.js, "before the eviction")[names.Stream]
		old := e.mustPods(t, ctx, "nats")
		eviction := filepath.Join(t.TempDir(), "eviction.json")
		body := fmt.Sprintf(`{"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":%q,"namespace":%q}}`, leader, e.namespace)
		if err := os.WriteFile(eviction, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		t.Logf("evicting pod %s", leader)
		r.inject()
		e.mustKC(t, ctx, "create", "--raw", "/api/v1/namespaces/"+e.namespace+"/pods/"+leader+"/eviction", "-f", eviction)
		newLeader := waitNewLeader(t, r.conn.js, names.Stream, leader)
		waitReplaced(t, e, old)
		waitR3(t, r.conn.js, "after the eviction")
		waitFlowing(t, r.conn.js, "after the eviction")
		return fmt.Sprintf("%s evicted (lame duck), recreated; new leader %s", leader, newLeader)
	})

	// 3. roll every server (lame duck, one at a time) while the consumers
	// scale 2 -> 5 -> 2: what a helm upgrade that changes the NATS pods
	// does too.
	r.plannedExit(fmt.Sprintf("3 rollout restart NATS, consumers 2 -> %d -> 2", e.consumers), consumers, func() string {
		e.mustKC(t, ctx, "rollout", "restart", "statefulset/"+e.release+"-nats")
		e.mustKC(t, ctx, "scale", consumerDeploy, fmt.Sprintf("--replicas=%d", e.consumers))
		waitConsumersProcessing(t, e, r.scr, e.consumers, "scaled up during the NATS rollout")
		e.mustKC(t, ctx, "scale", consumerDeploy, fmt.Sprintf("--replicas=%d", consumers))
		e.mustKC(t, ctx, "rollout", "status", "statefulset/"+e.release+"-nats", "--timeout=10m")
		waitR3(t, r.conn.js, "after the rollout")
		waitFlowing(t, r.conn.js, "after the rollout")
		return "kubectl rollout restart statefulset, highest ordinal first"
	})

	// 4. a new server certificate, taken up by every server without a
	// restart.
	rotateServerCert(r, natsServers, consumers)

	// 5. drain and audit, with every server back and current.
	r.drain(consumers)
	r.step("settle: stream and ledger R3 and current", func() { waitR3(t, r.conn.js, "before the audit") })
}

// waitR3 waits until the stream and the ledger bucket's stream are each
// R3 with a leader and two current, online replicas, and returns their
// leaders by stream.
func waitR3(t *testing.T, js natsjs.JetStream, when string) map[string]string {
	t.Helper()
	leaders := map[string]string{}
	testkit.Eventually(t, "stream and ledger R3 with a leader and two current replicas "+when, stepTimeout, func() (bool, string) {
		var seen []string
		ok := true
		for _, name := range []string{names.Stream, "KV_" + names.Bucket} {
			info, err := streamInfo(js, name)
			if err != nil {
				return false, err.Error()
			}
			state, healthy := r3(info)
			ok = ok && healthy
			seen = append(seen, name+": "+state)
			if healthy {
				leaders[name] = info.Cluster.Leader
			}
		}
		return ok, strings.Join(seen, "; ")
	}, testkit.Every(time.Second), testkit.Verbose())
	return leaders
}

// r3 says whether info is an R3 stream with a leader and two current,
// online replicas, and describes it.
func r3(info *natsjs.StreamInfo) (string, bool) {
	if info.Cluster == nil {
		return fmt.Sprintf("R%d, no cluster info", info.Config.Replicas), false
	}
	current := 0
	var peers []string
	for _, p := range info.Cluster.Replicas {
		state := "current"
		switch {
		case p.Offline:
			state = "offline"
		case !p.Current:
			state = fmt.Sprintf("behind by %d", p.Lag)
		default:
			current++
		}
		peers = append(peers, p.Name+" "+state)
	}
	desc := fmt.Sprintf("R%d, leader %q, replicas [%s]", info.Config.Replicas, info.Cluster.Leader, strings.Join(peers, ", "))
	return desc, info.Config.Replicas == natsServers && info.Cluster.Leader != "" && current == natsServers-1
}

// waitNewLeader waits until stream has a leader other than old.
func waitNewLeader(t *testing.T, js natsjs.JetStream, stream, old string) string {
	t.Helper()
	var leader string
	testkit.Eventually(t, stream+" led by a server other than "+old, stepTimeout, func() (bool, string) {
		info, err := streamInfo(js, stream)
		if err != nil {
			return false, err.Error()
		}
		if info.Cluster == nil {
			return false, "no cluster info"
		}
		leader = info.Cluster.Leader
		return leader != "" && leader != old, fmt.Sprintf("leader %q", leader)
	}, testkit.Every(500*time.Millisecond), testkit.Verbose())
	return leader
}

// containerState returns the nats container's restarts, how it last
// exited, and whether the pod is ready. By name: the pod has the
// certificate reloader beside it, and the kubelet lists container
// statuses sorted by name, not in the spec's order.
func containerState(e env, podName string) (restarts int, lastExit string, ready bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := e.kc(ctx, "--request-timeout=10s", "get", "pod", podName, "-o",
		`jsonpath={.status.containerStatuses[?(@.name=="nats")].restartCount} {.status.containerStatuses[?(@.name=="nats")].lastState.terminated.exitCode}/{.status.containerStatuses[?(@.name=="nats")].lastState.terminated.reason} {.status.conditions[?(@.type=="Ready")].status}`)
	if err != nil {
		return 0, err.Error(), false
	}
	var code, cond string
	_, _ = fmt.Sscan(out, &restarts, &code, &cond)
	return restarts, "exit code " + code, cond == "True"
}

func restarts(t *testing.T, e env, podName string) int {
	t.Helper()
	n, _, _ := containerState(e, podName)
	return n
}

func randomHex(t *testing.T) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
