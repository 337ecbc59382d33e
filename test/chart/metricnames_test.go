package chart

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/distsys-go/orders/internal/natstest"
	"github.com/distsys-go/orders/internal/testkit"
)

// kubeStateMetrics are the names the alerts may query that the binaries do
// not export: kube-state-metrics' (docs/observability.md says so). Nothing
// else is allowed from outside.
var kubeStateMetrics = []string{"kube_deployment_spec_replicas", "kube_deployment_status_replicas_ready"}

// TestQueriedMetricsAreExported: every metric name the dashboard and the
// alerting rules query is one the two binaries export (scraped from their
// /metrics while they run against a real server), or a kube-state-metrics
// name on the short list above. A renamed metric or a typo in a query
// fails here instead of showing an empty panel or an alert that never fires.
func TestQueriedMetricsAreExported(t *testing.T) {
	exported := exportedNames(t)
	queried := map[string][]string{} // name → where
	for _, q := range append(dashboardQueries(t), ruleQueries(t)...) {
		for _, n := range metricNames(q.expr) {
			queried[n] = append(queried[n], q.where)
		}
	}
	allowed := map[string]bool{}
	for _, n := range kubeStateMetrics {
		allowed[n] = true
	}
	if len(queried) < 20 {
		t.Fatalf("only %d metric names found in the dashboard and the rules; the extraction is broken: %v", len(queried), sortedKeys(queried))
	}
	for _, n := range sortedKeys(queried) {
		if !exported[n] && !allowed[n] {
			t.Errorf("%s is queried (%s) but neither binary exports it", n, strings.Join(queried[n], "; "))
		}
	}
	for _, n := range kubeStateMetrics {
		if len(queried[n]) == 0 {
			t.Errorf("%s is allowed but nothing queries it: drop it from the list", n)
		}
	}
}

// chartFile decodes a YAML or JSON file of the chart into v.
func chartFile(t *testing.T, rel string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(chartDir(t), filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
}

// query is one PromQL expression and where it was found.
type query struct{ where, expr string }

func dashboardQueries(t *testing.T) []query {
	t.Helper()
	var d struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
		Templating struct {
			List []struct {
				Name       string
				Definition string
			}
		}
	}
	chartFile(t, "dashboards/orders.json", &d)
	var qs []query
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			qs = append(qs, query{"panel " + p.Title, tg.Expr})
		}
	}
	for _, v := range d.Templating.List {
		// label_values(metric, label): the metric is the first argument.
		if m := labelValues.FindStringSubmatch(v.Definition); m != nil {
			qs = append(qs, query{"variable " + v.Name, m[1]})
		}
	}
	return qs
}

var labelValues = regexp.MustCompile(`^label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)`)

func ruleQueries(t *testing.T) []query {
	t.Helper()
	var f struct {
		Groups []struct {
			Rules []struct{ Alert, Record, Expr string }
		}
	}
	chartFile(t, "rules/orders.rules.yaml", &f)
	var qs []query
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			qs = append(qs, query{"alert " + r.Alert + r.Record, r.Expr})
		}
	}
	return qs
}

// The parts of a PromQL expression that name no metric: strings, label
// matchers, ranges and subqueries (with Grafana's $__rate_interval), and
// label lists of by/without/on/ignoring/group_left/group_right.
var (
	promqlStrings    = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'`)
	promqlMatchers   = regexp.MustCompile(`\{[^}]*\}`)
	promqlRanges     = regexp.MustCompile(`\[[^\]]*\]`)
	promqlLabelLists = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promqlIdent      = regexp.MustCompile(`\b[a-zA-Z_:][a-zA-Z0-9_:]*\b\s*\(?`)
	promqlKeywords   = map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "offset": true,
		"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true, "inf": true, "nan": true}
)

// metricNames are the metric names in a PromQL expression: identifiers
// that are neither a function or aggregation (followed by "("), a keyword,
// a label name nor a number.
func metricNames(expr string) []string {
	for _, re := range []*regexp.Regexp{promqlStrings, promqlMatchers, promqlRanges, promqlLabelLists} {
		expr = re.ReplaceAllString(expr, " ")
	}
	seen := map[string]bool{}
	var names []string
	for _, m := range promqlIdent.FindAllString(expr, -1) {
		if strings.HasSuffix(m, "(") {
			continue // a function or an aggregation
		}
		n := strings.TrimSpace(m)
		if promqlKeywords[strings.ToLower(n)] || seen[n] {
			continue
		}
		seen[n] = true
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func TestMetricNamesOfAQuery(t *testing.T) {
	cases := []struct{ expr, want string }{
		{`sum by (pod) (rate(orders_published_total{namespace="$namespace"}[$__rate_interval]))`, "orders_published_total"},
		{`histogram_quantile(0.99, sum by (le) (rate(orders_event_age_seconds_bucket{job=~"a|b"}[5m])))`, "orders_event_age_seconds_bucket"},
		{"max by (namespace) (a_bytes) / max by (namespace) (b_max_bytes) > 0.8\nor on (namespace, stream) c offset 10m", "a_bytes b_max_bytes c"},
		{`x == bool 0 unless ignoring (pod) group_left (version) y`, "x y"},
		{`time() - max(orders_jetstream_info_last_success_timestamp_seconds)`, "orders_jetstream_info_last_success_timestamp_seconds"},
		{`sum (rate(orders_processed_total[5m])) + sum (rate (orders_failed_total[5m:1m]))`, "orders_failed_total orders_processed_total"},
	}
	for _, c := range cases {
		if got := strings.Join(metricNames(c.expr), " "); got != c.want {
			t.Errorf("metricNames(%q) = %q, want %q", c.expr, got, c.want)
		}
	}
}

// exportedNames are the sample names on both binaries' /metrics while they
// run against a real server, once the consumer has read its JetStream
// gauges (they are absent until the first reading).
func exportedNames(t *testing.T) map[string]bool {
	t.Helper()
	srv := natstest.Run(t)
	env := []string{"NATS_URL=" + srv.ClientURL(), "HTTP_ADDR=127.0.0.1:0", "METRICS_INTERVAL=1s"}
	consumer := testkit.Start(t, tool(t, "consumer", "build"), env)
	producer := testkit.Start(t, tool(t, "producer", "build"), env)
	caddr, paddr := consumer.WaitReady(t), producer.WaitReady(t)
	testkit.Eventually(t, "the consumer's JetStream gauges", testkit.Bound, func() (bool, string) {
		m := testkit.Metrics(t, caddr)
		return strings.Contains(m, "orders_jetstream_info_last_success_timestamp_seconds ") && strings.Contains(m, "orders_consumer_pending_messages{"),
			fmt.Sprintf("%d bytes of /metrics without them", len(m))
	})
	names := map[string]bool{}
	for _, addr := range []string{caddr, paddr} {
		sc := bufio.NewScanner(strings.NewReader(testkit.Metrics(t, addr)))
		for sc.Scan() {
			line := sc.Text()
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			if i := strings.IndexAny(line, "{ "); i > 0 {
				names[line[:i]] = true
			}
		}
	}
	return names
}
