package chart

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// dashboardAndRules turns on the dashboard ConfigMap and the PrometheusRule.
var dashboardAndRules = []string{"monitoring.dashboard.enabled=true", "monitoring.dashboard.folder=Shop",
	"monitoring.rules.enabled=true", "monitoring.rules.labels.release=prom"}

// TestRulesSelectTheReleasesConsumers: under another name the alert on
// ready consumers watches that release's consumer Deployment.
func TestRulesSelectTheReleasesConsumers(t *testing.T) {
	objs := objects(t, mustRender(t, append([]string{"fullnameOverride=shop-orders"}, dashboardAndRules...)...))
	wantRules(t, mustFind(t, objs, "PrometheusRule", "shop-orders"), "shop-orders-consumer")
	wantDashboard(t, mustFind(t, objs, "ConfigMap", "shop-orders-dashboard"))
}

// wantDashboard: the ConfigMap carries the sidecar's label, the folder
// annotation, and the chart's dashboard JSON unchanged.
func wantDashboard(t *testing.T, cm obj) {
	t.Helper()
	if str(cm, "metadata", "labels", "grafana_dashboard") != "1" || str(cm, "metadata", "annotations", "grafana_folder") != "Shop" {
		t.Errorf("dashboard ConfigMap metadata %v, want label grafana_dashboard=1 and annotation grafana_folder=Shop", cm["metadata"])
	}
	file, err := os.ReadFile(filepath.Join(chartDir(t), "dashboards", "orders.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got := str(cm, "data", "orders.json"); got != strings.TrimRight(string(file), "\n") {
		t.Errorf("the ConfigMap's orders.json differs from dashboards/orders.json (%d vs %d bytes)", len(got), len(file))
	}
}

// wantRules: the PrometheusRule's spec is the rule file promtool tests,
// with the release's consumer Deployment in the kube-state-metrics
// selector, and the ruleSelector label.
func wantRules(t *testing.T, pr obj, consumerDeployment string) {
	t.Helper()
	if str(pr, "metadata", "labels", "release") != "prom" {
		t.Errorf("PrometheusRule labels %v, want release=prom", get(pr, "metadata", "labels"))
	}
	file, err := os.ReadFile(filepath.Join(chartDir(t), "rules", "orders.rules.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := strings.ReplaceAll(string(file), `deployment="orders-consumer"`, `deployment="`+consumerDeployment+`"`)
	var wantSpec any
	if err := yaml.Unmarshal([]byte(want), &wantSpec); err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(pr["spec"])
	w, _ := json.Marshal(wantSpec)
	if string(got) != string(w) {
		t.Errorf("PrometheusRule spec is not rules/orders.rules.yaml for %s:\n got %s\nwant %s", consumerDeployment, got, w)
	}
	if !strings.Contains(string(got), consumerDeployment) {
		t.Errorf("no alert selects the consumer Deployment %s", consumerDeployment)
	}
}

// TestRulesForOverrides: monitoring.rules.for replaces the named alerts'
// `for:` and nothing else; a name that is no alert fails the rendering
// with the list of alerts, a value that is no duration fails the schema.
func TestRulesForOverrides(t *testing.T) {
	objs := objects(t, mustRender(t, "monitoring.rules.enabled=true",
		"monitoring.rules.for.OrdersBacklogGrowing=30s", "monitoring.rules.for.OrdersDeadLettered=1m"))
	pr := mustFind(t, objs, "PrometheusRule", "orders")
	file, err := os.ReadFile(filepath.Join(chartDir(t), "rules", "orders.rules.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var want struct {
		Groups []struct {
			Rules []map[string]any `json:"rules"`
		} `json:"groups"`
	}
	if err := yaml.Unmarshal(file, &want); err != nil {
		t.Fatal(err)
	}
	overridden := map[string]string{"OrdersBacklogGrowing": "30s", "OrdersDeadLettered": "1m"}
	groups, _ := get(pr, "spec", "groups").([]any)
	for gi, g := range groups {
		rules, _ := g.(map[string]any)["rules"].([]any)
		for ri, r := range rules {
			rule := r.(map[string]any)
			name, _ := rule["alert"].(string)
			wantFor, _ := want.Groups[gi].Rules[ri]["for"].(string)
			if o, ok := overridden[name]; ok {
				wantFor = o
			}
			if got, _ := rule["for"].(string); got != wantFor {
				t.Errorf("alert %s: for %q, want %q", name, got, wantFor)
			}
		}
	}
	for _, tc := range []struct{ set, want string }{
		{"monitoring.rules.for.OrdersBacklog=30s", `monitoring.rules.for: no alert named "OrdersBacklog" (the alerts: OrdersBacklogGrowing,`},
		{"monitoring.rules.for.OrdersBacklogGrowing=soon", `'soon' does not match pattern`},
	} {
		_, err := helmTemplate(t, "monitoring.rules.enabled=true", tc.set)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("--set %s: error %v, want one containing %q", tc.set, err, tc.want)
		}
	}
}
