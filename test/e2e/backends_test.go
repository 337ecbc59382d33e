//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/distsys-go/orders/internal/testkit"
)

// backends are the real monitoring backends the monitoring scenario runs
// next to the cluster, as processes of this machine (scripts/monitoring.sh
// builds them from their pinned modules): Prometheus, which scrapes the
// pods the way the chart's PodMonitors say, evaluates the rules of its
// PrometheusRule and sends what fires to an alert receiver of the test;
// kube-state-metrics, for OrdersConsumersMissing; Jaeger, which stores the
// services' traces (OTLP over HTTP) and answers its query API. The pods
// reach Jaeger on the node's address; Prometheus reaches the pods on
// theirs, so the host must route to the pod network (../shared/cluster
// does: the node is this machine).
type backends struct {
	dir                         string // configuration, data and logs, under the artifacts
	prometheus, jaeger, ksm     string // the binaries (E2E_PROMETHEUS, E2E_JAEGER, E2E_KSM)
	crds                        string // the Prometheus Operator's CRDs (E2E_PROMETHEUS_CRDS)
	jaegerConfig                string // test/backends/jaeger/config.yaml
	promURL, jaegerURL, otlpURL string
	ksmAddr                     string
	receiver                    *alertReceiver
}

// needBackends finds the binaries scripts/e2e.sh passes (from
// scripts/monitoring.sh paths) and fails naming what is missing.
func needBackends(t *testing.T, e env) *backends {
	t.Helper()
	b := &backends{
		dir:          filepath.Join(e.artifacts, e.namespace+"-backends"),
		prometheus:   os.Getenv("E2E_PROMETHEUS"),
		jaeger:       os.Getenv("E2E_JAEGER"),
		ksm:          os.Getenv("E2E_KSM"),
		crds:         os.Getenv("E2E_PROMETHEUS_CRDS"),
		jaegerConfig: filepath.Join(repoRoot(t), "test", "backends", "jaeger", "config.yaml"),
	}
	for name, path := range map[string]string{"E2E_PROMETHEUS": b.prometheus, "E2E_JAEGER": b.jaeger, "E2E_KSM": b.ksm, "E2E_PROMETHEUS_CRDS": b.crds} {
		if path == "" {
			t.Fatalf("%s is not set: the monitoring scenario needs the backends scripts/monitoring.sh builds (make e2e passes them)", name)
		}
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if err := os.MkdirAll(b.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return b
}

// portOn is a TCP port nothing listens on at host (the kernel's pick).
func portOn(t *testing.T, host string) string {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

// startProcess starts a backend with its output in dir/name.log and stops
// it (SIGTERM, then SIGKILL after 10s) when the test ends.
func (b *backends) startProcess(t *testing.T, name string, env []string, bin string, args ...string) *exec.Cmd {
	t.Helper()
	logf, err := os.Create(filepath.Join(b.dir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr, cmd.Dir = logf, logf, b.dir
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		logf.Close()
	})
	t.Logf("%s started (pid %d), log %s", name, cmd.Process.Pid, logf.Name())
	return cmd
}

// waitHTTP polls url until it answers 200.
func waitHTTP(t *testing.T, what, url string) {
	t.Helper()
	testkit.Eventually(t, what+" answers "+url, time.Minute, func() (bool, string) {
		resp, err := http.Get(url)
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	}, testkit.Every(500*time.Millisecond))
}

// startJaeger runs Jaeger v2 with in-memory storage: OTLP/HTTP on the
// node's address (where the pods send spans), its query API on loopback.
func (b *backends) startJaeger(t *testing.T, nodeIP string) {
	t.Helper()
	otlp, query := portOn(t, nodeIP), portOn(t, "127.0.0.1")
	b.otlpURL = "http://" + net.JoinHostPort(nodeIP, otlp)
	b.jaegerURL = "http://127.0.0.1:" + query
	b.startProcess(t, "jaeger", []string{
		"JAEGER_OTLP_HTTP=" + net.JoinHostPort(nodeIP, otlp),
		"JAEGER_QUERY_HTTP=127.0.0.1:" + query,
		"JAEGER_QUERY_GRPC=127.0.0.1:" + portOn(t, "127.0.0.1"),
	}, b.jaeger, "--config", b.jaegerConfig)
	waitHTTP(t, "jaeger", b.jaegerURL+"/api/services")
}

// startKSM runs kube-state-metrics against the cluster for the
// namespace's Deployments (the series OrdersConsumersMissing reads).
func (b *backends) startKSM(t *testing.T, kubeconfig, namespace string) {
	t.Helper()
	port, telemetry := portOn(t, "127.0.0.1"), portOn(t, "127.0.0.1")
	b.ksmAddr = "127.0.0.1:" + port
	b.startProcess(t, "kube-state-metrics", nil, b.ksm, "--kubeconfig="+kubeconfig,
		"--resources=deployments", "--namespaces="+namespace,
		"--host=127.0.0.1", "--port="+port, "--telemetry-host=127.0.0.1", "--telemetry-port="+telemetry)
	waitHTTP(t, "kube-state-metrics", "http://"+b.ksmAddr+"/healthz")
}

// startPrometheus writes prometheus.yml (the scrape configurations, the
// rule file, the test's alert receiver as its Alertmanager) and runs
// Prometheus with its API on loopback.
func (b *backends) startPrometheus(t *testing.T, scrapeConfigs []map[string]any, rules json.RawMessage, every time.Duration) {
	t.Helper()
	b.receiver = startAlertReceiver(t)
	ruleFile := filepath.Join(b.dir, "rules.json")
	if err := os.WriteFile(ruleFile, rules, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := map[string]any{
		"global": map[string]any{
			"scrape_interval":     every.String(),
			"evaluation_interval": every.String(),
		},
		"rule_files":     []string{ruleFile},
		"scrape_configs": scrapeConfigs,
		"alerting": map[string]any{"alertmanagers": []any{map[string]any{
			"api_version":    "v2",
			"static_configs": []any{map[string]any{"targets": []string{b.receiver.addr}}},
		}}},
	}
	// YAML is a superset of JSON: Prometheus reads this file as it is.
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	cfgFile := filepath.Join(b.dir, "prometheus.yml")
	if err := os.WriteFile(cfgFile, data, 0o644); err != nil {
		t.Fatal(err)
	}
	port := portOn(t, "127.0.0.1")
	b.promURL = "http://127.0.0.1:" + port
	b.startProcess(t, "prometheus", nil, b.prometheus,
		"--config.file="+cfgFile, "--storage.tsdb.path="+filepath.Join(b.dir, "prometheus-data"),
		"--web.listen-address=127.0.0.1:"+port)
	waitHTTP(t, "prometheus", b.promURL+"/-/ready")
}

// ---- the Prometheus API --------------------------------------------------------

// promAPI GETs path with params from Prometheus' API and decodes its
// data into out; an error answer is an error.
func (b *backends) promAPI(path string, params url.Values, out any) error {
	resp, err := http.Get(b.promURL + path + "?" + params.Encode())
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	var env struct {
		Status string          `json:"status"`
		Data   json.RawMessage `json:"data"`
		Error  string          `json:"error"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return fmt.Errorf("%s: %s: %v", path, resp.Status, err)
	}
	if env.Status != "success" {
		return fmt.Errorf("%s %s: %s", path, params.Get("query"), env.Error)
	}
	return json.Unmarshal(env.Data, out)
}

// promSeries is one series of an instant or range query's answer.
type promSeries struct {
	Metric map[string]string `json:"metric"`
	Value  []any             `json:"value"`
	Values [][]any           `json:"values"`
}

// query runs an instant query and returns its series.
func (b *backends) query(q string) ([]promSeries, error) {
	var data struct {
		ResultType string       `json:"resultType"`
		Result     []promSeries `json:"result"`
	}
	err := b.promAPI("/api/v1/query", url.Values{"query": {q}}, &data)
	return data.Result, err
}

// queryRange runs a range query over the last span at step, as Grafana
// runs a panel's query.
func (b *backends) queryRange(q string, span, step time.Duration) ([]promSeries, error) {
	var data struct {
		Result []promSeries `json:"result"`
	}
	now := time.Now()
	err := b.promAPI("/api/v1/query_range", url.Values{
		"query": {q}, "start": {fmt.Sprint(now.Add(-span).Unix())}, "end": {fmt.Sprint(now.Unix())},
		"step": {fmt.Sprint(int(step.Seconds()))},
	}, &data)
	return data.Result, err
}

// promAlert is an alert of /api/v1/alerts.
type promAlert struct {
	Labels   map[string]string `json:"labels"`
	State    string            `json:"state"` // pending or firing
	ActiveAt time.Time         `json:"activeAt"`
}

// alerts are the alerts Prometheus holds now (pending or firing).
func (b *backends) alerts() ([]promAlert, error) {
	var data struct {
		Alerts []promAlert `json:"alerts"`
	}
	err := b.promAPI("/api/v1/alerts", nil, &data)
	return data.Alerts, err
}

// alertRule is an alerting rule of /api/v1/rules as Prometheus loaded it.
type alertRule struct {
	Name   string      `json:"name"`
	Query  string      `json:"query"`
	State  string      `json:"state"` // inactive, pending or firing
	Health string      `json:"health"`
	Error  string      `json:"lastError"`
	Alerts []promAlert `json:"alerts"`
}

// alertRules are the alerting rules Prometheus evaluates, by name.
func (b *backends) alertRules() (map[string]alertRule, error) {
	var data struct {
		Groups []struct {
			Rules []alertRule `json:"rules"`
		} `json:"groups"`
	}
	if err := b.promAPI("/api/v1/rules", url.Values{"type": {"alert"}}, &data); err != nil {
		return nil, err
	}
	out := map[string]alertRule{}
	for _, g := range data.Groups {
		for _, r := range g.Rules {
			out[r.Name] = r
		}
	}
	return out, nil
}

// selectors are the series selectors of a PromQL expression, each as a
// query of its own ({__name__="…",…}), from Prometheus' own parser
// (/api/v1/parse_query).
func (b *backends) selectors(expr string) ([]string, error) {
	var ast any
	if err := b.promAPI("/api/v1/parse_query", url.Values{"query": {expr}}, &ast); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var walk func(n any)
	walk = func(n any) {
		switch n := n.(type) {
		case map[string]any:
			if typ, _ := n["type"].(string); typ == "vectorSelector" || typ == "matrixSelector" {
				var ms []string
				for _, m := range n["matchers"].([]any) {
					m := m.(map[string]any)
					ms = append(ms, fmt.Sprintf("%s%s%q", m["name"], m["type"], m["value"]))
				}
				sort.Strings(ms)
				seen["{"+strings.Join(ms, ",")+"}"] = true
				return
			}
			for _, v := range n {
				walk(v)
			}
		case []any:
			for _, v := range n {
				walk(v)
			}
		}
	}
	walk(ast)
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	sort.Strings(out)
	return out, nil
}

// promTarget is an active scrape target of /api/v1/targets.
type promTarget struct {
	Labels    map[string]string `json:"labels"`
	ScrapeURL string            `json:"scrapeUrl"`
	Health    string            `json:"health"`
	LastError string            `json:"lastError"`
}

func (b *backends) targets() ([]promTarget, error) {
	var data struct {
		Active []promTarget `json:"activeTargets"`
	}
	err := b.promAPI("/api/v1/targets", url.Values{"state": {"active"}}, &data)
	return data.Active, err
}

// ---- Alertmanager's side: what Prometheus sends -----------------------------------

// alertReceiver stands where an Alertmanager would: it takes Prometheus'
// POST /api/v2/alerts and remembers the firing alerts it was sent.
type alertReceiver struct {
	addr string
	mu   sync.Mutex
	got  map[string]time.Time // alertname: first received
}

func startAlertReceiver(t *testing.T) *alertReceiver {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &alertReceiver{addr: l.Addr().String(), got: map[string]time.Time{}}
	srv := &http.Server{Handler: http.HandlerFunc(r.serve), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return r
}

func (r *alertReceiver) serve(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost || req.URL.Path != "/api/v2/alerts" {
		http.NotFound(w, req)
		return
	}
	var alerts []struct {
		Labels map[string]string `json:"labels"`
	}
	if err := json.NewDecoder(req.Body).Decode(&alerts); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	for _, a := range alerts {
		if _, ok := r.got[a.Labels["alertname"]]; !ok {
			r.got[a.Labels["alertname"]] = time.Now()
		}
	}
	r.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// received says whether Prometheus sent the alert, and when first.
func (r *alertReceiver) received(name string) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	at, ok := r.got[name]
	return at, ok
}

// ---- the Jaeger query API ---------------------------------------------------------

// jaegerSpan is a span of Jaeger's query API (/api/traces).
type jaegerSpan struct {
	TraceID       string `json:"traceID"`
	SpanID        string `json:"spanID"`
	OperationName string `json:"operationName"`
	ProcessID     string `json:"processID"`
	References    []struct {
		RefType string `json:"refType"`
		SpanID  string `json:"spanID"`
	} `json:"references"`
	Tags []struct {
		Key   string `json:"key"`
		Value any    `json:"value"`
	} `json:"tags"`
	service string
}

// parent is the span's CHILD_OF parent ("" for a root).
func (s jaegerSpan) parent() string {
	for _, r := range s.References {
		if r.RefType == "CHILD_OF" {
			return r.SpanID
		}
	}
	return ""
}

// tag is the span's tag key as text ("" when it has none).
func (s jaegerSpan) tag(key string) string {
	for _, kv := range s.Tags {
		if kv.Key == key {
			return fmt.Sprint(kv.Value)
		}
	}
	return ""
}

// jaegerTraces searches Jaeger for traces (params as the UI sends them:
// service, operation, tags, lookback, limit) and returns each trace's
// spans with their service names.
func (b *backends) jaegerTraces(ctx context.Context, path string, params url.Values) ([][]jaegerSpan, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.jaegerURL+path+"?"+params.Encode(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Data []struct {
			Spans     []jaegerSpan `json:"spans"`
			Processes map[string]struct {
				ServiceName string `json:"serviceName"`
			} `json:"processes"`
		} `json:"data"`
		Errors []struct {
			Msg string `json:"msg"`
		} `json:"errors"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("%s: %s: %v", path, resp.Status, err)
	}
	if resp.StatusCode != http.StatusOK || len(body.Errors) > 0 {
		return nil, fmt.Errorf("%s: %s %v", path, resp.Status, body.Errors)
	}
	var out [][]jaegerSpan
	for _, tr := range body.Data {
		for i := range tr.Spans {
			tr.Spans[i].service = tr.Processes[tr.Spans[i].ProcessID].ServiceName
		}
		out = append(out, tr.Spans)
	}
	return out, nil
}
