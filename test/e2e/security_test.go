//go:build e2e

package e2e

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"maps"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/distsys-go/orders/internal/testkit"
)

// The chart's security on the cluster (issue 19): the upgrade from the
// user/password values of the chart before it, refusals seen from pods in
// the cluster, a server certificate renewed while orders flow, and the
// cert-manager objects checked against cert-manager's own CRDs.

// previousChart is the chart as it was before TLS and the per-side
// identities (E2E_PREVIOUS_CHART_REF, default the commit before issue 19),
// taken out of git into a temporary folder: what a user upgrades from.
func (e env) previousChart(t *testing.T) (dir, ref string) {
	t.Helper()
	ref = getenv("E2E_PREVIOUS_CHART_REF", "598b2c9")
	dir = t.TempDir()
	root := filepath.Dir(filepath.Dir(e.chart))
	cmd := exec.Command("sh", "-c", `git -C "$1" archive "$2" charts/orders | tar -x -C "$3"`, "sh", root, ref, dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the previous chart (git archive %s charts/orders; a shallow clone may lack it: E2E_PREVIOUS_CHART_REF names another): %v: %s", ref, err, out)
	}
	return filepath.Join(dir, "charts", "orders"), ref
}

// upgradeFromPrevious installs the previous chart the way a user ran it
// on a shared cluster before (nats.auth.enabled with one shared password,
// plaintext) with this tree's images, lets orders flow, then upgrades to
// this chart with its defaults (not --reuse-values: the old auth values do
// not exist any more) while the producer publishes, and reconnects the
// test with TLS and the admin identity. The audit at the end of the
// scenario covers the orders of both charts.
func upgradeFromPrevious(r *scenario, consumers int) {
	t, e, ctx := r.t, r.e, r.ctx
	prev, ref := e.previousChart(t)
	password := randomHex(t)
	r.step("1 helm install --wait the previous chart ("+ref+"): user/password, plaintext", func() {
		r.installRelease(prev, "--set", "nats.auth.enabled=true", "--set-string", "nats.auth.password="+password)
	})
	r.conn = e.connectNATS(t, 1, natsCreds{user: "orders", password: password})
	r.step("1 orders flowing on the previous chart", func() { waitFlowing(t, r.conn.js, "on the previous chart") })

	r.disrupt("2 helm upgrade to this chart's defaults (TLS, an identity per side), producer publishing", consumers, func() string {
		start := time.Now()
		args := append([]string{"upgrade", e.release, e.chart, "--wait", "--timeout", e.helmTimeout}, e.releaseValues()...)
		e.mustHelm(t, ctx, args...)
		helmTook := time.Since(start)
		for _, w := range []string{"statefulset/" + e.release + "-nats", "deploy/" + e.release + "-producer", "deploy/" + e.release + "-consumer"} {
			e.mustKC(t, ctx, "rollout", "status", w, "--timeout=5m")
		}
		rolled := time.Since(start)
		// The old connection is plaintext with the old user: the upgraded
		// server refuses it, so the test reconnects as an operator would.
		r.conn.close()
		r.conn = e.connectNATS(t, 1, e.releaseCreds(t))
		waitFlowing(t, r.conn.js, "after the upgrade")
		r.addExtra("upgrade from the previous chart", fmt.Sprintf("from %s (nats.auth.enabled, one password, plaintext) to this chart's defaults: helm upgrade --wait %s, every rollout done %s after it began, flowing again (TLS, admin) %s after",
			ref, helmTook.Round(100*time.Millisecond), rolled.Round(100*time.Millisecond), time.Since(start).Round(100*time.Millisecond)))
		return fmt.Sprintf("helm upgrade %s; rollouts done at %s", helmTook.Round(100*time.Millisecond), rolled.Round(100*time.Millisecond))
	})
}

// refusal is one client the release must refuse, run as a pod in the
// release's namespace, and the log line that shows the refusal.
type refusal struct {
	what string
	pod  map[string]any
	want *regexp.Regexp // a log line of the pod that shows the refusal
	not  *regexp.Regexp // must not be in the pod's log (nil: nothing)
	seen string         // the matching line
}

// refusalLabels let the pods through the chart's NetworkPolicy on NATS,
// which admits this release's producer, consumer, helm-test and
// provision pods on 4222: the refused clients are pods the network lets
// in, so what refuses them is NATS. The provision component, because no
// controller adopts a bare pod by it (the Job selects its pods by its own
// uid; a ReplicaSet would take a "consumer" pod over) and the harness
// neither scrapes nor follows it; orders-e2e marks them as the test's.
func (e env) refusalLabels() map[string]any {
	return map[string]any{"app.kubernetes.io/name": "orders", "app.kubernetes.io/instance": e.release,
		"app.kubernetes.io/component": "provision", "orders-e2e": "refusal"}
}

// refusals runs, from pods in the cluster, clients the chart's defaults
// must refuse, and records what each was told:
//
//   - the consumer image without NATS_CA_FILE, to the Service. nats.go
//     (v1.55) never talks plaintext to a server that requires TLS: it
//     switches to TLS on its own (checkForSecure) and, without the CA,
//     cannot verify the server, so what it logs is the unknown authority,
//     not nats.go's "secure connection required" (which it never
//     returns);
//   - a client that really speaks plaintext (busybox nc): the server's
//     INFO says tls_required, the CONNECT and PING get no answer, and the
//     server logs the failed TLS handshake;
//   - the consumer image with the producer's identity, mounted as the
//     chart mounts it: the server refuses what a consumer must do
//     (Permissions Violation, naming the subject).
func refusals(r *scenario) {
	t, e, ctx := r.t, r.e, r.ctx
	f := e.fullname()
	tmpl := e.podTemplate(t, "deploy/"+e.release+"-consumer")
	service := f + "-nats"

	noCA := e.podFrom(tmpl, "e2e-refused-no-ca", func(env *envList, _ []any) {
		env.del("NATS_CA_FILE", "NATS_CERT_FILE", "NATS_KEY_FILE")
		env.set("NATS_URL", "nats://"+service+":4222")
	})
	asProducer := e.podFrom(tmpl, "e2e-refused-producer-consumes", func(env *envList, volumes []any) {
		env.set("NATS_USER", "producer")
		env.set("NATS_INBOX_PREFIX", "_INBOX_producer")
		env.set("PROVISION", "false")
		renameSecret(volumes, f+"-nats-consumer", f+"-nats-producer")
	})
	raw := map[string]any{
		"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"name": "e2e-refused-plaintext", "labels": e.refusalLabels()},
		"spec": map[string]any{
			"restartPolicy":                "Never",
			"automountServiceAccountToken": false,
			"containers": []any{map[string]any{
				"name": "nc", "image": "busybox:latest", "imagePullPolicy": "IfNotPresent",
				"command": []any{"sh", "-c", `printf 'CONNECT {"verbose":true,"pedantic":false}\r\nPING\r\n' | nc ` + service +
					` 4222; echo "nc exited $?"`},
			}},
		},
	}
	tried := []*refusal{
		{what: "consumer image, no NATS_CA_FILE (nats.go upgrades to TLS itself)", pod: noCA,
			want: regexp.MustCompile(`(?i)secure connection required|certificate signed by unknown authority`)},
		{what: "plaintext client (busybox nc: CONNECT, PING)", pod: raw,
			want: regexp.MustCompile(`"tls_required":true`), not: regexp.MustCompile(`PONG|\+OK`)},
		{what: "consumer image with the producer's identity", pod: asProducer,
			// The service logs JSON, so the subject's quotes come escaped.
			want: regexp.MustCompile(`(?i)permissions violation for (publish|subscription) to \\?"[^"\\]+`)},
	}
	var lines []string
	r.step("3 refused from pods in the cluster: no CA, plaintext, the producer's identity consuming", func() {
		dir := t.TempDir()
		var files []string
		for _, rf := range tried {
			name := rf.pod["metadata"].(map[string]any)["name"].(string)
			file := filepath.Join(dir, name+".json")
			b, err := json.Marshal(rf.pod)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(file, b, 0o600); err != nil {
				t.Fatal(err)
			}
			files = append(files, "-f", file)
		}
		e.mustKC(t, ctx, append([]string{"create"}, files...)...)
		defer func() {
			if _, err := e.kc(ctx, append([]string{"delete", "--wait=false", "--ignore-not-found"}, files...)...); err != nil {
				t.Log(err)
			}
		}()
		since := time.Now()
		for _, rf := range tried {
			name := rf.pod["metadata"].(map[string]any)["name"].(string)
			testkit.Eventually(t, name+": "+rf.what+" refused", 2*time.Minute, func() (bool, string) {
				out, err := e.kc(ctx, "--request-timeout=10s", "logs", name)
				if err != nil {
					return false, err.Error()
				}
				for _, l := range strings.Split(out, "\n") {
					if rf.want.MatchString(l) {
						rf.seen = strings.TrimSpace(l)
					}
				}
				if rf.not != nil && rf.not.MatchString(out) {
					t.Fatalf("%s: the server answered a plaintext client:\n%s", name, out)
				}
				if rf.seen == "" {
					return false, "log: " + lastLines(out, 1)
				}
				// nc's whole exchange is read only once nc is done: the
				// server must have closed the connection, unanswered.
				if rf.not != nil {
					if !strings.Contains(out, "nc exited") {
						return false, "log: " + lastLines(out, 1)
					}
					rf.seen += "\n      " + lastLines(out, 1)
				}
				return true, ""
			}, testkit.Every(time.Second), testkit.Verbose())
			lines = append(lines, fmt.Sprintf("%s (pod %s):\n      %s", rf.what, name, rf.seen))
			if rf.pod["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)["name"] != "nc" {
				if body := e.readyz(ctx, name); body != "" {
					lines[len(lines)-1] += "\n      /readyz: " + body
				}
			}
		}
		// The server's words, from its own log: the first line each pod
		// caused. nats-server (v2.15.2) logs a plaintext client's failed
		// handshake at debug level only, as it would a load balancer's
		// probe (isClientProbeTLSHandshakeError); that refusal shows in
		// the INFO nc got and in the connection closed unanswered.
		ips := map[string]string{}
		for _, rf := range tried {
			name := rf.pod["metadata"].(map[string]any)["name"].(string)
			if ip, err := e.kc(ctx, "get", "pod", name, "-o", "jsonpath={.status.podIP}"); err == nil && ip != "" {
				ips[strings.TrimSpace(ip)+":"] = name
			}
		}
		logged := map[string]bool{}
		for _, l := range e.natsLogLines(t, since, regexp.MustCompile(`TLS handshake error|Violation`)) {
			for ip, name := range ips {
				if strings.Contains(l, ip) && !logged[name] {
					logged[name] = true
					lines = append(lines, fmt.Sprintf("NATS server's log, for pod %s:\n      %s", name, l))
				}
			}
		}
		if !logged["e2e-refused-producer-consumes"] {
			t.Errorf("no NATS server logged the producer identity's violation")
		}
	})
	for _, l := range lines {
		t.Logf("refused: %s", l)
	}
	r.addExtra("refusals (from pods in the cluster)", strings.Join(lines, "\n    "))
}

// readyz is a pod's /readyz, status and body, through a short-lived
// `kubectl port-forward` to its port 8080: a refused service says there
// why. Not through the API server's pod proxy, which turns a 503 into its
// own "the server is currently unable to handle the request" and drops
// the body. Empty when it could not be read within 15 s.
func (e env) readyz(ctx context.Context, pod string) string {
	port, err := freePort()
	if err != nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.kubectl, "-n", e.namespace, "port-forward", "--address", "127.0.0.1",
		"pod/"+pod, fmt.Sprintf("%d:8080", port))
	if err := cmd.Start(); err != nil {
		return ""
	}
	defer func() { cancel(); _ = cmd.Wait() }()
	client := &http.Client{Timeout: 2 * time.Second}
	var got string
	_ = testkit.Await(nopLogger{}, "readyz of "+pod, 12*time.Second, func() (bool, string) {
		resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/readyz", port))
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		got = fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(body)))
		return true, ""
	}, testkit.Every(200*time.Millisecond))
	return got
}

// nopLogger is a testkit.Logger for a wait whose progress is not worth a
// line (a best-effort read such as readyz).
type nopLogger struct{}

func (nopLogger) Helper()             {}
func (nopLogger) Logf(string, ...any) {}

// natsLogLines are the lines of every NATS server's log (container nats)
// written since, that match re.
func (e env) natsLogLines(t *testing.T, since time.Time, re *regexp.Regexp) []string {
	t.Helper()
	var lines []string
	for _, p := range e.mustPods(t, context.Background(), "nats") {
		out, err := e.kc(context.Background(), "logs", p.Name, "-c", "nats", "--since-time="+since.Add(-time.Second).UTC().Format(time.RFC3339))
		if err != nil {
			t.Logf("logs of %s: %v", p.Name, err)
			continue
		}
		for _, l := range strings.Split(out, "\n") {
			if re.MatchString(l) {
				lines = append(lines, p.Name+": "+strings.TrimSpace(l))
			}
		}
	}
	return lines
}

// podTemplate is the pod template of a workload as the cluster has it.
func (e env) podTemplate(t *testing.T, workload string) map[string]any {
	t.Helper()
	out := e.mustKC(t, context.Background(), "get", workload, "-o", "json")
	var w struct {
		Spec struct {
			Template map[string]any
		}
	}
	if err := json.Unmarshal([]byte(out), &w); err != nil {
		t.Fatalf("decode %s: %v", workload, err)
	}
	return w.Spec.Template
}

// envList edits a container's env in place.
type envList struct{ vars []any }

func (l *envList) set(name, value string) {
	for i, v := range l.vars {
		if v.(map[string]any)["name"] == name {
			l.vars[i] = map[string]any{"name": name, "value": value}
			return
		}
	}
	l.vars = append(l.vars, map[string]any{"name": name, "value": value})
}

func (l *envList) del(names ...string) {
	var kept []any
	for _, v := range l.vars {
		name, _ := v.(map[string]any)["name"].(string)
		drop := false
		for _, n := range names {
			drop = drop || name == n
		}
		if !drop {
			kept = append(kept, v)
		}
	}
	l.vars = kept
}

// podFrom is a bare pod named name with a copy of the workload's pod
// template (its image, env and the chart's projected credentials volume),
// edited by edit, that runs once (restartPolicy Never, so its log stays).
func (e env) podFrom(tmpl map[string]any, name string, edit func(env *envList, volumes []any)) map[string]any {
	var spec map[string]any
	b, _ := json.Marshal(tmpl["spec"])
	_ = json.Unmarshal(b, &spec)
	spec["restartPolicy"] = "Never"
	c := spec["containers"].([]any)[0].(map[string]any)
	env := &envList{}
	if v, ok := c["env"].([]any); ok {
		env.vars = v
	}
	volumes, _ := spec["volumes"].([]any)
	edit(env, volumes)
	c["env"] = env.vars
	// A refused client never becomes ready and must not be restarted by
	// its probes while the test reads its log.
	delete(c, "livenessProbe")
	delete(c, "readinessProbe")
	delete(c, "startupProbe")
	return map[string]any{
		"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"name": name, "labels": e.refusalLabels()},
		"spec":     spec,
	}
}

// renameSecret points every Secret source of the pod's volumes (plain or
// projected) named from at to instead.
func renameSecret(volumes []any, from, to string) {
	for _, v := range volumes {
		vol := v.(map[string]any)
		if s, ok := vol["secret"].(map[string]any); ok && s["secretName"] == from {
			s["secretName"] = to
		}
		if p, ok := vol["projected"].(map[string]any); ok {
			for _, src := range p["sources"].([]any) {
				if s, ok := src.(map[string]any)["secret"].(map[string]any); ok && s["name"] == from {
					s["name"] = to
				}
			}
		}
	}
}

// certSerial reads the serial of the certificate in the Secret's tls.crt
// and when the Secret was created.
func (e env) certSerial(t *testing.T, secret string) (*big.Int, time.Time) {
	t.Helper()
	out := e.mustKC(t, context.Background(), "get", "secret", secret, "-o", "json")
	var s struct {
		Metadata struct {
			CreationTimestamp time.Time `json:"creationTimestamp"`
		}
		Data map[string][]byte
	}
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("decode secret %s: %v", secret, err)
	}
	block, _ := pem.Decode(s.Data["tls.crt"])
	if block == nil {
		t.Fatalf("secret %s: tls.crt holds no PEM block", secret)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatalf("secret %s: tls.crt: %v", secret, err)
	}
	return cert.SerialNumber, s.Metadata.CreationTimestamp
}

// rotateServerCert renews the generated server certificate while the
// producer publishes: delete <F>-nats-tls and `helm upgrade --reuse-values`,
// which signs a new one with the CA kept in <F>-nats-ca. The kubelet
// updates the mounted Secret, the chart's reloader sidecar signals the
// server, which reloads its TLS files; nothing restarts. The step waits
// until every server presents the new certificate on a fresh connection,
// checks no NATS pod restarted and orders flow, and records per server how
// long the certificate took from the new Secret to being served.
func rotateServerCert(r *scenario, servers, consumers int) {
	t, e, ctx := r.t, r.e, r.ctx
	secret := e.fullname() + "-nats-tls"
	var rows []string
	r.disrupt("4 renew the server certificate mid-flow: every server serves it, none restarted", consumers, func() string {
		before := e.mustPods(t, ctx, "nats")
		oldSerial, _ := e.certSerial(t, secret)
		// Polled: a forward whose pod was just replaced (the rollout
		// before) is restarted only once that pod is ready.
		for i := range servers {
			testkit.Eventually(t, fmt.Sprintf("server %d serves the Secret's certificate (serial %x) before the renewal", i, oldSerial), flowTimeout, func() (bool, string) {
				s, err := r.conn.servedSerial(i)
				if err != nil {
					return false, err.Error()
				}
				if s.Cmp(oldSerial) != 0 {
					t.Fatalf("before the renewal server %d serves serial %x, the Secret holds %x", i, s, oldSerial)
				}
				return true, ""
			}, testkit.Every(500*time.Millisecond), testkit.Verbose())
		}
		deleted := time.Now()
		e.mustKC(t, ctx, "delete", "secret", secret)
		e.mustHelm(t, ctx, "upgrade", e.release, e.chart, "--reuse-values", "--wait", "--timeout", e.helmTimeout)
		upgraded := time.Since(deleted)
		newSerial, created := e.certSerial(t, secret)
		if newSerial.Cmp(oldSerial) == 0 {
			t.Fatalf("helm upgrade put the same certificate (serial %x) back into %s", newSerial, secret)
		}
		t.Logf("%s: serial %x -> %x, created %s (helm upgrade took %s)", secret, oldSerial, newSerial, created.Format(time.RFC3339), upgraded.Round(100*time.Millisecond))
		servedAt := make([]time.Time, servers)
		probeErrs := map[string]bool{} // what fresh connections met meanwhile, for the report
		testkit.Eventually(t, fmt.Sprintf("every server presents the new certificate (serial %x)", newSerial), 5*time.Minute, func() (bool, string) {
			var seen []string
			done := 0
			for i := range servers {
				if servedAt[i].IsZero() {
					s, err := r.conn.servedSerial(i)
					switch {
					case err != nil:
						seen = append(seen, fmt.Sprintf("%d: %v", i, err))
						probeErrs[fmt.Sprintf("%s-nats-%d: %v", e.release, i, err)] = true
						continue
					case s.Cmp(newSerial) == 0:
						servedAt[i] = time.Now()
					default:
						seen = append(seen, fmt.Sprintf("%d: old", i))
						continue
					}
				}
				done++
			}
			return done == servers, fmt.Sprintf("%d of %d serve it; %s", done, servers, describe(seen))
		}, testkit.Every(time.Second), testkit.Verbose())
		after := e.mustPods(t, ctx, "nats")
		samePods(t, "nats", before, after)
		waitFlowing(t, r.conn.js, "after the renewal")
		var per []string
		for i, at := range servedAt {
			// The Secret's creationTimestamp has whole seconds.
			per = append(per, fmt.Sprintf("%s-nats-%d %s", e.release, i, at.Sub(created).Round(time.Second)))
			rows = append(rows, fmt.Sprintf("%s-nats-%d serves serial %x: %s after the new Secret (created %s), %s after the old one was deleted",
				e.release, i, newSerial, at.Sub(created).Round(time.Second), created.Local().Format("15:04:05"), at.Sub(deleted).Round(100*time.Millisecond)))
		}
		rows = append(rows, fmt.Sprintf("delete + helm upgrade --reuse-values --wait: %s; NATS pods untouched (same UIDs, same restart counts)", upgraded.Round(100*time.Millisecond)))
		if len(probeErrs) > 0 {
			rows = append(rows, "fresh connections failed meanwhile (port-forwards restart when a connection through them fails): "+strings.Join(slices.Sorted(maps.Keys(probeErrs)), "; "))
		}
		// The servers' and reloaders' own account of the renewal, kept
		// whether the step passes or not.
		var logs strings.Builder
		for _, p := range after {
			for _, c := range []string{"nats", "reloader"} {
				out, err := e.kc(ctx, "logs", p.Name, "-c", c, "--timestamps", "--since-time="+deleted.Add(-time.Second).UTC().Format(time.RFC3339))
				fmt.Fprintf(&logs, "==== %s/%s (%v)\n%s\n", p.Name, c, err, out)
			}
		}
		if err := os.WriteFile(filepath.Join(e.artifacts, r.name+"-renewal-nats.log"), []byte(logs.String()), 0o644); err != nil {
			t.Log(err)
		}
		return "new Secret to served: " + strings.Join(per, ", ")
	})
	r.addExtra("server certificate renewed mid-flow", strings.Join(rows, "\n    "))
}

// certManagerCRDs is the folder of cert-manager's CRDs: E2E_CERT_MANAGER_CRDS,
// or deploy/crds of the cert-manager module (v1.21.2) in the module cache,
// downloaded by `go mod download` (not a requirement of go.mod: the tests
// import nothing of it).
func certManagerCRDs(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("E2E_CERT_MANAGER_CRDS"); d != "" {
		return d
	}
	const mod = "github.com/cert-manager/cert-manager@v1.21.2"
	out, err := exec.Command("go", "mod", "download", "-json", mod).Output()
	if err != nil {
		t.Fatalf("go mod download %s: %v", mod, err)
	}
	var m struct{ Dir, Error string }
	if err := json.Unmarshal(out, &m); err != nil || m.Dir == "" {
		t.Fatalf("go mod download %s: %v %s", mod, err, m.Error)
	}
	return filepath.Join(m.Dir, "deploy", "crds")
}

// certManagerDryRun applies cert-manager's CRDs (unless the cluster has
// them already: then it leaves them as they are) and server-side dry-runs
// the whole chart rendered with nats.tls.source=certManager, under another
// release name in the scenario's namespace so nothing collides with the
// live release: the API server validates the Issuer and Certificate
// objects against the real schemas (and every other object as usual),
// with strict field validation, and any error fails the step.
func certManagerDryRun(r *scenario) {
	t, e, ctx := r.t, r.e, r.ctx
	var summary []string
	r.step("3 cert-manager v1.21.2 CRDs; the chart with nats.tls.source=certManager, server-side dry run", func() {
		crds := certManagerCRDs(t)
		if _, err := run(ctx, e.kubectl, "get", "crd", "certificates.cert-manager.io"); err == nil {
			t.Logf("the cluster has cert-manager's CRDs already: validating against those")
		} else {
			// Server-side: the CRDs are larger than client-side apply's
			// last-applied annotation may be (256 KiB).
			if _, err := run(ctx, e.kubectl, "apply", "--server-side", "--field-manager=orders-e2e", "-f", crds); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if _, err := run(context.Background(), e.kubectl, "delete", "--wait=false", "-f", crds); err != nil {
					t.Log(err)
				}
			})
			if _, err := run(ctx, e.kubectl, "wait", "--for=condition=Established", "--timeout=2m", "-f", crds); err != nil {
				t.Fatal(err)
			}
		}
		for _, v := range []struct {
			name string
			set  []string
		}{
			{"the chart's own self-signed CA chain", nil},
			{"mutual TLS, three servers, a ClusterIssuer of the user's", []string{
				"--set", "nats.tls.mutual=true", "--set", "nats.cluster.enabled=true",
				"--set", "nats.tls.certManager.issuerRef.name=corp-ca",
				"--set", "nats.tls.certManager.issuerRef.kind=ClusterIssuer",
				"--set", "nats.tls.certManager.issuerRef.group=cert-manager.io",
			}},
		} {
			args := append([]string{"template", "orders-cm", e.chart, "--namespace", e.namespace, "--skip-tests",
				"--set", "nats.tls.source=certManager"}, v.set...)
			manifest, err := run(ctx, e.helm, args...)
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(t.TempDir(), "certmanager.yaml")
			if err := os.WriteFile(file, []byte(manifest), 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := exec.CommandContext(ctx, e.kubectl, "-n", e.namespace, "apply", "--dry-run=server", "--validate=strict", "-f", file)
			out, err := cmd.CombinedOutput()
			if err != nil || strings.Contains(strings.ToLower(string(out)), "warning") {
				t.Fatalf("%s: kubectl apply --dry-run=server of the chart rendered with nats.tls.source=certManager: %v\n%s", v.name, err, out)
			}
			var cm []string
			for _, l := range strings.Split(string(out), "\n") {
				if strings.Contains(l, "cert-manager.io") {
					cm = append(cm, strings.TrimSpace(l))
				}
			}
			if len(cm) == 0 {
				t.Fatalf("%s: the chart rendered no cert-manager object with nats.tls.source=certManager:\n%s", v.name, out)
			}
			t.Logf("%s: %d objects accepted, %d of cert-manager:\n%s", v.name, strings.Count(strings.TrimSpace(string(out)), "\n")+1, len(cm), strings.Join(cm, "\n"))
			summary = append(summary, fmt.Sprintf("%s: %s", v.name, strings.Join(cm, "; ")))
		}
	})
	r.addExtra("cert-manager dry run (v1.21.2 CRDs, kubectl apply --dry-run=server --validate=strict)", strings.Join(summary, "\n    "))
}

// addExtra adds a titled section to the scenario's report.
func (r *scenario) addExtra(title, body string) {
	r.extra += fmt.Sprintf("\n  %s:\n    %s\n", title, body)
}
