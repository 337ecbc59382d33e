// Package chart tests charts/orders, skaffold.yaml and kind-config.yaml
// offline: helm lint and template, kubeconform against Kubernetes JSON
// schemas, the env contract with the real binaries, the rendered NATS
// configuration with the real nats-server, and orders flowing between the
// binaries run with the rendered environment.
//
// It needs bin/helm, bin/kubeconform, bin/nats-server (make tools),
// bin/producer and bin/consumer (make build), and the schema location in
// ORDERS_SCHEMA_LOCATION (mk/k8s.mk exports it). A missing one fails the
// test with a message; nothing is skipped.
package chart

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"sigs.k8s.io/yaml"
)

const release = "orders"

var (
	rootOnce sync.Once
	rootDir  string
	rootErr  error
)

// repoRoot is the directory of the go.mod above this package.
func repoRoot(t testing.TB) string {
	t.Helper()
	rootOnce.Do(func() {
		out, err := exec.Command("go", "env", "GOMOD").Output()
		if err != nil {
			rootErr = fmt.Errorf("go env GOMOD: %w", err)
			return
		}
		gomod := strings.TrimSpace(string(out))
		if gomod == "" || gomod == os.DevNull {
			rootErr = fmt.Errorf("not inside the module: go env GOMOD is %q", gomod)
			return
		}
		rootDir = filepath.Dir(gomod)
	})
	if rootErr != nil {
		t.Fatal(rootErr)
	}
	return rootDir
}

// tool is the path of a program in ./bin; the test fails when it is missing.
func tool(t testing.TB, name, makeTarget string) string {
	t.Helper()
	p := filepath.Join(repoRoot(t), "bin", name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s is missing (%v): run `make %s` first (make test does)", p, err, makeTarget)
	}
	return p
}

func chartDir(t testing.TB) string { return filepath.Join(repoRoot(t), "charts", "orders") }

// helmTemplate renders the chart with overrides given as "key=value"
// (--set) or "string:key=value" (--set-string) and returns the output, or
// the error text.
func helmTemplate(t testing.TB, sets ...string) (string, error) {
	t.Helper()
	args := []string{"template", release, chartDir(t), "--namespace", "shop"}
	cmd := exec.Command(tool(t, "helm", "tools"), append(args, setFlags(sets)...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("helm %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

func setFlags(sets []string) []string {
	var args []string
	for _, s := range sets {
		if v, ok := strings.CutPrefix(s, "string:"); ok {
			args = append(args, "--set-string", v)
		} else {
			args = append(args, "--set", s)
		}
	}
	return args
}

func mustRender(t testing.TB, sets ...string) string {
	t.Helper()
	out, err := helmTemplate(t, sets...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// obj is one rendered Kubernetes object.
type obj map[string]any

func (o obj) kind() string { s, _ := o["kind"].(string); return s }
func (o obj) name() string { return str(o, "metadata", "name") }
func (o obj) key() string  { return o.kind() + "/" + o.name() }

// objects splits a rendering into its objects (helm's "---" separators).
func objects(t testing.TB, rendered string) []obj {
	t.Helper()
	var objs []obj
	for _, doc := range strings.Split("\n"+rendered, "\n---") {
		if strings.TrimSpace(stripComments(doc)) == "" {
			continue
		}
		var o obj
		if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
			t.Fatalf("rendered YAML does not parse: %v\n%s", err, doc)
		}
		if o != nil {
			objs = append(objs, o)
		}
	}
	return objs
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, l := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

func find(objs []obj, kind, name string) obj {
	for _, o := range objs {
		if o.kind() == kind && o.name() == name {
			return o
		}
	}
	return nil
}

func mustFind(t testing.TB, objs []obj, kind, name string) obj {
	t.Helper()
	o := find(objs, kind, name)
	if o == nil {
		var have []string
		for _, o := range objs {
			have = append(have, o.key())
		}
		t.Fatalf("no %s/%s rendered; have %v", kind, name, have)
	}
	return o
}

// get walks maps by key and slices by "0", "1", ….
func get(v any, path ...string) any {
	for _, p := range path {
		switch c := v.(type) {
		case obj:
			v = map[string]any(c)[p]
		case map[string]any:
			v = c[p]
		case []any:
			var i int
			if _, err := fmt.Sscan(p, &i); err != nil || i < 0 || i >= len(c) {
				return nil
			}
			v = c[i]
		default:
			return nil
		}
	}
	return v
}

func str(v any, path ...string) string { s, _ := get(v, path...).(string); return s }

// podSpec is the pod spec of a Deployment, StatefulSet or Pod.
func podSpec(o obj) map[string]any {
	if o.kind() == "Pod" {
		m, _ := o["spec"].(map[string]any)
		return m
	}
	m, _ := get(o, "spec", "template", "spec").(map[string]any)
	return m
}

func containers(o obj) []map[string]any {
	var cs []map[string]any
	list, _ := get(podSpec(o), "containers").([]any)
	for _, c := range list {
		if m, ok := c.(map[string]any); ok {
			cs = append(cs, m)
		}
	}
	return cs
}

// envVar is one container variable: a value or a secretKeyRef.
type envVar struct {
	value             string
	secret, secretKey string
	fieldPath         string
}

func containerEnv(t testing.TB, c map[string]any) (map[string]envVar, []string) {
	t.Helper()
	env := map[string]envVar{}
	var order []string
	list, _ := c["env"].([]any)
	for _, e := range list {
		name := str(e, "name")
		if _, dup := env[name]; dup {
			t.Errorf("container %s sets %s twice", c["name"], name)
		}
		env[name] = envVar{
			value:     str(e, "value"),
			secret:    str(e, "valueFrom", "secretKeyRef", "name"),
			secretKey: str(e, "valueFrom", "secretKeyRef", "key"),
			fieldPath: str(e, "valueFrom", "fieldRef", "fieldPath"),
		}
		order = append(order, name)
	}
	return env, order
}

// binaryVars are the variables a binary reads, from its -h table.
func binaryVars(t testing.TB, name string) map[string]string {
	t.Helper()
	out, err := exec.Command(tool(t, name, "build"), "-h").CombinedOutput()
	if err != nil {
		t.Fatalf("%s -h: %v\n%s", name, err, out)
	}
	vars := map[string]string{} // name → default
	lines := strings.Split(string(out), "\n")
	var header string
	for _, l := range lines {
		if strings.HasPrefix(l, "KEY ") {
			header = l
			continue
		}
		if header == "" || strings.TrimSpace(l) == "" {
			continue
		}
		key := strings.Fields(l)[0]
		def := ""
		if col := strings.Index(header, "DEFAULT"); col >= 0 && col < len(l) {
			end := strings.Index(header, "DESCRIPTION")
			if end < 0 || end > len(l) {
				end = len(l)
			}
			def = strings.TrimSpace(l[col:end])
		}
		vars[key] = def
	}
	if len(vars) < 10 {
		t.Fatalf("%s -h listed %d variables, want the whole table:\n%s", name, len(vars), out)
	}
	return vars
}

func sortedKeys[M ~map[string]V, V any](m M) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func name(side string) string { return release + "-" + side }
