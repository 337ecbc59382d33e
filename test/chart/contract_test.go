package chart

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/distsys-go/orders/internal/natstest"
	"github.com/distsys-go/orders/internal/testkit"
)

// chartManaged are the variables the chart sets from its own keys (not from
// producer.env / consumer.env); notSet are the ones it deliberately leaves
// to the binary's default in the Deployments.
var (
	chartManaged = map[string][]string{
		"producer": {"DELIVERY_MODE", "SUBJECT", "SHUTDOWN_GRACE", "LOG_LEVEL", "HTTP_ADDR", "NATS_URL", "NATS_RECONNECT_WAIT",
			"NATS_USER", "NATS_PASSWORD", "STREAM_NAME", "STREAM_SUBJECTS", "STREAM_REPLICAS", "STREAM_MAX_AGE", "STREAM_MAX_BYTES", "STREAM_DUPLICATE_WINDOW", "DEDUP_BUCKET",
			"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SERVICE_NAME", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG"},
		"consumer": {"DELIVERY_MODE", "SUBJECT", "SHUTDOWN_GRACE", "LOG_LEVEL", "HTTP_ADDR", "NATS_URL", "NATS_RECONNECT_WAIT",
			"NATS_USER", "NATS_PASSWORD", "STREAM_NAME", "STREAM_SUBJECTS", "STREAM_REPLICAS", "STREAM_MAX_AGE", "STREAM_MAX_BYTES", "STREAM_DUPLICATE_WINDOW",
			"DEDUP_BUCKET", "QUEUE_GROUP", "DEAD_LETTER_SUBJECT", "DEDUP_TTL", "DEDUP_MAX_BYTES", "DEDUP_REPLICAS",
			"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SERVICE_NAME", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG"},
	}
	notSet = map[string][]string{
		"producer": {"INSTANCE", "PUBLISH_COUNT", "VERIFY_TIMEOUT"}, // the helm test Pod sets the last two
		"consumer": {"INSTANCE"},
	}
	// required must be set on every container: the binaries' defaults point
	// at 127.0.0.1 or are wrong in a cluster.
	required = []string{"NATS_URL", "DELIVERY_MODE", "SUBJECT", "SHUTDOWN_GRACE", "HTTP_ADDR", "STREAM_NAME", "STREAM_REPLICAS", "DEDUP_BUCKET"}
)

// TestEnvContract: every variable the chart sets on a container is one its
// binary reads (per the binary's -h), the required ones are always set, and
// every variable a binary reads is accounted for by the chart: set by it,
// settable through values.schema.json's env names, or deliberately left out.
func TestEnvContract(t *testing.T) {
	vars := map[string]map[string]string{"producer": binaryVars(t, "producer"), "consumer": binaryVars(t, "consumer")}

	var schema struct {
		Properties map[string]struct {
			Properties map[string]struct {
				PropertyNames struct{ Enum []string }
			}
		}
	}
	b, err := os.ReadFile(filepath.Join(chartDir(t), "values.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &schema); err != nil {
		t.Fatal(err)
	}
	for side, read := range vars {
		settable := schema.Properties[side].Properties["env"].PropertyNames.Enum
		if len(settable) == 0 {
			t.Fatalf("values.schema.json: %s.env has no propertyNames enum", side)
		}
		accounted := map[string]string{}
		for src, names := range map[string][]string{"chart": chartManaged[side], "schema env": settable, "not set": notSet[side]} {
			for _, n := range names {
				if _, ok := read[n]; !ok {
					t.Errorf("%s: %s lists %s, which bin/%s does not read", side, src, n, side)
				}
				if prev, dup := accounted[n]; dup && prev != src {
					t.Errorf("%s: %s is both %s and %s", side, n, prev, src)
				}
				accounted[n] = src
			}
		}
		for _, n := range sortedKeys(read) {
			if _, ok := accounted[n]; !ok {
				t.Errorf("bin/%s reads %s but the chart neither sets it nor allows %s.env.%s: decide and update the chart", side, n, side, n)
			}
		}
	}

	for _, c := range matrix() {
		objs := objects(t, mustRender(t, c.sets...))
		checks := map[string]string{ // object key → binary
			"Deployment/" + name("producer"):  "producer",
			"Deployment/" + name("consumer"):  "consumer",
			"Pod/" + name("test-orders-flow"): "producer",
		}
		for key, bin := range checks {
			kind, nm, _ := strings.Cut(key, "/")
			for _, ctr := range containers(mustFind(t, objs, kind, nm)) {
				env, _ := containerEnv(t, ctr)
				for _, n := range sortedKeys(env) {
					if _, ok := vars[bin][n]; !ok {
						t.Errorf("%s: %s sets %s, which bin/%s does not read", c.name, key, n, bin)
					}
				}
				for _, n := range required {
					if v, ok := env[n]; !ok || (v.value == "" && v.secret == "") {
						t.Errorf("%s: %s does not set required %s", c.name, key, n)
					}
				}
			}
		}
		// The values given in producer.env / consumer.env come through.
		for side, kv := range map[string][2]string{"producer": {"PUBLISH_INTERVAL", "2s"}, "consumer": {"CONCURRENCY", "256"}} {
			env, _ := containerEnv(t, containers(mustFind(t, objs, "Deployment", name(side)))[0])
			if env[kv[0]].value != kv[1] {
				t.Errorf("%s: %s %s = %q, want values.yaml's %q", c.name, side, kv[0], env[kv[0]].value, kv[1])
			}
		}
		test, _ := containerEnv(t, containers(mustFind(t, objs, "Pod", name("test-orders-flow")))[0])
		if test["PUBLISH_COUNT"].value != "20" || test["VERIFY_TIMEOUT"].value != "60s" {
			t.Errorf("%s: helm test Pod PUBLISH_COUNT=%q VERIFY_TIMEOUT=%q", c.name, test["PUBLISH_COUNT"].value, test["VERIFY_TIMEOUT"].value)
		}
	}
}

// secrets are the rendered Secrets' keys as "name/key" → value.
func secrets(objs []obj) map[string]string {
	m := map[string]string{}
	for _, o := range objs {
		if o.kind() != "Secret" {
			continue
		}
		data, _ := o["stringData"].(map[string]any)
		for k, v := range data {
			m[o.name()+"/"+k] = fmt.Sprint(v)
		}
	}
	return m
}

// TestNATSConfigValid: each rendered NATS configuration passes the real
// `nats-server -t` with the environment the StatefulSet gives it.
func TestNATSConfigValid(t *testing.T) {
	natsServer := tool(t, "nats-server", "tools")
	for _, c := range matrix() {
		objs := objects(t, mustRender(t, c.sets...))
		if find(objs, "StatefulSet", name("nats")) == nil {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			for _, srv := range renderedNATS(t, objs, secrets(objs)).servers {
				cmd := exec.Command(natsServer, "-t", "-c", srv.conf)
				cmd.Env = append(os.Environ(), srv.env...)
				out, err := cmd.CombinedOutput()
				if err != nil || !strings.Contains(string(out), "is valid") {
					conf, _ := os.ReadFile(srv.conf)
					t.Errorf("%s: nats-server -t: %v\n%s\n%s", srv.pod, err, out, conf)
				}
			}
		})
	}
}

// TestOrdersFlowWithRenderedEnv runs a nats-server from the rendered
// configuration and the real binaries with the rendered environments: the
// consumers as their Deployment says, the producer Deployment, and the helm
// test Pod's producer, which exits 0 only when every order was recorded.
// Only pod-local addresses change: each NATS address (the Service, or each
// server of a cluster) becomes 127.0.0.1 and a free local port.
func TestOrdersFlowWithRenderedEnv(t *testing.T) {
	cases := []struct {
		name    string
		sets    []string
		streams []string // on a cluster: the streams that must be replicated to every server
	}{
		{"defaults", nil, nil},
		// A numeric password: nats.conf must still read it as a string.
		{"auth", []string{"nats.auth.enabled=true", "string:nats.auth.password=424242"}, nil},
		{"core delivery", []string{"common.deliveryMode=core"}, nil},
		// R3 stream and ledger on three servers whose routes authenticate;
		// the services list every server in NATS_URL.
		{"3-node cluster with auth", []string{"nats.cluster.enabled=true", "nats.auth.enabled=true", "nats.auth.password=fl0w:S3cret!"}, []string{"ORDERS", "KV_orders-processed"}},
	}
	natsServer := tool(t, "nats-server", "tools")
	producer, consumer := tool(t, "producer", "build"), tool(t, "consumer", "build")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			objs := objects(t, mustRender(t, c.sets...))
			sec := secrets(objs)
			nats := renderedNATS(t, objs, sec)
			nats.start(t, natsServer)

			localEnv := func(key string) ([]string, string) {
				kind, nm, _ := strings.Cut(key, "/")
				env, order := containerEnv(t, containers(mustFind(t, objs, kind, nm))[0])
				httpAddr := fmt.Sprintf("127.0.0.1:%d", natstest.FreePort(t))
				var out []string
				for _, n := range order {
					v := env[n]
					val := v.value
					switch {
					case v.secret != "":
						var ok bool
						if val, ok = sec[v.secret+"/"+v.secretKey]; !ok {
							t.Fatalf("%s: %s from Secret %s key %s, which is not rendered", key, n, v.secret, v.secretKey)
						}
					case n == "NATS_URL":
						val = nats.localURL(t, val)
					case n == "HTTP_ADDR":
						val = httpAddr
					}
					out = append(out, n+"="+val)
				}
				return append(out, "INSTANCE="+strings.ReplaceAll(nm, "/", "-")), httpAddr
			}

			replicas := int(get(mustFind(t, objs, "Deployment", name("consumer")), "spec", "replicas").(float64))
			var consumers []*proc
			for i := 0; i < replicas; i++ {
				env, addr := localEnv("Deployment/" + name("consumer"))
				p := start(t, fmt.Sprintf("consumer-%d", i), consumer, env)
				waitHTTP(t, "http://"+addr+"/readyz", 20*time.Second, p)
				consumers = append(consumers, p)
			}
			penv, paddr := localEnv("Deployment/" + name("producer"))
			prod := start(t, "producer", producer, penv)
			waitHTTP(t, "http://"+paddr+"/readyz", 20*time.Second, prod)

			// The helm test Pod, as a process.
			tenv, _ := localEnv("Pod/" + name("test-orders-flow"))
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, producer)
			cmd.Env = tenv
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			began := time.Now()
			if err := cmd.Run(); err != nil {
				t.Fatalf("helm test producer (%s): %v after %v\n%s\nconsumers:\n%s", strings.Join(tenv, " "), err, time.Since(began), out.String(), consumers[0].out.String())
			}
			t.Logf("helm test producer verified its orders in %v", time.Since(began).Round(time.Millisecond))
			if len(nats.servers) > 1 {
				wantReplicated(t, nats.servers[0].http, len(nats.servers), c.streams...)
			}

			// SIGTERM: every service exits 0 within SHUTDOWN_GRACE, before the
			// pod's terminationGracePeriodSeconds.
			for _, p := range append([]*proc{prod}, consumers...) {
				p.stop(t, 25*time.Second)
			}
		})
	}
}

// proc is a started program whose output is kept for failure messages.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *testkit.SyncBuffer
	done chan error
}

func start(t *testing.T, name, bin string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, cmd: exec.Command(bin, args...), out: &testkit.SyncBuffer{}, done: make(chan error, 1)}
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

func (p *proc) stop(t *testing.T, within time.Duration) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		p.done <- err
		if err != nil {
			t.Errorf("%s exited with %v after SIGTERM\n%s", p.name, err, p.out.String())
		}
	case <-time.After(within):
		t.Errorf("%s still running %v after SIGTERM", p.name, within)
	}
}

func waitHTTP(t *testing.T, url string, within time.Duration, p *proc) {
	t.Helper()
	deadline := time.Now().Add(within)
	client := &http.Client{Timeout: time.Second}
	for {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case err := <-p.done:
			p.done <- err
			t.Fatalf("%s exited (%v) before %s answered 200\n%s", p.name, err, url, p.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s did not answer 200 within %v (last: %v)\n%s", p.name, url, within, err, p.out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// wantReplicated asserts each stream (the orders stream, the ledger's KV
// stream) has the cluster's replica count and a peer on every other server.
func wantReplicated(t *testing.T, httpPort, replicas int, streams ...string) {
	t.Helper()
	var jsz struct {
		AccountDetails []struct {
			Streams []struct {
				Name   string `json:"name"`
				Config struct {
					NumReplicas int `json:"num_replicas"`
				}
				Cluster struct {
					Leader   string `json:"leader"`
					Replicas []struct{ Name string }
				} `json:"cluster"`
			} `json:"stream_detail"`
		} `json:"account_details"`
	}
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/jsz?streams=true&config=true", httpPort))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&jsz); err != nil {
		t.Fatalf("/jsz: %v", err)
	}
	found := map[string]bool{}
	for _, a := range jsz.AccountDetails {
		for _, st := range a.Streams {
			found[st.Name] = true
			if st.Config.NumReplicas != replicas || st.Cluster.Leader == "" || len(st.Cluster.Replicas) != replicas-1 {
				t.Errorf("stream %s: %d replicas, leader %q, peers %v; want R%d on every server", st.Name, st.Config.NumReplicas, st.Cluster.Leader, st.Cluster.Replicas, replicas)
			}
		}
	}
	for _, s := range streams {
		if !found[s] {
			t.Errorf("no stream %s on the cluster (have %v)", s, sortedKeys(found))
		}
	}
}
