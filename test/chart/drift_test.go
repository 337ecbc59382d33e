package chart

import (
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/distsys-go/orders/test/audit"
)

// chartOwnDefault are the variables whose default the chart decides for
// itself, so its Deployments differ from the binary's default on purpose.
var chartOwnDefault = map[string]string{
	"NATS_URL":         "the chart's NATS Service, not the binary's 127.0.0.1",
	"STREAM_MAX_BYTES": "a share of nats.jetstream.maxFileStore",
	"DEDUP_MAX_BYTES":  "a share of nats.jetstream.maxFileStore",
	"AUDIT_MAX_BYTES":  "a share of nats.jetstream.maxFileStore, out of the headroom",
	// In a cluster a server answers in milliseconds; the binary keeps
	// nats.go's 2s for a NATS further away.
	"NATS_CONNECT_TIMEOUT": "500ms: a recreated NATS pod's stale address costs that long",
	// The identity's files and names (contract of issue 19).
	"NATS_USER":           "the identity's NATS user",
	"NATS_PASSWORD_FILE":  "the mounted identity Secret",
	"NATS_NKEY_SEED_FILE": "the mounted identity Secret",
	"NATS_CA_FILE":        "the mounted server TLS Secret's ca.crt",
	"NATS_CERT_FILE":      "the mounted client certificate",
	"NATS_KEY_FILE":       "the mounted client certificate",
	"NATS_INBOX_PREFIX":   "_INBOX_<user>, which only that user may subscribe to",
	"PROVISION":           "false while the chart's provision Job makes the stream",
}

// testNames are the variables naming what audit.ChartNames names.
var testNames = map[string]func(audit.Names) string{
	"STREAM_NAME":         func(n audit.Names) string { return n.Stream },
	"SUBJECT":             func(n audit.Names) string { return n.Orders },
	"DEAD_LETTER_SUBJECT": func(n audit.Names) string { return n.DeadLetters },
	"DEDUP_BUCKET":        func(n audit.Names) string { return n.Bucket },
	"QUEUE_GROUP":         func(n audit.Names) string { return n.Durable },
}

// TestDefaultsAgree: the chart's defaults (values.yaml, as its Deployments
// render them), the binaries' defaults (their -h) and the names the tests
// audit (audit.ChartNames) say the same, so none of them can move alone.
// TestEnvContract checks the variables' names; this checks their values.
// The other cases change one of the three and must be caught.
func TestDefaultsAgree(t *testing.T) {
	binaries := map[string]map[string]string{"producer": binaryVars(t, "producer"), "consumer": binaryVars(t, "consumer")}
	cases := []struct {
		name     string
		sets     []string                           // values over values.yaml
		binaries func(map[string]map[string]string) // changes the binaries' defaults
		names    func(*audit.Names)                 // changes the tests' names
		want     []string                           // one disagreement naming each; none for the real three
	}{
		{name: "values.yaml, the binaries and audit.ChartNames"},
		{name: "values that rename the stream", sets: []string{"stream.name=SHOP"},
			want: []string{"producer STREAM_NAME", "consumer STREAM_NAME"}},
		{name: "values that keep processed orders longer", sets: []string{"dedup.ttl=2h"},
			want: []string{"consumer DEDUP_TTL"}},
		{name: "a consumer whose default bucket moved",
			binaries: func(b map[string]map[string]string) { b["consumer"]["DEDUP_BUCKET"] = "orders-done" },
			want:     []string{"consumer DEDUP_BUCKET"}},
		{name: "tests that audit another durable", names: func(n *audit.Names) { n.Durable = "workers" },
			want: []string{"consumer QUEUE_GROUP"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bins := map[string]map[string]string{}
			for side, vars := range binaries {
				bins[side] = maps.Clone(vars)
			}
			if c.binaries != nil {
				c.binaries(bins)
			}
			names := audit.ChartNames()
			if c.names != nil {
				c.names(&names)
			}
			got := disagreements(t, objects(t, mustRender(t, c.sets...)), bins, names)
			if len(got) != len(c.want) {
				t.Fatalf("disagreements:\n%s\nwant %d, naming %v", strings.Join(got, "\n"), len(c.want), c.want)
			}
			for i, w := range c.want {
				if !strings.HasPrefix(got[i], w+":") {
					t.Errorf("disagreement %q, want one about %s", got[i], w)
				}
			}
		})
	}
}

// disagreements lists, as "<side> <VARIABLE>: …", each variable a side's
// Deployment sets to another value than its binary's default (unless the
// chart owns that default) or than the name the tests audit, in the
// binaries' order.
func disagreements(t *testing.T, objs []obj, binaries map[string]map[string]string, names audit.Names) []string {
	t.Helper()
	var out []string
	for _, side := range []string{"producer", "consumer"} {
		env, order := containerEnv(t, containers(mustFind(t, objs, "Deployment", name(side)))[0])
		for _, n := range order {
			v := env[n]
			def, read := binaries[side][n]
			if _, own := chartOwnDefault[n]; own || !read || v.secret != "" {
				continue // TestEnvContract checks that the binary reads it
			}
			if !sameValue(v.value, def) {
				out = append(out, fmt.Sprintf("%s %s: the chart sets %q, bin/%s defaults to %q", side, n, v.value, side, def))
				continue
			}
			if name, ok := testNames[n]; ok && name(names) != v.value {
				out = append(out, fmt.Sprintf("%s %s: the chart and bin/%s say %q, audit.ChartNames %q", side, n, side, v.value, name(names)))
			}
		}
		if side == "consumer" {
			// The consumer reads every name the audit reads: each must be
			// compared, not skipped for want of a rendered value.
			for _, n := range sortedKeys(testNames) {
				if _, set := env[n]; !set {
					out = append(out, fmt.Sprintf("consumer %s: not set by the chart, so not compared with audit.ChartNames", n))
				}
			}
		}
	}
	return out
}

// sameValue compares two settings, durations by length ("1h" is "60m").
func sameValue(a, b string) bool {
	da, errA := time.ParseDuration(a)
	db, errB := time.ParseDuration(b)
	if errA == nil && errB == nil {
		return da == db
	}
	return a == b
}
