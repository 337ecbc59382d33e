package chart

import (
	"fmt"
	"testing"
)

// kedaTuned sets every ScaledObject knob beyond the defaults.
var kedaTuned = []string{
	"consumer.keda.enabled=true",
	"consumer.keda.minReplicas=0",
	"consumer.keda.activationLagThreshold=5",
	"consumer.keda.fallback.replicas=3",
	"consumer.keda.fallback.failureThreshold=4",
	"consumer.keda.paused=true",
	"consumer.keda.pausedReplicas=2",
	"consumer.keda.behavior.scaleDown.stabilizationWindowSeconds=45",
}

// wantKEDADefaults: the default lag threshold (docs/autoscaling.md: above
// what a replica holds), Kubernetes' own behaviour written out, no
// fallback and no pause.
func wantKEDADefaults(t *testing.T, so obj) {
	t.Helper()
	meta := get(so, "spec", "triggers", "0", "metadata")
	if str(meta, "lagThreshold") != "640" || str(meta, "activationLagThreshold") != "0" {
		t.Errorf("trigger metadata %v, want lagThreshold 640, activationLagThreshold 0", meta)
	}
	behavior := get(so, "spec", "advanced", "horizontalPodAutoscalerConfig", "behavior")
	if got := get(behavior, "scaleDown", "stabilizationWindowSeconds"); got != float64(300) {
		t.Errorf("scaleDown window = %v, want the Kubernetes default 300", got)
	}
	if got := fmt.Sprint(get(behavior, "scaleUp", "policies")); got != "[map[periodSeconds:15 type:Percent value:100] map[periodSeconds:15 type:Pods value:4]]" {
		t.Errorf("scaleUp policies = %s, want the Kubernetes defaults", got)
	}
	if f := get(so, "spec", "fallback"); f != nil {
		t.Errorf("fallback %v rendered by default", f)
	}
	if a := get(so, "metadata", "annotations"); a != nil {
		t.Errorf("annotations %v rendered by default (paused?)", a)
	}
}

// wantKEDATuned: each value of kedaTuned lands where KEDA reads it.
func wantKEDATuned(t *testing.T, so obj) {
	t.Helper()
	for _, c := range []struct {
		path []string
		want any
	}{
		{[]string{"spec", "minReplicaCount"}, float64(0)},
		{[]string{"spec", "fallback", "replicas"}, float64(3)},
		{[]string{"spec", "fallback", "failureThreshold"}, float64(4)},
		{[]string{"spec", "triggers", "0", "metadata", "activationLagThreshold"}, "5"},
		{[]string{"metadata", "annotations", "autoscaling.keda.sh/paused"}, "true"},
		{[]string{"metadata", "annotations", "autoscaling.keda.sh/paused-replicas"}, "2"},
		{[]string{"spec", "advanced", "horizontalPodAutoscalerConfig", "behavior", "scaleDown", "stabilizationWindowSeconds"}, float64(45)},
	} {
		if got := get(so, c.path...); got != c.want {
			t.Errorf("%v = %v (%T), want %v", c.path, got, got, c.want)
		}
	}
}
