package chart

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/distsys-go/orders/internal/testkit"
	"github.com/distsys-go/orders/platform/events"
	"github.com/distsys-go/orders/test/audit"
)

// chartManaged are the variables the chart sets from its own keys (not from
// producer.env / consumer.env); notSet are the ones it deliberately leaves
// to the binary's default in the Deployments.
var (
	chartManaged = map[string][]string{
		"producer": {"DELIVERY_MODE", "SUBJECT", "SHUTDOWN_GRACE", "LOG_LEVEL", "HTTP_ADDR", "NATS_URL", "NATS_RECONNECT_WAIT", "NATS_CONNECT_TIMEOUT",
			"NATS_USER", "NATS_PASSWORD_FILE", "NATS_NKEY_SEED_FILE", "NATS_CA_FILE", "NATS_CERT_FILE", "NATS_KEY_FILE", "NATS_INBOX_PREFIX", "PROVISION", "STREAM_NAME", "STREAM_SUBJECTS", "STREAM_REPLICAS", "STREAM_MAX_AGE", "STREAM_MAX_BYTES", "STREAM_DUPLICATE_WINDOW", "DEDUP_BUCKET",
			"EVENT_VERSION", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SERVICE_NAME", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG"},
		"consumer": {"DELIVERY_MODE", "SUBJECT", "SHUTDOWN_GRACE", "LOG_LEVEL", "HTTP_ADDR", "NATS_URL", "NATS_RECONNECT_WAIT", "NATS_CONNECT_TIMEOUT",
			"NATS_USER", "NATS_PASSWORD_FILE", "NATS_NKEY_SEED_FILE", "NATS_CA_FILE", "NATS_CERT_FILE", "NATS_KEY_FILE", "NATS_INBOX_PREFIX", "PROVISION", "STREAM_NAME", "STREAM_SUBJECTS", "STREAM_REPLICAS", "STREAM_MAX_AGE", "STREAM_MAX_BYTES", "STREAM_DUPLICATE_WINDOW",
			"DEDUP_BUCKET", "QUEUE_GROUP", "DEAD_LETTER_SUBJECT", "DEDUP_TTL", "DEDUP_MAX_BYTES", "DEDUP_REPLICAS",
			"AUDIT_STREAM", "AUDIT_SUBJECT", "AUDIT_MAX_BYTES", "CONSUME_VERSIONS",
			"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SERVICE_NAME", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG"},
	}
	notSet = map[string][]string{
		// NATS_PASSWORD: the chart mounts passwords as files (NATS_PASSWORD_FILE).
		"producer": {"INSTANCE", "NATS_PASSWORD", "PUBLISH_COUNT", "VERIFY_TIMEOUT"}, // the helm test Pod sets the last two
		"consumer": {"INSTANCE", "NATS_PASSWORD"},
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
		for _, o := range objs {
			if o.kind() == "Job" {
				checks["Job/"+o.name()] = "consumer"
			}
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

// secrets are the rendered Secrets' keys as "name/key" → value (data
// decoded, stringData as it is).
func secrets(objs []obj) map[string]string {
	m := map[string]string{}
	for _, o := range objs {
		if o.kind() != "Secret" {
			continue
		}
		data, _ := o["data"].(map[string]any)
		for k, v := range data {
			b, err := base64.StdEncoding.DecodeString(fmt.Sprint(v))
			if err != nil {
				b = []byte("undecodable: " + err.Error())
			}
			m[o.name()+"/"+k] = string(b)
		}
		sdata, _ := o["stringData"].(map[string]any)
		for k, v := range sdata {
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
			sec := secrets(objs)
			// A certificate Secret the chart does not render (the user's,
			// or cert-manager's) gets one made here.
			vols, _ := get(podSpec(find(objs, "StatefulSet", name("nats"))), "volumes").([]any)
			for _, v := range vols {
				if s := str(v, "secret", "secretName"); s != "" {
					if _, ok := sec[s+"/tls.crt"]; !ok {
						testTLS(t, sec, false, s)
					}
				}
			}
			for _, srv := range renderedNATS(t, objs, sec).servers {
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
//
// While they run, admin publishes two bad orders (badOrders) on the order
// subject: the consumers must dead-letter each with its reason, which runs
// the consumer's dead-letter path under its own least-privilege user (the
// deferred check fails on any permissions violation a server logged).
//
// The helm test's own verdict is not the only one: the test then audits
// from outside, against the ids both producers logged as published. On
// JetStream the audit reads the stream, the dead letters and the ledger
// from NATS and holds them to audit.Check's rules, those of the chaos and
// e2e suites: every published order recorded exactly once, none lost, none
// dead-lettered, and each bad order dead-lettered exactly once, naming its
// stream sequence. Core NATS keeps no stream, so there the consumers' logs
// show each published order received by one consumer.
func TestOrdersFlowWithRenderedEnv(t *testing.T) {
	cases := []struct {
		name    string
		sets    []string
		streams []string // on a cluster: the streams that must be replicated to every server
	}{
		// TLS with the chart's generated certificates, an identity per
		// side, the provision Job first.
		{"defaults", nil, nil},
		{"mutual TLS", []string{"nats.tls.mutual=true"}, nil},
		// The explicit opt-outs: plaintext, no users, the services provision.
		{"plaintext without auth", []string{"nats.tls.enabled=false", "nats.auth.enabled=false"}, nil},
		{"core delivery", []string{"common.deliveryMode=core"}, nil},
		// R3 stream and ledger on three servers whose routes verify each
		// other's certificate and authenticate; NATS_URL lists every server.
		{"3-node cluster", []string{"nats.cluster.enabled=true"}, []string{audit.ChartNames().Stream, "KV_" + audit.ChartNames().Bucket}},
	}
	natsServer := tool(t, "nats-server", "tools")
	producer, consumer := tool(t, "producer", "build"), tool(t, "consumer", "build")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			objs := objects(t, mustRender(t, c.sets...))
			sec := secrets(objs)
			nats := renderedNATS(t, objs, sec)
			servers := nats.start(t, natsServer)
			// Every identity did its job within its permissions: no
			// server logged a violation (or an authorization error).
			defer func() {
				for _, s := range servers {
					for _, l := range strings.Split(s.Stderr(), "\n") {
						if strings.Contains(l, "Violation") || strings.Contains(l, "authentication error") {
							t.Errorf("%s: %s", s.Name, l)
						}
					}
				}
			}()

			// localEnv is the environment of the container of the object
			// key, run as the pod named instance, with its Secret volumes
			// written to local folders.
			localEnv := func(key, instance string) (map[string]string, []string) {
				kind, nm, _ := strings.Cut(key, "/")
				o := mustFind(t, objs, kind, nm)
				ctr := containers(o)[0]
				files := mounts(t, o, ctr, sec)
				env, order := containerEnv(t, ctr)
				vals := map[string]string{}
				var out []string
				for _, n := range order {
					v := env[n]
					val := localPaths(v.value, files)
					switch {
					case v.secret != "":
						var ok bool
						if val, ok = sec[v.secret+"/"+v.secretKey]; !ok {
							t.Fatalf("%s: %s from Secret %s key %s, which is not rendered", key, n, v.secret, v.secretKey)
						}
					case n == "NATS_URL":
						val = nats.localURL(t, val)
					case n == "HTTP_ADDR":
						val = "127.0.0.1:0" // the harness reads the bound address from the log
					}
					vals[n] = val
					out = append(out, n+"="+val)
				}
				return vals, append(out, "INSTANCE="+instance)
			}

			// The provision Job first, when the chart runs one: the
			// services wait for what it makes (PROVISION=false).
			for _, o := range objs {
				if o.kind() != "Job" {
					continue
				}
				_, jenv := localEnv("Job/"+o.name(), o.name())
				args, _ := get(containers(o)[0], "args").([]any)
				if fmt.Sprint(args) != "[provision]" {
					t.Fatalf("%s runs args %v, want [provision]", o.key(), args)
				}
				began := time.Now()
				job := testkit.Start(t, consumer, jenv, testkit.Name(o.name()), testkit.Args("provision"), testkit.WaitBound(60*time.Second))
				if code := job.Wait(t); code != 0 {
					t.Fatalf("%s: consumer provision exit %d\n%s", o.key(), code, job.Stderr())
				}
				t.Logf("%s (consumer provision) done in %v", o.name(), time.Since(began).Round(time.Millisecond))
			}

			replicas := int(get(mustFind(t, objs, "Deployment", name("consumer")), "spec", "replicas").(float64))
			var (
				consumers []*testkit.Proc
				cenv      map[string]string // a consumer's environment: every name the audit reads
			)
			for i := 0; i < replicas; i++ {
				pod := fmt.Sprintf("%s-%d", name("consumer"), i)
				vals, env := localEnv("Deployment/"+name("consumer"), pod)
				cenv = vals
				p := testkit.Start(t, consumer, env, testkit.Name(pod))
				p.WaitReady(t)
				consumers = append(consumers, p)
			}
			_, penv := localEnv("Deployment/"+name("producer"), name("producer"))
			prod := testkit.Start(t, producer, penv)
			prod.WaitReady(t)

			// The helm test Pod, as a process.
			test, tenv := localEnv("Pod/"+name("test-orders-flow"), name("test-orders-flow"))
			began := time.Now()
			helmTest := testkit.Start(t, producer, tenv, testkit.Name("helm-test"), testkit.WaitBound(90*time.Second))
			// The bad orders go in among the helm test's and the producer
			// Deployment's orders.
			bad := wantDeadLettered(t, cenv, adminOptions(t, objs, sec), consumers)
			if code := helmTest.Wait(t); code != 0 {
				t.Fatalf("helm test producer (%s): exit %d after %v\n%s", strings.Join(tenv, " "), code, time.Since(began), helmTest.Stderr())
			}
			t.Logf("helm test producer verified its orders in %v", time.Since(began).Round(time.Millisecond))
			if len(nats.servers) > 1 {
				wantReplicated(t, nats.servers[0].http, len(nats.servers), c.streams...)
			}

			// SIGTERM: every service exits 0 within SHUTDOWN_GRACE, before the
			// pod's terminationGracePeriodSeconds. The producer goes first, so
			// the consumers can take what it published last.
			stop(t, 25*time.Second, prod)
			count, _ := strconv.Atoi(test["PUBLISH_COUNT"])
			if test["DELIVERY_MODE"] == "core" {
				wantReceivedOnce(t, count, []*testkit.Proc{helmTest, prod}, consumers)
			} else {
				wantAudited(t, cenv, adminOptions(t, objs, sec), count, helmTest, []*testkit.Proc{prod}, consumers, bad)
			}
			stop(t, 25*time.Second, consumers...)
		})
	}
}

// wantAudited reads NATS as a consumer of the release would (env: its
// rendered names, address and credentials) until audit.Check finds the
// run kept every promise against the ids the producers logged as
// published (none lost, none dead-lettered, none twice, the durable
// drained) and the bad messages sent (each dead-lettered exactly once, no
// other dead letter), or reports what it broke once testkit.Bound passed;
// and the helm test must have published its count.
func wantAudited(t *testing.T, env map[string]string, opts []nats.Option, count int, helmTest *testkit.Proc, producers, consumers []*testkit.Proc, bad []audit.Sent) {
	t.Helper()
	if n := len(audit.PublishedIDs(helmTest)); n < count {
		t.Errorf("the helm test logged %d orders as published, want PUBLISH_COUNT=%d", n, count)
	}
	expect := audit.Expect{Published: audit.PublishedIDs(append([]*testkit.Proc{helmTest}, producers...)...), Bad: bad}
	names := audit.Names{Stream: env["STREAM_NAME"], Orders: env["SUBJECT"], DeadLetters: env["DEAD_LETTER_SUBJECT"],
		Bucket: env["DEDUP_BUCKET"], Durable: env["QUEUE_GROUP"]}
	nc, err := nats.Connect(env["NATS_URL"], opts...)
	if err != nil {
		t.Fatalf("audit: connect to %s: %v", env["NATS_URL"], err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	var v audit.Verdict
	err = testkit.Await(t, "the audit holds", testkit.Bound, func() (bool, string) {
		expect.ProcessedBy = audit.ProcessedBy(consumers...)
		v = audit.Check(audit.ReadAudit(t, js, names), expect)
		return len(v.Broken) == 0, fmt.Sprintf("%+v", v.Outcome)
	}, testkit.Every(500*time.Millisecond))
	if err != nil {
		t.Errorf("audit of %d published orders broke:\n%s", v.Published, strings.Join(v.Broken, "\n"))
		return
	}
	t.Logf("audit: %d published, %d recorded, %d lost, %d twice, %d unknown; %d of %d bad orders dead-lettered once",
		v.Published, v.Recorded, v.Lost, v.Twice, v.Unknown, v.DeadOnce, len(bad))
}

// badOrders are what a careless publisher could send on the order subject:
// the consumers must dead-letter each, with its reason, and process none.
// Their ids are no producer's, so the audit cannot take them for orders.
var badOrders = []struct {
	name   string
	body   string
	reason string // the Orders-Dead-Letter-Reason header
	err    error  // the Orders-Dead-Letter-Error header begins with its text
}{
	{"malformed: the JSON is cut off", `{"id":"order-chart-malformed","product_id":"sku-1","quantity":`,
		events.ReasonMalformed, events.ErrMalformed},
	{"invalid: quantity 0", `{"id":"order-chart-invalid","product_id":"sku-1","quantity":0,"created_at":"2026-11-25T08:00:00Z"}`,
		events.ReasonInvalid, events.ErrInvalid},
}

// wantDeadLettered publishes badOrders as admin (no other identity may
// publish an order but the producers) on the order subject while the
// consumers run, waits until a consumer dead-lettered each one, checks
// the dead letters and returns the bad orders as the audit expects them.
// On JetStream it reads the dead letters from the stream, as the audit
// does, and each bad order carries the sequence its dead letter must name;
// core NATS stores nothing, so there admin subscribes to the dead-letter
// subject before publishing.
func wantDeadLettered(t *testing.T, env map[string]string, opts []nats.Option, consumers []*testkit.Proc) []audit.Sent {
	t.Helper()
	core := env["DELIVERY_MODE"] == "core"
	nc, err := nats.Connect(env["NATS_URL"], opts...)
	if err != nil {
		t.Fatalf("admin: connect to %s: %v", env["NATS_URL"], err)
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), testkit.Bound)
	defer cancel()

	var (
		dead func() []*nats.Msg // the dead letters so far
		js   jetstream.JetStream
	)
	if core {
		var mu sync.Mutex
		var got []*nats.Msg
		if _, err := nc.Subscribe(env["DEAD_LETTER_SUBJECT"], func(m *nats.Msg) {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, m)
		}); err != nil {
			t.Fatal(err)
		}
		if err := nc.Flush(); err != nil { // the server has the subscription before any bad order
			t.Fatal(err)
		}
		dead = func() []*nats.Msg {
			mu.Lock()
			defer mu.Unlock()
			return slices.Clone(got)
		}
	} else {
		if js, err = jetstream.New(nc); err != nil {
			t.Fatal(err)
		}
		stream, err := js.Stream(ctx, env["STREAM_NAME"])
		if err != nil {
			t.Fatalf("admin: stream %s: %v", env["STREAM_NAME"], err)
		}
		dead = func() []*nats.Msg {
			var out []*nats.Msg
			for _, m := range audit.StreamMessages(t, stream, env["DEAD_LETTER_SUBJECT"]) {
				out = append(out, &nats.Msg{Subject: m.Subject, Header: m.Header, Data: m.Data})
			}
			return out
		}
	}

	began := time.Now()
	sent := make([]audit.Sent, len(badOrders))
	for i, b := range badOrders {
		sent[i].Body = []byte(b.body)
		if core {
			err = nc.Publish(env["SUBJECT"], sent[i].Body)
		} else {
			var ack *jetstream.PubAck
			if ack, err = js.Publish(ctx, env["SUBJECT"], sent[i].Body); err == nil {
				sent[i].Seq = ack.Sequence
			}
		}
		if err != nil {
			t.Fatalf("admin: publish %s on %s: %v", b.name, env["SUBJECT"], err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}

	// A consumer logs "message dead-lettered" once its dead letter is
	// published, so both the letters and the log lines are awaited.
	var letters []*nats.Msg
	loggedBy := func() (map[string][]string, int) { // instance → reasons
		by, n := map[string][]string{}, 0
		for _, c := range consumers {
			for _, r := range c.Logged("message dead-lettered") {
				by[c.Name] = append(by[c.Name], r.String("reason"))
				n++
			}
		}
		return by, n
	}
	testkit.Eventually(t, "the bad orders dead-lettered", testkit.Bound, func() (bool, string) {
		letters = dead()
		_, logged := loggedBy()
		return len(letters) >= len(badOrders) && logged >= len(badOrders),
			fmt.Sprintf("%d dead letters on %s, %d logged by the consumers", len(letters), env["DEAD_LETTER_SUBJECT"], logged)
	}, testkit.Every(50*time.Millisecond))
	took := time.Since(began)

	if len(letters) != len(badOrders) {
		t.Errorf("%d dead letters on %s, want %d (one per bad order)", len(letters), env["DEAD_LETTER_SUBJECT"], len(badOrders))
	}
	if by, n := loggedBy(); n != len(badOrders) {
		t.Errorf("the consumers logged %d dead letters (%v), want %d", n, by, len(badOrders))
	}
	for i, b := range badOrders {
		j := slices.IndexFunc(letters, func(m *nats.Msg) bool { return string(m.Data) == b.body })
		if j < 0 {
			t.Errorf("%s: no dead letter carries its body", b.name)
			continue
		}
		h := letters[j].Header
		if got := h.Get(events.HeaderDeadLetterReason); got != b.reason {
			t.Errorf("%s: dead-letter reason %q, want %q", b.name, got, b.reason)
		}
		if got := h.Get(events.HeaderDeadLetterError); !strings.HasPrefix(got, b.err.Error()) {
			t.Errorf("%s: dead-letter error %q, want %q first", b.name, got, b.err)
		}
		if got := h.Get(events.HeaderOriginalSubject); got != env["SUBJECT"] {
			t.Errorf("%s: original subject %q, want %q", b.name, got, env["SUBJECT"])
		}
		if !core && h.Get(events.HeaderOriginalSequence) != strconv.FormatUint(sent[i].Seq, 10) {
			t.Errorf("%s: original sequence %q, want %d, its publish ack's", b.name, h.Get(events.HeaderOriginalSequence), sent[i].Seq)
		}
	}
	by, _ := loggedBy()
	t.Logf("%d bad orders dead-lettered in %v (reasons by consumer: %v)", len(badOrders), took.Round(time.Millisecond), by)
	return sent
}

// adminOptions connect as the admin identity, the one audits use (no
// other may read the whole stream and ledger), with the rendered CA and,
// with mutual TLS, admin's client certificate.
func adminOptions(t *testing.T, objs []obj, sec map[string]string) []nats.Option {
	t.Helper()
	var opts []nats.Option
	if pw, ok := sec[name("nats-admin")+"/password"]; ok {
		opts = append(opts, nats.UserInfo("admin", pw))
	}
	dir := t.TempDir()
	write := func(key string) string {
		v, ok := sec[key]
		if !ok {
			t.Fatalf("no rendered %s for the admin's connection", key)
		}
		f := filepath.Join(dir, strings.ReplaceAll(key, "/", "_"))
		if err := os.WriteFile(f, []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	if _, ok := sec[name("nats-tls")+"/ca.crt"]; ok {
		opts = append(opts, nats.RootCAs(write(name("nats-tls")+"/ca.crt")))
	}
	if _, ok := sec[name("nats-admin-tls")+"/tls.crt"]; ok {
		opts = append(opts, nats.ClientCert(write(name("nats-admin-tls")+"/tls.crt"), write(name("nats-admin-tls")+"/tls.key")))
	}
	return opts
}

// wantReceivedOnce checks a core NATS run, which stores nothing to audit:
// every order the producers logged as published is logged as received by
// exactly one consumer, and the first producer (the helm test) published
// at least count.
func wantReceivedOnce(t *testing.T, count int, producers, consumers []*testkit.Proc) {
	t.Helper()
	if n := len(audit.PublishedIDs(producers[0])); n < count {
		t.Errorf("%s logged %d orders as published, want at least %d", producers[0].Name, n, count)
	}
	published := audit.PublishedIDs(producers...)
	_ = testkit.Await(t, "every published order received", testkit.Bound, func() (bool, string) {
		by, n := audit.ProcessedBy(consumers...), 0
		for _, id := range published {
			if len(by[id]) > 0 {
				n++
			}
		}
		return n == len(published), fmt.Sprintf("%d of %d published orders received", n, len(published))
	})
	by := audit.ProcessedBy(consumers...)
	for _, id := range published {
		if len(by[id]) != 1 {
			t.Errorf("order %s received by %v, want exactly one consumer", id, by[id])
		}
	}
}

// stop sends each process SIGTERM, what Kubernetes sends a pod, and
// requires it to exit 0 within the given time.
func stop(t *testing.T, within time.Duration, procs ...*testkit.Proc) {
	t.Helper()
	for _, p := range procs {
		began := time.Now()
		if code := p.Terminate(t); code != 0 {
			t.Errorf("%s exited %d after SIGTERM\n%s", p.Name, code, p.Stderr())
		}
		if took := time.Since(began); took > within {
			t.Errorf("%s took %v to exit after SIGTERM, want under %v", p.Name, took.Round(time.Millisecond), within)
		}
	}
}

// waitHTTP waits until url answers 200, failing at once when p exits.
func waitHTTP(t *testing.T, url string, within time.Duration, p *testkit.Proc) {
	t.Helper()
	client := &http.Client{Timeout: time.Second}
	testkit.Eventually(t, url+" answers 200", within, func() (bool, string) {
		if p.Exited() {
			t.Fatalf("%s exited before %s answered 200\n%s", p.Name, url, p.Stderr())
		}
		resp, err := client.Get(url)
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	}, testkit.Every(100*time.Millisecond))
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
