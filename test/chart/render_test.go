package chart

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/distsys-go/orders/test/audit"
)

// matrixCase is one set of values the chart must render into valid,
// hardened objects; check asserts what that case is about.
type matrixCase struct {
	name  string
	sets  []string
	kinds []string // kinds that must be rendered besides the defaults' ones
	check func(t *testing.T, objs []obj)
}

var defaultKinds = []string{"Deployment", "StatefulSet", "Service", "ConfigMap", "ServiceAccount", "PodDisruptionBudget", "Pod"}

func matrix() []matrixCase {
	return []matrixCase{
		{name: "defaults", check: func(t *testing.T, objs []obj) {
			sts := mustFind(t, objs, "StatefulSet", name("nats"))
			if got := get(sts, "spec", "replicas"); got != float64(1) {
				t.Errorf("NATS replicas = %v, want 1", got)
			}
			wantLameDuck(t, objs, false)
			if got := get(mustFind(t, objs, "Deployment", name("consumer")), "spec", "replicas"); got != float64(2) {
				t.Errorf("consumer replicas = %v, want 2 (set while no autoscaler runs)", got)
			}
			env, _ := containerEnv(t, containers(mustFind(t, objs, "Deployment", name("consumer")))[0])
			if env["NATS_URL"].value != "tls://orders-nats:4222" || env["STREAM_REPLICAS"].value != "1" {
				t.Errorf("consumer NATS_URL=%q STREAM_REPLICAS=%q", env["NATS_URL"].value, env["STREAM_REPLICAS"].value)
			}
			if v, on := env["OTEL_EXPORTER_OTLP_ENDPOINT"]; on {
				t.Errorf("tracing on by default (OTEL_EXPORTER_OTLP_ENDPOINT=%q); it is opt-in", v.value)
			}
			if find(objs, "ConfigMap", name("dashboard")) != nil {
				t.Error("the dashboard ConfigMap rendered by default; it is opt-in")
			}
			if find(objs, "PodDisruptionBudget", name("nats")) != nil {
				t.Error("a NATS PDB on a single server: it could only block drains")
			}
			if got := str(sts, "spec", "persistentVolumeClaimRetentionPolicy", "whenDeleted"); got != "Retain" {
				t.Errorf("NATS PVCs on uninstall: %q, want Retain by default", got)
			}
			wantSpread(t, mustFind(t, objs, "Deployment", name("consumer")), "kubernetes.io/hostname", "ScheduleAnyway")
			wantSpread(t, sts, "kubernetes.io/hostname", "ScheduleAnyway")
			for _, o := range objs {
				if podSpec(o) != nil && get(podSpec(o), "imagePullSecrets") != nil {
					t.Errorf("%s has imagePullSecrets by default", o.key())
				}
			}
			// Secure by default: TLS, identities, the provision Job and the
			// NetworkPolicies are there without a value set.
			wantSecure(t, objs, securityWant{tls: true, auth: true})
			// Every pod mounts its NATS files (checkPod: 0440) and reads
			// them through its image user's group as fsGroup.
			for _, o := range objs {
				if podSpec(o) == nil {
					continue
				}
				want := float64(65532)
				if o.kind() == "StatefulSet" {
					want = 1000
				}
				vols, _ := get(podSpec(o), "volumes").([]any)
				if got := get(podSpec(o), "securityContext", "fsGroup"); got != want || len(vols) == 0 {
					t.Errorf("%s: fsGroup %v with %d volumes, want fsGroup %v and its NATS files mounted", o.key(), got, len(vols), want)
				}
			}
			for _, kind := range []string{"HorizontalPodAutoscaler", "ScaledObject", "PodMonitor", "ServiceMonitor", "PrometheusRule", "Certificate", "Issuer"} {
				for _, o := range objs {
					if o.kind() == kind {
						t.Errorf("%s rendered by default; it is opt-in", o.key())
					}
				}
			}
		}},
		{name: "storage budget from the JetStream store", sets: []string{"nats.jetstream.storage.size=10Gi", "nats.jetstream.maxFileStore=8G"}, check: func(t *testing.T, objs []obj) {
			wantStorage(t, objs, "4800000000", "2400000000")
		}},
		{name: "storage budget overridden", sets: []string{"stream.maxBytes=500000000", "dedup.maxBytes=400000000"}, check: func(t *testing.T, objs []obj) {
			wantStorage(t, objs, "500000000", "400000000")
		}},
		{name: "external NATS", sets: externalNATS, kinds: []string{"Job", "NetworkPolicy"}, check: func(t *testing.T, objs []obj) {
			for _, o := range objs {
				if o.kind() == "StatefulSet" || o.kind() == "ConfigMap" || o.kind() == "Secret" || strings.Contains(o.name(), "nats") {
					t.Errorf("%s rendered with nats.enabled=false", o.key())
				}
			}
			for _, side := range []string{"producer", "consumer"} {
				env, _ := containerEnv(t, containers(mustFind(t, objs, "Deployment", name(side)))[0])
				if got := env["NATS_URL"].value; got != "tls://nats.messaging:4222" {
					t.Errorf("%s NATS_URL = %q", side, got)
				}
			}
			// The identities and the CA come from the user's Secrets.
			wantSecure(t, objs, securityWant{tls: true, auth: true, external: true})
			np := mustFind(t, objs, "NetworkPolicy", name("clients"))
			if got := fmt.Sprint(get(np, "spec", "egress", "1")); got != "map[ports:[map[port:4222]]]" {
				t.Errorf("clients' egress to the external NATS: %s, want port 4222 of nats.externalURL to any address", got)
			}
		}},
		{name: "3-node cluster", sets: []string{"nats.cluster.enabled=true"}, check: func(t *testing.T, objs []obj) {
			wantLameDuck(t, objs, true)
			sts := mustFind(t, objs, "StatefulSet", name("nats"))
			if get(sts, "spec", "replicas") != float64(3) || str(sts, "spec", "podManagementPolicy") != "Parallel" {
				t.Errorf("NATS cluster: replicas %v, podManagementPolicy %v", get(sts, "spec", "replicas"), get(sts, "spec", "podManagementPolicy"))
			}
			wantRoutes(t, objs, "route:$(ROUTE_SECRET_PASSWORD)@")
			conf := str(mustFind(t, objs, "ConfigMap", name("nats-config")), "data", "nats.conf")
			cluster := conf[strings.Index(conf, "cluster {"):]
			for _, want := range []string{"tls {", "verify: true", "user: route", "password: $ROUTE_PASSWORD"} {
				if !strings.Contains(cluster, want) {
					t.Errorf("the cluster block has no %q: routes must verify certificates and authenticate:\n%s", want, cluster)
				}
			}
			mustFind(t, objs, "Secret", name("nats-route"))
			cons, _ := containerEnv(t, containers(mustFind(t, objs, "Deployment", name("consumer")))[0])
			prod, _ := containerEnv(t, containers(mustFind(t, objs, "Deployment", name("producer")))[0])
			if cons["STREAM_REPLICAS"].value != "3" || cons["DEDUP_REPLICAS"].value != "3" || prod["STREAM_REPLICAS"].value != "3" {
				t.Errorf("3 NATS replicas but STREAM_REPLICAS=%q/%q DEDUP_REPLICAS=%q", prod["STREAM_REPLICAS"].value, cons["STREAM_REPLICAS"].value, cons["DEDUP_REPLICAS"].value)
			}
			// Clients know every server, so they reconnect to a live one.
			want := "tls://orders-nats-0.orders-nats-headless:4222,tls://orders-nats-1.orders-nats-headless:4222,tls://orders-nats-2.orders-nats-headless:4222"
			if cons["NATS_URL"].value != want || prod["NATS_URL"].value != want {
				t.Errorf("NATS_URL = %q / %q, want every server: %s", prod["NATS_URL"].value, cons["NATS_URL"].value, want)
			}
			// A drain takes one server at most, and the pods spread softly.
			pdb := mustFind(t, objs, "PodDisruptionBudget", name("nats"))
			if get(pdb, "spec", "maxUnavailable") != float64(1) || fmt.Sprint(get(pdb, "spec", "selector", "matchLabels")) != fmt.Sprint(get(sts, "spec", "selector", "matchLabels")) {
				t.Errorf("NATS PDB %v, want maxUnavailable 1 over the NATS pods", pdb["spec"])
			}
			wantSpread(t, sts, "kubernetes.io/hostname", "ScheduleAnyway")
			// A rollout restarts one server at a time.
			if str(sts, "spec", "updateStrategy", "type") != "RollingUpdate" || get(sts, "spec", "updateStrategy", "rollingUpdate", "maxUnavailable") != nil {
				t.Errorf("NATS updateStrategy %v, want RollingUpdate one pod at a time", get(sts, "spec", "updateStrategy"))
			}
		}},
		{name: "3-node cluster, plaintext, no auth", sets: []string{"nats.cluster.enabled=true", "nats.tls.enabled=false", "nats.auth.enabled=false"}, check: func(t *testing.T, objs []obj) {
			wantRoutes(t, objs, "")
			wantSecure(t, objs, securityWant{})
		}},
		{name: "auth off", sets: []string{"nats.auth.enabled=false"}, check: func(t *testing.T, objs []obj) {
			wantSecure(t, objs, securityWant{tls: true})
		}},
		{name: "TLS off", sets: []string{"nats.tls.enabled=false"}, check: func(t *testing.T, objs []obj) {
			wantSecure(t, objs, securityWant{auth: true})
		}},
		{name: "TLS from a Secret", sets: []string{"nats.tls.source=secret", "nats.tls.secretName=my-nats-tls"}, check: func(t *testing.T, objs []obj) {
			wantSecure(t, objs, securityWant{tls: true, auth: true, tlsSecret: "my-nats-tls"})
			for _, n := range []string{"nats-ca", "nats-tls"} {
				if find(objs, "Secret", name(n)) != nil {
					t.Errorf("Secret %s rendered with source=secret", name(n))
				}
			}
		}},
		{name: "TLS from cert-manager, own CA", sets: []string{"nats.tls.source=certManager"}, kinds: []string{"Certificate", "Issuer"}, check: func(t *testing.T, objs []obj) {
			wantSecure(t, objs, securityWant{tls: true, auth: true})
			wantCertificates(t, objs, name("nats-ca"), name("nats-tls"))
			if get(mustFind(t, objs, "Issuer", name("nats-selfsigned")), "spec", "selfSigned") == nil || get(mustFind(t, objs, "Certificate", name("nats-ca")), "spec", "isCA") != true {
				t.Error("the chain does not start with a selfSigned Issuer and a CA Certificate")
			}
			if str(mustFind(t, objs, "Issuer", name("nats-ca")), "spec", "ca", "secretName") != name("nats-ca") {
				t.Error("the CA Issuer does not sign with the CA Certificate's Secret")
			}
		}},
		{name: "TLS from cert-manager, given issuer, mutual", sets: []string{"nats.tls.source=certManager", "nats.tls.mutual=true",
			"nats.tls.certManager.issuerRef.name=corp-ca", "nats.tls.certManager.issuerRef.kind=ClusterIssuer", "nats.tls.certManager.issuerRef.group=cert-manager.io"},
			kinds: []string{"Certificate"}, check: func(t *testing.T, objs []obj) {
				wantSecure(t, objs, securityWant{tls: true, auth: true, mutual: true})
				if find(objs, "Issuer", name("nats-ca")) != nil {
					t.Error("the chart's own CA Issuer rendered although issuerRef is given")
				}
				certs := []string{name("nats-tls")}
				for _, u := range identities {
					certs = append(certs, name("nats-"+u+"-tls"))
				}
				wantCertificates(t, objs, certs...)
				if got := fmt.Sprint(get(mustFind(t, objs, "Certificate", name("nats-tls")), "spec", "issuerRef")); got != "map[group:cert-manager.io kind:ClusterIssuer name:corp-ca]" {
					t.Errorf("server Certificate issuerRef %s, want the given one", got)
				}
			}},
		{name: "mutual TLS", sets: []string{"nats.tls.mutual=true"}, check: func(t *testing.T, objs []obj) {
			wantSecure(t, objs, securityWant{tls: true, auth: true, mutual: true})
		}},
		{name: "monitoring TLS", sets: []string{"nats.tls.monitoring=true", "consumer.keda.enabled=true"}, kinds: []string{"ScaledObject"}, check: func(t *testing.T, objs []obj) {
			conf := str(mustFind(t, objs, "ConfigMap", name("nats-config")), "data", "nats.conf")
			if !strings.Contains(conf, "https_port: 8222") || strings.Contains(conf, "http_port:") {
				t.Errorf("nats.conf: want monitoring on https_port 8222 only:\n%s", conf)
			}
			c := containers(mustFind(t, objs, "StatefulSet", name("nats")))[0]
			for _, p := range []string{"startupProbe", "livenessProbe", "readinessProbe"} {
				if got := str(c, p, "httpGet", "scheme"); got != "HTTPS" {
					t.Errorf("NATS %s scheme %q, want HTTPS", p, got)
				}
			}
			if got := str(mustFind(t, objs, "ScaledObject", name("consumer")), "spec", "triggers", "0", "metadata", "useHttps"); got != "true" {
				t.Errorf("KEDA useHttps %q, want true", got)
			}
		}},
		{name: "nkeys from Secrets", sets: nkeyUsers, check: func(t *testing.T, objs []obj) {
			wantSecure(t, objs, securityWant{tls: true, auth: true, nkeys: true})
		}},
		{name: "HPA", sets: []string{"consumer.autoscaling.enabled=true"}, kinds: []string{"HorizontalPodAutoscaler"}, check: func(t *testing.T, objs []obj) {
			hpa := mustFind(t, objs, "HorizontalPodAutoscaler", name("consumer"))
			if str(hpa, "spec", "scaleTargetRef", "name") != name("consumer") {
				t.Errorf("HPA targets %v", get(hpa, "spec", "scaleTargetRef"))
			}
			if _, has := get(mustFind(t, objs, "Deployment", name("consumer")), "spec").(map[string]any)["replicas"]; has {
				t.Error("consumer Deployment sets replicas while the HPA owns them")
			}
		}},
		{name: "KEDA", sets: []string{"consumer.keda.enabled=true", "nats.cluster.enabled=true"}, kinds: []string{"ScaledObject"}, check: func(t *testing.T, objs []obj) {
			so := mustFind(t, objs, "ScaledObject", name("consumer"))
			trig := get(so, "spec", "triggers", "0")
			want := map[string]string{
				"type":                                  "nats-jetstream",
				"metadata/natsServerMonitoringEndpoint": "orders-nats-headless.shop.svc.cluster.local:8222",
				"metadata/stream":                       audit.ChartNames().Stream,
				"metadata/consumer":                     audit.ChartNames().Durable,
				"metadata/account":                      "$G",
				"metadata/useHttps":                     "false",
			}
			for path, w := range want {
				if got := str(trig, strings.Split(path, "/")...); got != w {
					t.Errorf("KEDA trigger %s = %q, want %q", path, got, w)
				}
			}
			if _, has := get(mustFind(t, objs, "Deployment", name("consumer")), "spec").(map[string]any)["replicas"]; has {
				t.Error("consumer Deployment sets replicas while KEDA owns them")
			}
			wantKEDADefaults(t, so)
		}},
		{name: "KEDA fallback, pause, behaviour", sets: kedaTuned, kinds: []string{"ScaledObject"}, check: func(t *testing.T, objs []obj) {
			wantKEDATuned(t, mustFind(t, objs, "ScaledObject", name("consumer")))
		}},
		{name: "HPA behaviour", sets: []string{"consumer.autoscaling.enabled=true", "consumer.autoscaling.behavior.scaleDown.stabilizationWindowSeconds=30"}, kinds: []string{"HorizontalPodAutoscaler"}, check: func(t *testing.T, objs []obj) {
			hpa := mustFind(t, objs, "HorizontalPodAutoscaler", name("consumer"))
			if got := get(hpa, "spec", "behavior", "scaleDown", "stabilizationWindowSeconds"); got != float64(30) {
				t.Errorf("HPA scaleDown window = %v, want 30 from consumer.autoscaling.behavior", got)
			}
		}},
		{name: "PodMonitor", sets: []string{"monitoring.kind=PodMonitor", "monitoring.labels.release=prom"}, kinds: []string{"PodMonitor"}, check: func(t *testing.T, objs []obj) {
			for _, side := range []string{"producer", "consumer"} {
				pm := mustFind(t, objs, "PodMonitor", name(side))
				if str(pm, "spec", "podMetricsEndpoints", "0", "port") != "http" || str(pm, "metadata", "labels", "release") != "prom" {
					t.Errorf("PodMonitor %s: %v", side, pm["spec"])
				}
			}
		}},
		{name: "ServiceMonitor", sets: []string{"monitoring.kind=ServiceMonitor"}, kinds: []string{"ServiceMonitor"}, check: func(t *testing.T, objs []obj) {
			for _, side := range []string{"producer", "consumer"} {
				mustFind(t, objs, "ServiceMonitor", name(side))
				mustFind(t, objs, "Service", name(side+"-metrics"))
			}
		}},
		{name: "dashboard and alerts", sets: dashboardAndRules, kinds: []string{"PrometheusRule"}, check: func(t *testing.T, objs []obj) {
			wantDashboard(t, mustFind(t, objs, "ConfigMap", name("dashboard")))
			wantRules(t, mustFind(t, objs, "PrometheusRule", release), name("consumer"))
		}},
		{name: "NetworkPolicy", sets: []string{"nats.cluster.enabled=true", "consumer.keda.enabled=true", "networkPolicy.monitoringFrom[0].namespaceSelector.matchLabels.name=monitoring",
			"tracing.enabled=true", "tracing.endpoint=http://otel-collector.observability:4318"}, kinds: []string{"NetworkPolicy"}, check: func(t *testing.T, objs []obj) {
			rel := fmt.Sprint(map[string]any{"app.kubernetes.io/instance": release, "app.kubernetes.io/name": "orders"})
			clients := rel + " component In [producer consumer helm-test provision deadletters]"
			natsPods := fmt.Sprint(get(mustFind(t, objs, "StatefulSet", name("nats")), "spec", "selector", "matchLabels"))
			// Each rule: who (selectors) reaches which ports.
			wantPolicyRules(t, mustFind(t, objs, "NetworkPolicy", name("nats")), "ingress", "from", []string{
				clients + " → [nats]",
				rel + " | ns keda | ns map[name:monitoring] → [monitor]",
				natsPods + " → [cluster]",
			})
			np := mustFind(t, objs, "NetworkPolicy", name("clients"))
			if got := fmt.Sprint(get(np, "spec", "policyTypes")); got != "[Ingress Egress]" {
				t.Errorf("clients' policyTypes %s", got)
			}
			wantPolicyRules(t, np, "ingress", "from", []string{"anyone → [http]"})
			wantPolicyRules(t, np, "egress", "to", []string{
				"ns kube-system → [53/UDP 53/TCP]",
				natsPods + " → [4222]",
				"anyone → [4318]",
			})
		}},
		{name: "lame duck overridden", sets: []string{"nats.cluster.enabled=true", "nats.lameDuck.enabled=false"}, check: func(t *testing.T, objs []obj) {
			wantLameDuck(t, objs, false)
		}},
		{name: "imagePullSecrets", sets: []string{"imagePullSecrets[0].name=regcred"}, check: func(t *testing.T, objs []obj) {
			for _, o := range objs {
				if podSpec(o) != nil && fmt.Sprint(get(podSpec(o), "imagePullSecrets")) != "[map[name:regcred]]" {
					t.Errorf("%s imagePullSecrets = %v", o.key(), get(podSpec(o), "imagePullSecrets"))
				}
			}
		}},
		{name: "platform-assigned UIDs", sets: []string{
			"producer.podSecurityContext.runAsUser=null", "producer.podSecurityContext.runAsGroup=null", "producer.podSecurityContext.fsGroup=null",
			"producer.securityContext.runAsUser=null", "producer.securityContext.runAsGroup=null",
			"consumer.podSecurityContext.runAsUser=null", "consumer.podSecurityContext.runAsGroup=null", "consumer.podSecurityContext.fsGroup=null",
			"consumer.securityContext.runAsUser=null", "consumer.securityContext.runAsGroup=null",
			"nats.podSecurityContext.runAsUser=null", "nats.podSecurityContext.runAsGroup=null", "nats.podSecurityContext.fsGroup=null",
		}, check: func(t *testing.T, objs []obj) {
			// Nothing pins a UID or GID; the rest of the hardening stays
			// (checkPod asserts it for every case).
			for _, o := range objs {
				if podSpec(o) == nil {
					continue
				}
				ids := []any{get(podSpec(o), "securityContext", "runAsUser"), get(podSpec(o), "securityContext", "runAsGroup"), get(podSpec(o), "securityContext", "fsGroup")}
				for _, c := range containers(o) {
					ids = append(ids, get(c, "securityContext", "runAsUser"), get(c, "securityContext", "runAsGroup"))
				}
				for _, id := range ids {
					if id != nil {
						t.Errorf("%s still pins uid/gid %v", o.key(), id)
					}
				}
			}
		}},
		{name: "own spreading and probes", sets: []string{
			"consumer.topologySpreadConstraints[0].maxSkew=2", "consumer.topologySpreadConstraints[0].topologyKey=topology.kubernetes.io/zone",
			"consumer.topologySpreadConstraints[0].whenUnsatisfiable=DoNotSchedule",
			"nats.topologySpreadConstraints=null", "producer.readinessProbe.periodSeconds=1",
		}, check: func(t *testing.T, objs []obj) {
			wantSpread(t, mustFind(t, objs, "Deployment", name("consumer")), "topology.kubernetes.io/zone", "DoNotSchedule")
			if tsc := get(podSpec(mustFind(t, objs, "StatefulSet", name("nats"))), "topologySpreadConstraints"); tsc != nil {
				t.Errorf("NATS spreading not turned off: %v", tsc)
			}
			probe := containers(mustFind(t, objs, "Deployment", name("producer")))[0]["readinessProbe"]
			if get(probe, "periodSeconds") != float64(1) || str(probe, "httpGet", "path") != "/readyz" {
				t.Errorf("producer readinessProbe %v, want the default with periodSeconds 1", probe)
			}
		}},
		{name: "PVCs deleted on uninstall", sets: []string{"nats.jetstream.storage.retainOnUninstall=false"}, check: func(t *testing.T, objs []obj) {
			sts := mustFind(t, objs, "StatefulSet", name("nats"))
			if got := get(sts, "spec", "persistentVolumeClaimRetentionPolicy"); fmt.Sprint(got) != "map[whenDeleted:Delete whenScaled:Retain]" {
				t.Errorf("persistentVolumeClaimRetentionPolicy %v", got)
			}
		}},
		{name: "tracing", sets: []string{"tracing.enabled=true", "tracing.endpoint=http://otel-collector.observability:4318", "tracing.samplerRatio=0.25"}, check: func(t *testing.T, objs []obj) {
			for _, side := range []string{"producer", "consumer"} {
				env, _ := containerEnv(t, containers(mustFind(t, objs, "Deployment", name(side)))[0])
				for k, want := range map[string]string{
					"OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel-collector.observability:4318", "OTEL_SERVICE_NAME": name(side),
					"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.25",
				} {
					if env[k].value != want {
						t.Errorf("%s %s = %q, want %q", side, k, env[k].value, want)
					}
				}
			}
		}},
		{name: "core delivery", sets: []string{"common.deliveryMode=core"}, check: func(t *testing.T, objs []obj) {
			env, _ := containerEnv(t, containers(mustFind(t, objs, "Deployment", name("consumer")))[0])
			if env["DELIVERY_MODE"].value != "core" {
				t.Errorf("DELIVERY_MODE = %q", env["DELIVERY_MODE"].value)
			}
		}},
	}
}

func TestHelmLint(t *testing.T) {
	for _, c := range matrix() {
		args := []string{"lint", "--strict", chartDir(t)}
		args = append(args, setFlags(c.sets)...)
		out, err := exec.Command(tool(t, "helm", "tools"), args...).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "0 chart(s) failed") {
			t.Errorf("%s: helm %s: %v\n%s", c.name, strings.Join(args, " "), err, out)
		}
	}
}

// TestRenderMatrix renders every case, validates every object strictly
// against the Kubernetes (and CRD) JSON schemas with kubeconform, checks
// the hardening every pod must have, and the case's own assertions.
func TestRenderMatrix(t *testing.T) {
	for _, c := range matrix() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			rendered := mustRender(t, c.sets...)
			objs := objects(t, rendered)
			kubeconform(t, rendered, len(objs))
			kinds := map[string]bool{}
			for _, o := range objs {
				kinds[o.kind()] = true
			}
			want := c.kinds
			if c.name != "external NATS" {
				want = append(want, defaultKinds...)
			}
			for _, k := range want {
				if !kinds[k] {
					t.Errorf("no %s rendered", k)
				}
			}
			for _, o := range objs {
				if podSpec(o) != nil {
					checkPod(t, o)
				}
			}
			checkNATS(t, objs)
			checkConsumerRollout(t, objs)
			c.check(t, objs)
		})
	}
}

// kubeconformResult is kubeconform's verdict on one object.
type kubeconformResult struct{ Filename, Kind, Name, Status, Msg string }

// kubeconform validates a rendering offline (or online with "default"):
// every one of its objects must be valid.
func kubeconform(t *testing.T, rendered string, objects int) {
	t.Helper()
	res := kubeconformRun(t, rendered)
	valid := 0
	for _, r := range res {
		if r.Status != "statusValid" {
			t.Errorf("kubeconform: %s %s: %s %s", r.Kind, r.Name, r.Status, r.Msg)
		} else {
			valid++
		}
	}
	if valid != objects || len(res) != objects {
		t.Errorf("kubeconform: %d of %d results valid, want all %d objects valid", valid, len(res), objects)
	}
}

// kubeconformRun runs kubeconform strictly on a rendering against the
// Kubernetes and CRD schemas of ORDERS_SCHEMA_LOCATION and the
// cert-manager CRDs (certManagerSchemas).
func kubeconformRun(t *testing.T, rendered string) []kubeconformResult {
	t.Helper()
	loc := os.Getenv("ORDERS_SCHEMA_LOCATION")
	if loc == "" {
		t.Fatal("ORDERS_SCHEMA_LOCATION is unset: run the tests with make (mk/k8s.mk sets it to ../shared/schemas when it exists, else \"default\", kubeconform's online location), or set it to a schema directory")
	}
	k8sVersion := os.Getenv("ORDERS_KUBERNETES_VERSION")
	if k8sVersion == "" {
		k8sVersion = "1.34.0"
	}
	args := []string{"-strict", "-summary", "-verbose", "-output", "json", "-kubernetes-version", k8sVersion}
	if loc == "default" {
		args = append(args, "-schema-location", "default",
			"-schema-location", "https://raw.githubusercontent.com/datreeio/CRDs-catalog/main/{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json")
	} else {
		if _, err := os.Stat(filepath.Join(loc, "kubernetes")); err != nil {
			t.Fatalf("ORDERS_SCHEMA_LOCATION=%s has no kubernetes/ schema folder: %v", loc, err)
		}
		args = append(args,
			"-schema-location", loc+"/kubernetes/{{ .NormalizedKubernetesVersion }}-standalone-strict/{{ .ResourceKind }}{{ .KindSuffix }}.json",
			"-schema-location", loc+"/crds/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json")
	}
	args = append(args, "-schema-location", certManagerSchemas(t)+"/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json")
	cmd := exec.Command(tool(t, "kubeconform", "tools"), append(args, "-")...)
	cmd.Stdin = strings.NewReader(rendered)
	out, err := cmd.Output()
	var res struct {
		Resources []kubeconformResult
		Summary   struct{ Valid, Invalid, Errors, Skipped int }
	}
	if jerr := json.Unmarshal(out, &res); jerr != nil {
		t.Fatalf("kubeconform: %v (%v)\n%s", err, jerr, out)
	}
	if res.Summary.Skipped != 0 {
		t.Errorf("kubeconform skipped %d objects: %+v", res.Summary.Skipped, res.Summary)
	}
	return res.Resources
}

// checkPod asserts what every pod of the release has.
func checkPod(t *testing.T, o obj) {
	t.Helper()
	spec := podSpec(o)
	if spec["enableServiceLinks"] != false {
		t.Errorf("%s: enableServiceLinks is %v, want false", o.key(), spec["enableServiceLinks"])
	}
	if spec["automountServiceAccountToken"] != false {
		t.Errorf("%s: automountServiceAccountToken is %v, want false", o.key(), spec["automountServiceAccountToken"])
	}
	if get(spec, "securityContext", "runAsNonRoot") != true || str(spec, "securityContext", "seccompProfile", "type") != "RuntimeDefault" {
		t.Errorf("%s: pod securityContext %v", o.key(), spec["securityContext"])
	}
	// The mounted NATS files (passwords, seeds, keys) are 0440, group
	// fsGroup, so other users in the pod cannot read them. A pod that pins
	// its user must then pin the fsGroup too, or that user could not read
	// them either; one that pins neither gets both from the platform.
	pinsUser := get(spec, "securityContext", "runAsUser") != nil
	for _, c := range containers(o) {
		pinsUser = pinsUser || get(c, "securityContext", "runAsUser") != nil
	}
	vols, _ := spec["volumes"].([]any)
	for _, v := range vols {
		var mode any
		switch {
		case get(v, "secret") != nil:
			mode = get(v, "secret", "defaultMode")
		case get(v, "projected") != nil:
			mode = get(v, "projected", "defaultMode")
		default:
			continue
		}
		if mode != float64(0o440) {
			t.Errorf("%s: volume %s has defaultMode %v, want 0440 (%d)", o.key(), str(v, "name"), mode, 0o440)
		}
		if fsGroup := get(spec, "securityContext", "fsGroup"); pinsUser && fsGroup == nil {
			t.Errorf("%s: pins its user but no fsGroup: it cannot read volume %s (0440)", o.key(), str(v, "name"))
		}
	}
	for _, c := range containers(o) {
		sc := c["securityContext"]
		if get(sc, "readOnlyRootFilesystem") != true || get(sc, "allowPrivilegeEscalation") != false ||
			fmt.Sprint(get(sc, "capabilities", "drop")) != "[ALL]" {
			t.Errorf("%s/%s: container securityContext %v", o.key(), c["name"], sc)
		}
		img, _ := c["image"].(string)
		if first, _, more := strings.Cut(img, "/"); more && strings.ContainsAny(first, ".:") {
			t.Errorf("%s/%s: image %q names a registry host", o.key(), c["name"], img)
		}
		if c["imagePullPolicy"] != "IfNotPresent" {
			t.Errorf("%s/%s: imagePullPolicy %v, want IfNotPresent", o.key(), c["name"], c["imagePullPolicy"])
		}
		if !strings.Contains(o.name(), "nats") {
			// Our own images: distroless nonroot, or the UID the platform assigns.
			if uid := get(sc, "runAsUser"); (uid != nil && uid != float64(65532)) || get(sc, "runAsNonRoot") != true {
				t.Errorf("%s/%s: runs as %v, want uid 65532 or none", o.key(), c["name"], uid)
			}
		}
	}
	if o.kind() == "Deployment" {
		c := containers(o)[0]
		// The dead-letter toolbox is a tool's pod: no HTTP, no probes.
		if o.name() != name("deadletters") && (str(c, "livenessProbe", "httpGet", "path") != "/healthz" || str(c, "readinessProbe", "httpGet", "path") != "/readyz") {
			t.Errorf("%s: probes %v %v", o.key(), c["livenessProbe"], c["readinessProbe"])
		}
		env, _ := containerEnv(t, c)
		grace, err := time.ParseDuration(env["SHUTDOWN_GRACE"].value)
		if err != nil {
			t.Errorf("%s: SHUTDOWN_GRACE %q: %v", o.key(), env["SHUTDOWN_GRACE"].value, err)
		}
		if tg, _ := spec["terminationGracePeriodSeconds"].(float64); time.Duration(tg)*time.Second <= grace {
			t.Errorf("%s: terminationGracePeriodSeconds %v is not longer than SHUTDOWN_GRACE %v", o.key(), tg, grace)
		}
		if _, set := env["INSTANCE"]; set {
			t.Errorf("%s sets INSTANCE; it must default to the pod name", o.key())
		}
	}
}

// wantLameDuck asserts whether the NATS pods enter lame-duck mode (the
// preStop hook) on termination.
func wantLameDuck(t *testing.T, objs []obj, want bool) {
	t.Helper()
	c := containers(mustFind(t, objs, "StatefulSet", name("nats")))[0]
	if got := get(c, "lifecycle", "preStop") != nil; got != want {
		t.Errorf("NATS lame-duck preStop rendered: %v, want %v", got, want)
	}
}

// checkNATS asserts the lame-duck shutdown and the official chart's probes.
func checkNATS(t *testing.T, objs []obj) {
	t.Helper()
	sts := find(objs, "StatefulSet", name("nats"))
	if sts == nil {
		return
	}
	conf := str(mustFind(t, objs, "ConfigMap", name("nats-config")), "data", "nats.conf")
	seconds := func(key string) int {
		for _, l := range strings.Split(conf, "\n") {
			if f := strings.SplitN(strings.TrimSpace(l), ":", 2); len(f) == 2 && f[0] == key {
				d, err := time.ParseDuration(strings.Trim(strings.TrimSpace(f[1]), `"`))
				if err != nil {
					t.Fatalf("nats.conf %s: %v", key, err)
				}
				return int(d.Seconds())
			}
		}
		t.Fatalf("nats.conf has no %s:\n%s", key, conf)
		return 0
	}
	// Lame duck is on with a cluster and off for a single server unless a
	// case overrides it; either way the kubelet must not kill the server
	// before it is done.
	c := containers(sts)[0]
	tg := int(get(podSpec(sts), "terminationGracePeriodSeconds").(float64))
	if preStop := get(c, "lifecycle", "preStop"); preStop != nil {
		if got := fmt.Sprint(get(preStop, "exec", "command")); got != "[nats-server --signal ldm=/var/run/nats/nats.pid]" {
			t.Errorf("NATS preStop = %s", got)
		}
		if !strings.Contains(conf, `pid_file: "/var/run/nats/nats.pid"`) {
			t.Error("nats.conf writes no pid file where preStop signals it")
		}
		if ldm := seconds("lame_duck_grace_period") + seconds("lame_duck_duration"); tg < ldm+10 {
			t.Errorf("NATS terminationGracePeriodSeconds %d < lame-duck %ds + 10s margin", tg, ldm)
		}
	} else if tg < 10 {
		t.Errorf("NATS terminationGracePeriodSeconds %d: under 10s for JetStream to flush", tg)
	}
	probes := map[string]string{"livenessProbe": "/healthz?js-enabled-only=true", "readinessProbe": "/healthz?js-server-only=true", "startupProbe": "/healthz"}
	for p, path := range probes {
		if str(c, p, "httpGet", "path") != path || str(c, p, "httpGet", "port") != "monitor" {
			t.Errorf("NATS %s = %v, want %s on the monitor port", p, c[p], path)
		}
	}
	if str(sts, "spec", "volumeClaimTemplates", "0", "metadata", "name") != "data" {
		t.Error("NATS JetStream has no PVC")
	}
	// Servers resolve each other before any is ready (a server is ready
	// only once it has its routes).
	headless := mustFind(t, objs, "Service", name("nats-headless"))
	if get(headless, "spec", "clusterIP") != "None" || get(headless, "spec", "publishNotReadyAddresses") != true {
		t.Errorf("headless NATS Service %v, want clusterIP None and publishNotReadyAddresses", headless["spec"])
	}
}

// wantRoutes asserts the NATS cluster's routes: nats.conf takes them from
// $NATS_ROUTE_<i>, which name every server under the headless Service,
// with creds (as Kubernetes references) in front of the host.
func wantRoutes(t *testing.T, objs []obj, creds string) {
	t.Helper()
	conf := str(mustFind(t, objs, "ConfigMap", name("nats-config")), "data", "nats.conf")
	env, _ := containerEnv(t, containers(mustFind(t, objs, "StatefulSet", name("nats")))[0])
	for i := 0; i < 3; i++ {
		v := fmt.Sprintf("NATS_ROUTE_%d", i)
		want := fmt.Sprintf(`"nats://%sorders-nats-%d.orders-nats-headless:6222"`, creds, i)
		if env[v].value != want {
			t.Errorf("%s = %q, want %s", v, env[v].value, want)
		}
		if !strings.Contains(conf, "$"+v) {
			t.Errorf("nats.conf has no route $%s:\n%s", v, conf)
		}
	}
}

// wantSpread asserts a soft or hard spread of a workload's own pods.
func wantSpread(t *testing.T, o obj, topologyKey, when string) {
	t.Helper()
	tsc := get(podSpec(o), "topologySpreadConstraints", "0")
	if str(tsc, "topologyKey") != topologyKey || str(tsc, "whenUnsatisfiable") != when ||
		fmt.Sprint(get(tsc, "labelSelector", "matchLabels")) != fmt.Sprint(get(o, "spec", "selector", "matchLabels")) {
		t.Errorf("%s topologySpreadConstraints %v, want %s on %s over its own pods", o.key(), get(podSpec(o), "topologySpreadConstraints"), when, topologyKey)
	}
}

// checkConsumerRollout: rolling updates never go below the wanted consumers,
// and a PDB guards voluntary disruptions.
func checkConsumerRollout(t *testing.T, objs []obj) {
	t.Helper()
	d := mustFind(t, objs, "Deployment", name("consumer"))
	if get(d, "spec", "strategy", "rollingUpdate", "maxUnavailable") != float64(0) {
		t.Errorf("consumer rolling update: %v, want maxUnavailable 0", get(d, "spec", "strategy"))
	}
	pdb := mustFind(t, objs, "PodDisruptionBudget", name("consumer"))
	if fmt.Sprint(get(pdb, "spec", "selector", "matchLabels")) != fmt.Sprint(get(d, "spec", "selector", "matchLabels")) {
		t.Error("consumer PDB does not select the consumer pods")
	}
}

// TestValuesSchemaRejects: misspelled keys, wrong types, unknown variables
// and contradictory settings fail at render time with a useful message.
func TestValuesSchemaRejects(t *testing.T) {
	cases := []struct {
		name string
		sets []string
		want string
	}{
		{"misspelled top-level key", []string{"consumr.replicaCount=3"}, "consumr"},
		{"misspelled nested key", []string{"consumer.replicaCont=3"}, "replicaCont"},
		{"wrong type", []string{"consumer.replicaCount=two"}, "replicaCount"},
		{"unknown delivery mode", []string{"common.deliveryMode=exactly-once"}, "deliveryMode"},
		{"variable no binary reads", []string{"consumer.env.CONCURENCY=8"}, "CONCURENCY"},
		{"producer variable on the consumer", []string{"consumer.env.PUBLISH_RATE=8"}, "PUBLISH_RATE"},
		{"PUBLISH_COUNT on the producer Deployment", []string{"producer.env.PUBLISH_COUNT=5"}, "PUBLISH_COUNT"},
		{"env value not a string", []string{"consumer.env.CONCURRENCY=8"}, "CONCURRENCY"},
		{"bad duration", []string{"stream.maxAge=a week"}, "maxAge"},
		{"HPA and KEDA together", []string{"consumer.autoscaling.enabled=true", "consumer.keda.enabled=true"}, "exclusive"},
		{"external NATS without URL", []string{"nats.enabled=false", "nats.tls.enabled=false", "nats.auth.enabled=false"}, "nats.externalURL"},
		{"KEDA min above max", []string{"consumer.keda.enabled=true", "consumer.keda.minReplicas=4", "consumer.keda.maxReplicas=2"}, "minReplicas (4) is above maxReplicas (2)"},
		{"KEDA behaviour policy type", []string{"consumer.keda.behavior.scaleDown.policies[0].type=Percentage"}, "type"},
		{"KEDA paused replicas negative", []string{"consumer.keda.pausedReplicas=-1"}, "pausedReplicas"},
		{"KEDA on external NATS without endpoint", append([]string{"consumer.keda.enabled=true"}, externalNATS...), "monitoringEndpoint"},
		{"bad pull policy", []string{"producer.image.pullPolicy=Sometimes"}, "pullPolicy"},
		{"misspelled shared pod key", []string{"consumer.podSecurityContxt.runAsUser=1"}, "podSecurityContxt"},
		{"misspelled NATS key", []string{"nats.podDisruptionBudgt.enabled=true"}, "podDisruptionBudgt"},
		// Issue 19: the opt-outs are booleans, the source one of three, and
		// the combinations that cannot work fail with the reason.
		{"TLS opt-out not a boolean", []string{"string:nats.tls.enabled=no"}, "enabled"},
		{"auth opt-out not a boolean", []string{"string:nats.auth.enabled=off"}, "enabled"},
		{"unknown certificate source", []string{"nats.tls.source=vault"}, "source"},
		{"Secret source without a name", []string{"nats.tls.source=secret"}, "secretName"},
		{"monitoring TLS with mutual TLS", []string{"nats.tls.monitoring=true", "nats.tls.mutual=true"}, "kubelet's probes"},
		{"mutual TLS with the user's Secret", []string{"nats.tls.mutual=true", "nats.tls.source=secret", "nats.tls.secretName=x"}, "no CA key to sign the clients' certificates"},
		{"mutual TLS on external NATS", append([]string{"nats.tls.mutual=true"}, externalNATS...), "cannot issue client certificates"},
		{"external NATS without the CA", []string{"nats.enabled=false", "nats.externalURL=tls://n:4222", "nats.auth.enabled=false"}, "nats.tls.secretName is required"},
		{"external NATS without identities", []string{"nats.enabled=false", "nats.externalURL=tls://n:4222", "nats.tls.secretName=ca"}, "nats.auth.users.consumer.existingSecret is required"},
		{"nkey without its seed's Secret", []string{"nats.auth.users.producer.nkey=UBHCBJRE6JQ6YQAVVVI77GTN26QMF7BAXD56ON74YN624I67FKN2M3EB"}, "nats.auth.users.producer.existingSecret"},
		{"nkey that is no user key", []string{"nats.auth.users.producer.nkey=SUALUXJIC7ESE5X7CBM322KW4LTCGLNQ6N6E3H7TLZ3S5FLQXNWTZNNT2A"}, "nkey"},
		{"misspelled identity", []string{"nats.auth.users.producr.existingSecret=x"}, "producr"},
		{"the old shared password", []string{"nats.auth.password=x"}, "password"},
		{"issuerRef kind", []string{"nats.tls.source=certManager", "nats.tls.certManager.issuerRef.name=x", "nats.tls.certManager.issuerRef.kind=Vault"}, "kind"},
		{"reloader interval zero", []string{"nats.tls.reloader.intervalSeconds=0"}, "intervalSeconds"},
		{"KEDA namespace not a name", []string{"networkPolicy.kedaNamespace=KEDA!"}, "kedaNamespace"},
		{"spread constraint without topologyKey", []string{"consumer.topologySpreadConstraints[0].maxSkew=1"}, "topologyKey"},
		{"pull secret without name", []string{"imagePullSecrets[0].nme=regcred"}, "imagePullSecrets"},
		{"stream and ledger over the JetStream store", []string{"stream.maxBytes=800000000"},
			"stream.maxBytes (800000000) + dedup.maxBytes (300000000) + 10% headroom (100000000) = 1200000000 bytes exceed nats.jetstream.maxFileStore=1G"},
		{"JetStream store over the PVC", []string{"nats.jetstream.maxFileStore=3G"},
			"nats.jetstream.maxFileStore=3G (3000000000 bytes) exceeds nats.jetstream.storage.size=2Gi (2147483648 bytes)"},
		{"stream bytes in MiB by mistake", []string{"stream.maxBytes=600"}, "maxBytes"},
		{"tracing without endpoint", []string{"tracing.enabled=true"}, "endpoint"},
		{"tracing endpoint without scheme", []string{"tracing.enabled=true", "tracing.endpoint=otel:4318"}, "endpoint"},
		{"sampler ratio above 1", []string{"tracing.samplerRatio=1.5"}, "samplerRatio"},
		{"OTEL variable no binary reads", []string{"consumer.env.OTEL_TRACES_EXPORTER=console"}, "OTEL_TRACES_EXPORTER"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := helmTemplate(t, c.sets...)
			if err == nil {
				t.Fatalf("helm template %v succeeded, want it rejected", c.sets)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error does not name %q:\n%v", c.want, err)
			}
		})
	}
}

// TestOneSideChangeTouchesOnlyThatSide renders twice and compares: a change
// to one side's image or values changes that side's objects only, so helm
// upgrade restarts only its pods. The Secrets are compared by their keys:
// helm template has no cluster to look the generated ones up in, so it
// makes new passwords and certificates each time (an upgrade keeps them).
func TestOneSideChangeTouchesOnlyThatSide(t *testing.T) {
	cases := []struct {
		name        string
		base, sets  []string
		wantChanged []string
	}{
		// The provision Job and the dead-letter toolbox run the consumer
		// image: the Job is made anew, the toolbox rolls.
		{"consumer image tag", nil, []string{"consumer.image.tag=v2"}, []string{"Deployment/orders-consumer", "Deployment/orders-deadletters", "Job/orders-provision-*"}},
		{"consumer replicas", nil, []string{"consumer.replicaCount=5"}, []string{"Deployment/orders-consumer"}},
		{"producer image tag", nil, []string{"producer.image.tag=v2"}, []string{"Deployment/orders-producer", "Pod/orders-test-orders-flow"}},
		{"consumer image tag without auth", []string{"nats.auth.enabled=false"}, []string{"consumer.image.tag=v2"}, []string{"Deployment/orders-consumer", "Deployment/orders-deadletters"}},
		// An identity's own Secret: its pods and the server (which reads
		// the password from its environment) restart, no other.
		{"the producer's Secret", nil, []string{"nats.auth.users.producer.existingSecret=shop-producer"},
			[]string{"Deployment/orders-producer", "Secret/orders-nats-producer", "StatefulSet/orders-nats"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			before := byKey(objects(t, mustRender(t, c.base...)))
			after := byKey(objects(t, mustRender(t, append(append([]string{}, c.base...), c.sets...)...)))
			var changed []string
			for _, k := range sortedKeys(after) {
				if fmt.Sprint(before[k]) != fmt.Sprint(after[k]) {
					changed = append(changed, k)
				}
			}
			for _, k := range sortedKeys(before) {
				if _, kept := after[k]; !kept {
					changed = append(changed, k)
				}
			}
			sort.Strings(changed)
			got := strings.Join(changed, " ")
			got = regexp.MustCompile(`Job/orders-provision-[0-9a-f]{8}( Job/orders-provision-[0-9a-f]{8})?`).ReplaceAllString(got, "Job/orders-provision-*")
			if got != strings.Join(c.wantChanged, " ") {
				t.Errorf("changed objects %v, want exactly %v", changed, c.wantChanged)
			}
		})
	}
}

func byKey(objs []obj) map[string]string {
	m := map[string]string{}
	for _, o := range objs {
		if o.kind() == "Secret" {
			data, _ := o["data"].(map[string]any)
			m[o.key()] = fmt.Sprint(sortedKeys(data))
			continue
		}
		b, _ := json.Marshal(o)
		m[o.key()] = string(b)
	}
	return m
}

// TestReplicasField: the consumer Deployment carries replicas exactly when no
// autoscaler owns them, and the chosen number.
func TestReplicasField(t *testing.T) {
	for _, n := range []int{0, 1, 7} {
		d := mustFind(t, objects(t, mustRender(t, "consumer.replicaCount="+strconv.Itoa(n))), "Deployment", name("consumer"))
		if get(d, "spec", "replicas") != float64(n) {
			t.Errorf("consumer.replicaCount=%d rendered replicas %v", n, get(d, "spec", "replicas"))
		}
	}
}

// wantStorage checks STREAM_MAX_BYTES on both sides (they ensure the same
// stream) and DEDUP_MAX_BYTES on the consumer.
func wantStorage(t *testing.T, objs []obj, stream, dedup string) {
	t.Helper()
	for _, side := range []string{"producer", "consumer"} {
		env, _ := containerEnv(t, containers(mustFind(t, objs, "Deployment", name(side)))[0])
		if got := env["STREAM_MAX_BYTES"].value; got != stream {
			t.Errorf("%s STREAM_MAX_BYTES=%q, want %s", side, got, stream)
		}
		if got := env["DEDUP_MAX_BYTES"].value; side == "consumer" && got != dedup {
			t.Errorf("consumer DEDUP_MAX_BYTES=%q, want %s", got, dedup)
		}
	}
}
