package chart

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"sigs.k8s.io/yaml"
)

// certManagerModule ships the cert-manager CRDs the chart's Issuer and
// Certificate objects are validated against (deploy/crds). It is not a
// dependency of ours: `go mod download` fetches it into the module cache
// (once; offline afterwards), and go.mod does not change.
const certManagerModule = "github.com/cert-manager/cert-manager@v1.21.2"

var (
	cmOnce sync.Once
	cmDir  string
	cmErr  error
)

// certManagerSchemas is a folder of kubeconform JSON schemas,
// <group>/<kind>_<version>.json, made from the openAPIV3Schema of every
// version of every cert-manager CRD, strict as kubeconform's own
// Kubernetes schemas are (no property a schema does not name).
func certManagerSchemas(t testing.TB) string {
	t.Helper()
	cmOnce.Do(func() { cmDir, cmErr = convertCertManagerCRDs(repoRoot(t)) })
	if cmErr != nil {
		t.Fatal(cmErr)
	}
	return cmDir
}

func convertCertManagerCRDs(root string) (string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", certManagerModule)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go mod download %s (it needs the module proxy once, then the module cache): %v\n%s", certManagerModule, err, out)
	}
	var mod struct{ Dir, Error string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		return "", fmt.Errorf("go mod download %s: %v %s\n%s", certManagerModule, err, mod.Error, out)
	}
	files, err := filepath.Glob(filepath.Join(mod.Dir, "deploy", "crds", "*.yaml"))
	if err != nil || len(files) == 0 {
		return "", fmt.Errorf("%s has no deploy/crds/*.yaml (%v)", mod.Dir, err)
	}
	dir, err := os.MkdirTemp("", "orders-cert-manager-schemas-")
	if err != nil {
		return "", err
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		var crd struct {
			Kind string
			Spec struct {
				Group    string
				Names    struct{ Kind string }
				Versions []struct {
					Name   string
					Schema struct {
						OpenAPIV3Schema map[string]any `json:"openAPIV3Schema"`
					}
				}
			}
		}
		if err := yaml.Unmarshal(b, &crd); err != nil {
			return "", fmt.Errorf("%s: %w", f, err)
		}
		if crd.Kind != "CustomResourceDefinition" || len(crd.Spec.Versions) == 0 {
			continue // the README
		}
		for _, v := range crd.Spec.Versions {
			schema := strictSchema(v.Schema.OpenAPIV3Schema)
			p := filepath.Join(dir, crd.Spec.Group, strings.ToLower(crd.Spec.Names.Kind)+"_"+v.Name+".json")
			js, err := json.MarshalIndent(schema, "", "  ")
			if err != nil {
				return "", err
			}
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return "", err
			}
			if err := os.WriteFile(p, js, 0o644); err != nil {
				return "", err
			}
		}
	}
	return dir, nil
}

// strictSchema turns a CRD's OpenAPI v3 schema into JSON Schema as
// openapi2jsonschema does for kubeconform: int-or-string becomes either
// type, and every object that lists its properties allows no others
// (unless it preserves unknown fields).
func strictSchema(s map[string]any) map[string]any {
	if s["x-kubernetes-int-or-string"] == true {
		delete(s, "type")
		s["oneOf"] = []any{map[string]any{"type": "string"}, map[string]any{"type": "integer"}}
	}
	if props, ok := s["properties"].(map[string]any); ok {
		for _, p := range props {
			if m, ok := p.(map[string]any); ok {
				strictSchema(m)
			}
		}
		if _, set := s["additionalProperties"]; !set && s["x-kubernetes-preserve-unknown-fields"] != true {
			s["additionalProperties"] = false
		}
	}
	if items, ok := s["items"].(map[string]any); ok {
		strictSchema(items)
	}
	if ap, ok := s["additionalProperties"].(map[string]any); ok {
		strictSchema(ap)
	}
	return s
}

// TestCertManagerSchemasCatchMistakes: the converted CRDs are in use and
// strict: the chart's own Certificate validates, and the same object with
// a misspelled field, a wrong type or an unknown usage does not.
func TestCertManagerSchemasCatchMistakes(t *testing.T) {
	objs := objects(t, mustRender(t, "nats.tls.source=certManager"))
	cert := mustFind(t, objs, "Certificate", name("nats-tls"))
	cases := []struct {
		name  string
		edit  func(spec map[string]any)
		valid bool
	}{
		{"as rendered", func(map[string]any) {}, true},
		{"misspelled field", func(s map[string]any) { s["dnsName"] = s["dnsNames"]; delete(s, "dnsNames") }, false},
		{"duration not a string", func(s map[string]any) { s["duration"] = 2160 }, false},
		{"unknown usage", func(s map[string]any) { s["usages"] = []any{"server auth", "route auth"} }, false},
		{"private key algorithm", func(s map[string]any) { s["privateKey"] = map[string]any{"algorithm": "DSA"} }, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, _ := json.Marshal(cert)
			var o obj
			if err := json.Unmarshal(b, &o); err != nil {
				t.Fatal(err)
			}
			c.edit(o["spec"].(map[string]any))
			y, err := yaml.Marshal(o)
			if err != nil {
				t.Fatal(err)
			}
			res := kubeconformRun(t, string(y))
			if len(res) != 1 {
				t.Fatalf("kubeconform checked %d objects, want 1: %v", len(res), res)
			}
			if got := res[0].Status == "statusValid"; got != c.valid {
				t.Errorf("valid = %v (%s %s), want %v", got, res[0].Status, res[0].Msg, c.valid)
			}
			t.Logf("%s: %s %s", c.name, res[0].Status, res[0].Msg)
		})
	}
}
