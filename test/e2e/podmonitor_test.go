//go:build e2e

package e2e

import (
	"fmt"
	"regexp"
	"sort"
)

// podMonitor is the part of a monitoring.coreos.com/v1 PodMonitor the
// chart uses (kubectl get podmonitors -o json).
type podMonitor struct {
	Metadata struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Spec struct {
		Selector struct {
			MatchLabels      map[string]string `json:"matchLabels"`
			MatchExpressions []any             `json:"matchExpressions"`
		} `json:"selector"`
		NamespaceSelector map[string]any `json:"namespaceSelector"`
		JobLabel          string         `json:"jobLabel"`
		PodTargetLabels   []string       `json:"podTargetLabels"`
		Endpoints         []struct {
			Port           string `json:"port"`
			Path           string `json:"path"`
			Interval       string `json:"interval"`
			Scheme         string `json:"scheme"`
			RelabelConfigs []any  `json:"relabelings"`
		} `json:"podMetricsEndpoints"`
	} `json:"spec"`
}

var invalidLabelChars = regexp.MustCompile(`[^a-zA-Z0-9_]`)

// scrapeConfigs translates a PodMonitor into Prometheus scrape
// configurations the way the Prometheus Operator (v0.85.0,
// pkg/prometheus/promcfg.go, generatePodMonitorConfig) does for the fields
// the chart sets: one job per endpoint named podMonitor/<ns>/<name>/<i>,
// pod discovery in the monitor's namespace through kubeconfig, running
// pods only, the selector's labels and the endpoint's port kept, and the
// namespace, container, pod, job and endpoint target labels. A field the
// chart does not set and this translation does not know fails the test
// instead of being dropped silently.
func scrapeConfigs(pm podMonitor, kubeconfig string) ([]map[string]any, error) {
	s := pm.Spec
	switch {
	case len(s.Selector.MatchExpressions) > 0, len(s.NamespaceSelector) > 0, s.JobLabel != "", len(s.PodTargetLabels) > 0:
		return nil, fmt.Errorf("PodMonitor %s: matchExpressions, namespaceSelector, jobLabel or podTargetLabels set: this translation does not know them", pm.Metadata.Name)
	}
	var out []map[string]any
	for i, ep := range s.Endpoints {
		if ep.Port == "" || len(ep.RelabelConfigs) > 0 || (ep.Scheme != "" && ep.Scheme != "http") {
			return nil, fmt.Errorf("PodMonitor %s endpoint %d: want a named port, no relabelings, plain http", pm.Metadata.Name, i)
		}
		relabel := []map[string]any{
			{"source_labels": []string{"job"}, "target_label": "__tmp_prometheus_job_name"},
			{"action": "drop", "source_labels": []string{"__meta_kubernetes_pod_phase"}, "regex": "(Failed|Succeeded)"},
		}
		keys := make([]string, 0, len(s.Selector.MatchLabels))
		for k := range s.Selector.MatchLabels {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			l := invalidLabelChars.ReplaceAllString(k, "_")
			relabel = append(relabel, map[string]any{
				"action":        "keep",
				"source_labels": []string{"__meta_kubernetes_pod_label_" + l, "__meta_kubernetes_pod_labelpresent_" + l},
				"regex":         fmt.Sprintf("(%s);true", s.Selector.MatchLabels[k]),
			})
		}
		relabel = append(relabel,
			map[string]any{"action": "keep", "source_labels": []string{"__meta_kubernetes_pod_container_port_name"}, "regex": ep.Port},
			map[string]any{"source_labels": []string{"__meta_kubernetes_namespace"}, "target_label": "namespace"},
			map[string]any{"source_labels": []string{"__meta_kubernetes_pod_container_name"}, "target_label": "container"},
			map[string]any{"source_labels": []string{"__meta_kubernetes_pod_name"}, "target_label": "pod"},
			map[string]any{"target_label": "job", "replacement": pm.Metadata.Namespace + "/" + pm.Metadata.Name},
			map[string]any{"target_label": "endpoint", "replacement": ep.Port},
		)
		job := map[string]any{
			"job_name": fmt.Sprintf("podMonitor/%s/%s/%d", pm.Metadata.Namespace, pm.Metadata.Name, i),
			"kubernetes_sd_configs": []any{map[string]any{
				"role":            "pod",
				"kubeconfig_file": kubeconfig,
				"namespaces":      map[string]any{"names": []string{pm.Metadata.Namespace}},
			}},
			"relabel_configs": relabel,
		}
		if ep.Interval != "" {
			job["scrape_interval"] = ep.Interval
		}
		if ep.Path != "" {
			job["metrics_path"] = ep.Path
		}
		out = append(out, job)
	}
	return out, nil
}
