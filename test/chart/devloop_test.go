package chart

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	kind "sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	"sigs.k8s.io/yaml"
)

// skaffoldSchemaURL is where skaffold publishes the schema of the
// skaffold.yaml version we use; ORDERS_SCHEMA_LOCATION=default reads it.
const skaffoldSchemaURL = "https://raw.githubusercontent.com/GoogleContainerTools/skaffold/main/docs-v2/content/en/schemas/v4beta14.json"

// skaffoldSchema returns the skaffold/v4beta14 JSON schema from a schema
// directory (skaffold/v4beta14.json) or, with "default", from skaffold's
// own location online.
func skaffoldSchema(t *testing.T) any {
	t.Helper()
	loc := os.Getenv("ORDERS_SCHEMA_LOCATION")
	var src io.ReadCloser
	switch loc {
	case "":
		t.Fatal("ORDERS_SCHEMA_LOCATION is unset: run the tests with make (mk/k8s.mk sets it to ../shared/schemas when it exists, else \"default\", the online locations), or set it to a schema directory")
	case "default":
		client := &http.Client{Timeout: 30 * time.Second}
		resp, err := client.Get(skaffoldSchemaURL)
		if err != nil {
			t.Fatalf("skaffold schema: %v (offline? set SCHEMA_LOCATION to a schema directory)", err)
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			t.Fatalf("skaffold schema: GET %s: %s", skaffoldSchemaURL, resp.Status)
		}
		src = resp.Body
	default:
		f, err := os.Open(filepath.Join(loc, "skaffold", "v4beta14.json"))
		if err != nil {
			t.Fatalf("skaffold schema: %v", err)
		}
		src = f
	}
	defer src.Close()
	doc, err := jsonschema.UnmarshalJSON(src)
	if err != nil {
		t.Fatalf("skaffold schema from %s: %v", loc, err)
	}
	return doc
}

// TestSkaffoldConfig validates skaffold.yaml against the skaffold/v4beta14
// JSON schema (see skaffoldSchema), checks the apiVersion (the schema only
// checks it is a string), and that each built image is mapped into its own
// side's values, which the chart accepts.
func TestSkaffoldConfig(t *testing.T) {
	doc := skaffoldSchema(t)
	c := jsonschema.NewCompiler()
	if err := c.AddResource("file:///skaffold-v4beta14.json", doc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile("file:///skaffold-v4beta14.json")
	if err != nil {
		t.Fatalf("compile the skaffold schema: %v", err)
	}

	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "skaffold.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	js, err := yaml.YAMLToJSON(raw)
	if err != nil {
		t.Fatalf("skaffold.yaml: %v", err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(inst); err != nil {
		t.Fatalf("skaffold.yaml does not match the skaffold/v4beta14 schema: %v", err)
	}
	// The schema must catch a misspelled key, or the check above proves nothing.
	var bad map[string]any
	if err := yaml.Unmarshal(raw, &bad); err != nil {
		t.Fatal(err)
	}
	bad["biuld"] = bad["build"]
	badJS, _ := yaml.Marshal(bad)
	badJSON, _ := yaml.YAMLToJSON(badJS)
	badInst, _ := jsonschema.UnmarshalJSON(bytes.NewReader(badJSON))
	if schema.Validate(badInst) == nil {
		t.Error("the skaffold schema accepted an unknown top-level key")
	}

	var cfg struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Build      struct {
			Artifacts []struct {
				Image  string `json:"image"`
				Docker struct {
					Dockerfile string            `json:"dockerfile"`
					BuildArgs  map[string]string `json:"buildArgs"`
				} `json:"docker"`
			} `json:"artifacts"`
		} `json:"build"`
		Deploy struct {
			Helm struct {
				Releases []struct {
					Name              string            `json:"name"`
					ChartPath         string            `json:"chartPath"`
					SetValueTemplates map[string]string `json:"setValueTemplates"`
				} `json:"releases"`
			} `json:"helm"`
		} `json:"deploy"`
		PortForward []struct {
			ResourceType, ResourceName string
			Port                       int
		} `json:"portForward"`
		Profiles []struct {
			Name string `json:"name"`
		} `json:"profiles"`
	}
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.APIVersion != "skaffold/v4beta14" || cfg.Kind != "Config" {
		t.Errorf("skaffold.yaml is %s %s, want skaffold/v4beta14 Config", cfg.APIVersion, cfg.Kind)
	}
	if len(cfg.Build.Artifacts) != 2 || len(cfg.Deploy.Helm.Releases) != 1 {
		t.Fatalf("want 2 artifacts and 1 helm release: %+v", cfg)
	}
	rel := cfg.Deploy.Helm.Releases[0]
	if rel.ChartPath != "charts/orders" {
		t.Errorf("release chartPath %q", rel.ChartPath)
	}
	var sets []string
	for _, a := range cfg.Build.Artifacts {
		side := a.Docker.BuildArgs["SERVICE"]
		if a.Docker.Dockerfile != "Dockerfile" || (side != "producer" && side != "consumer") {
			t.Errorf("artifact %s: dockerfile %q SERVICE %q", a.Image, a.Docker.Dockerfile, side)
			continue
		}
		v := regexp.MustCompile(`[^A-Za-z0-9]`).ReplaceAllString(a.Image, "_")
		want := map[string]string{
			side + ".image.repository": "{{.IMAGE_REPO_" + v + "}}",
			side + ".image.tag":        "{{.IMAGE_TAG_" + v + "}}",
		}
		for k, w := range want {
			if rel.SetValueTemplates[k] != w {
				t.Errorf("setValueTemplates[%s] = %q, want %q", k, rel.SetValueTemplates[k], w)
			}
			sets = append(sets, k+"=skaffold-"+side)
		}
	}
	// The chart accepts those keys, and each lands on its own side only.
	objs := objects(t, mustRender(t, sets...))
	for _, side := range []string{"producer", "consumer"} {
		img, _ := containers(mustFind(t, objs, "Deployment", name(side)))[0]["image"].(string)
		if img != "skaffold-"+side+":skaffold-"+side {
			t.Errorf("%s image = %q after skaffold's values", side, img)
		}
	}
	if len(cfg.PortForward) == 0 || cfg.PortForward[0].ResourceName != name("consumer") || cfg.PortForward[0].Port != 8080 {
		t.Errorf("portForward %+v, want the consumers' :8080", cfg.PortForward)
	}
	profiles := map[string]bool{}
	for _, p := range cfg.Profiles {
		profiles[p.Name] = true
	}
	if !profiles["producer-only"] || !profiles["consumer-only"] {
		t.Errorf("profiles %v, want producer-only and consumer-only", profiles)
	}
}

// TestKindConfig decodes kind-config.yaml strictly into kind's own types.
func TestKindConfig(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "kind-config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cluster kind.Cluster
	if err := yaml.UnmarshalStrict(raw, &cluster); err != nil {
		t.Fatalf("kind-config.yaml: %v", err)
	}
	if cluster.Kind != "Cluster" || cluster.APIVersion != "kind.x-k8s.io/v1alpha4" {
		t.Errorf("kind-config.yaml is %s %s", cluster.APIVersion, cluster.Kind)
	}
	roles := map[kind.NodeRole]int{}
	for _, n := range cluster.Nodes {
		roles[n.Role]++
	}
	if len(cluster.Nodes) != 3 || roles[kind.ControlPlaneRole] != 1 || roles[kind.WorkerRole] != 2 {
		t.Errorf("nodes %v, want one control plane and two workers", roles)
	}
	// Strict decoding must reject a misspelled field.
	if err := yaml.UnmarshalStrict(append(raw, []byte("nodez: []\n")...), &kind.Cluster{}); err == nil {
		t.Error("strict decoding accepted an unknown field")
	}
}
