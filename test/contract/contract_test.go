// Package contract checks that the event contracts in platform/events
// (the JSON Schemas in schemas/ and asyncapi.yaml) say what the code does:
// the schemas accept exactly the bodies the Go decoders accept (golden
// fixtures in testdata/, and a short table of the differences JSON Schema
// cannot express), the producer's bodies and headers validate, the
// subjects, types, queue groups and header names in the AsyncAPI document
// are the code's, and no schema is changed incompatibly against any
// committed copy of it. The package holds tests only.
package contract

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"sigs.k8s.io/yaml"

	"github.com/distsys-go/orders/platform/events"
)

// Paths of the contracts, relative to the repository root.
const (
	eventsDir   = "platform/events"
	schemasDir  = "platform/events/schemas"
	asyncAPIDoc = "platform/events/asyncapi.yaml"
)

// repoRoot is the module's root: this package is test/contract.
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil || !bytes.Contains(gomod, []byte("module github.com/distsys-go/orders\n")) {
		t.Fatalf("%s is not the orders module's root (go.mod: %v)", root, err)
	}
	return root
}

// repoPath is rel (slash-separated, from the repository root) on disk.
func repoPath(t testing.TB, rel string) string {
	return filepath.Join(repoRoot(t), filepath.FromSlash(rel))
}

// fileURL is the file: URL of an absolute path, as the schema compiler
// names what it loads.
func fileURL(path string) string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(path)}).String()
}

// schemaFile is the schema file of an event version.
func schemaFile(v events.Version) string {
	return "order-created." + v.Name + ".json"
}

// newCompiler returns a compiler that asserts formats (date-time,
// uri-reference) rather than only annotating them, and reads schemas
// without $schema (the AsyncAPI document's, a superset of draft-07) as
// draft-07.
func newCompiler() *jsonschema.Compiler {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	c.DefaultDraft(jsonschema.Draft7)
	return c
}

// compileSchemaFile compiles a schema file of platform/events/schemas.
func compileSchemaFile(t testing.TB, name string) *jsonschema.Schema {
	t.Helper()
	sch, err := newCompiler().Compile(repoPath(t, schemasDir+"/"+name))
	if err != nil {
		t.Fatalf("compile %s: %v", name, err)
	}
	return sch
}

// parseInstance reads a JSON document the way the schema validator does
// (numbers kept exact); an error means the validator rejects it.
func parseInstance(data []byte) (any, error) {
	return jsonschema.UnmarshalJSON(bytes.NewReader(data))
}

// schemaAccepts reports whether data is one JSON document valid against
// sch, and why not.
func schemaAccepts(sch *jsonschema.Schema, data []byte) (bool, error) {
	inst, err := parseInstance(data)
	if err != nil {
		return false, fmt.Errorf("not JSON: %w", err)
	}
	if err := sch.Validate(inst); err != nil {
		return false, err
	}
	return true, nil
}

// asyncAPI is the AsyncAPI document, parsed once: its YAML as the JSON
// data model (numbers as json.Number, as the schema compiler wants them).
type asyncAPI struct {
	path string
	doc  map[string]any
}

var (
	asyncAPIOnce sync.Once
	asyncAPIVal  *asyncAPI
	asyncAPIErr  error
)

func loadAsyncAPI(t testing.TB) *asyncAPI {
	t.Helper()
	path := repoPath(t, asyncAPIDoc)
	asyncAPIOnce.Do(func() {
		raw, err := os.ReadFile(path)
		if err != nil {
			asyncAPIErr = err
			return
		}
		js, err := yaml.YAMLToJSON(raw)
		if err != nil {
			asyncAPIErr = fmt.Errorf("%s: %w", asyncAPIDoc, err)
			return
		}
		v, err := parseInstance(js)
		if err != nil {
			asyncAPIErr = fmt.Errorf("%s: %w", asyncAPIDoc, err)
			return
		}
		doc, ok := v.(map[string]any)
		if !ok {
			asyncAPIErr = fmt.Errorf("%s is not a mapping", asyncAPIDoc)
			return
		}
		asyncAPIVal = &asyncAPI{path: path, doc: doc}
	})
	if asyncAPIErr != nil {
		t.Fatal(asyncAPIErr)
	}
	return asyncAPIVal
}

// url is the document's URL, against which its relative $refs resolve.
func (a *asyncAPI) url() string { return fileURL(a.path) }

// compile compiles the schema at pointer (a JSON pointer such as
// /components/messages/x/headers) of the document; its $refs resolve
// against the document (the schema files next to it).
func (a *asyncAPI) compile(t testing.TB, pointer string) *jsonschema.Schema {
	t.Helper()
	c := newCompiler()
	if err := c.AddResource(a.url(), a.doc); err != nil {
		t.Fatalf("add %s: %v", asyncAPIDoc, err)
	}
	sch, err := c.Compile(a.url() + "#" + pointer)
	if err != nil {
		t.Fatalf("compile %s#%s: %v", asyncAPIDoc, pointer, err)
	}
	return sch
}

// at returns the value at a JSON pointer of the document, or fails.
func (a *asyncAPI) at(t testing.TB, pointer string) any {
	t.Helper()
	v, err := lookup(a.doc, pointer)
	if err != nil {
		t.Fatalf("%s#%s: %v", asyncAPIDoc, pointer, err)
	}
	return v
}

// mapAt is at for a mapping.
func (a *asyncAPI) mapAt(t testing.TB, pointer string) map[string]any {
	t.Helper()
	m, ok := a.at(t, pointer).(map[string]any)
	if !ok {
		t.Fatalf("%s#%s is not a mapping", asyncAPIDoc, pointer)
	}
	return m
}

// stringAt is at for a string.
func (a *asyncAPI) stringAt(t testing.TB, pointer string) string {
	t.Helper()
	s, ok := a.at(t, pointer).(string)
	if !ok {
		t.Fatalf("%s#%s is not a string", asyncAPIDoc, pointer)
	}
	return s
}

// lookup follows a JSON pointer (RFC 6901) in v.
func lookup(v any, pointer string) (any, error) {
	if pointer == "" {
		return v, nil
	}
	if !strings.HasPrefix(pointer, "/") {
		return nil, fmt.Errorf("pointer %q does not start with /", pointer)
	}
	for _, tok := range strings.Split(pointer[1:], "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("no %q: its parent is not a mapping", tok)
		}
		if v, ok = m[tok]; !ok {
			return nil, fmt.Errorf("no %q", tok)
		}
	}
	return v, nil
}

// localRef is the pointer of a "#/..." $ref object.
func localRef(t testing.TB, v any) string {
	t.Helper()
	m, ok := v.(map[string]any)
	ref, _ := m["$ref"].(string)
	if !ok || !strings.HasPrefix(ref, "#/") {
		t.Fatalf("%s: %v is not a local $ref", asyncAPIDoc, v)
	}
	return ref[1:]
}

// escape makes a key a JSON pointer token.
func escape(key string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(key)
}

// headerInstance is a message's headers as the header schemas see them.
func headerInstance(h map[string]string) map[string]any {
	m := make(map[string]any, len(h))
	for k, v := range h {
		m[k] = v
	}
	return m
}

// mustJSON is v in JSON, for messages.
func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%#v", v)
	}
	return string(b)
}
