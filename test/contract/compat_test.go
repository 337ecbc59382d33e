package contract

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// compatible returns the changes from schema old to schema new that break
// a reader or a writer of either, one "<pointer>: <change>" each; none
// when both accept the same documents, as far as the keywords below
// tell, but for properties new defines and old did not (a reader of old
// ignores them: our schemas allow additional properties). Producers and
// consumers of two releases share a subject during a rollout, and orders
// stored before it are read after, so both directions break:
//   - a narrowing (new refuses what old accepted: a property newly
//     required, a type or value no longer accepted, a bound tightened, a
//     property removed) fails a consumer of new on what a producer of old
//     sent;
//   - a widening (new accepts what old refused: a requirement dropped, a
//     bound loosened, a value added) lets a producer of new send what a
//     consumer of old refuses.
//
// A keyword the checker does not understand ($ref, allOf, prefixItems,
// ...) counts as breaking whenever it changed, so that nothing passes
// unjudged; annotations (title, description, ...) never do.
func compatible(old, new map[string]any) []string {
	breaks := narrowings(old, new)
	for _, b := range narrowings(new, old) {
		if strings.HasSuffix(b, ": property removed") {
			continue // a property new adds: readers of old ignore it
		}
		w := widening(b)
		if !slices.Contains(breaks, strings.TrimPrefix(w, widened)) { // a change both ways is said once
			breaks = append(breaks, w)
		}
	}
	return breaks
}

// narrowings returns what new refuses that old accepted, and the
// properties old defines that new does not: it walks properties
// (recursively), items and additionalProperties, and compares type, enum
// and const, the bounds (minimum, maximum, minLength, maxLength,
// minItems, maxItems, ...), pattern, format and required.
func narrowings(old, new map[string]any) []string {
	var c compatChecker
	c.schema("", old, new)
	return c.breaks
}

// wideningRewrites turn a narrowing from new to old into what it is from
// old to new: a widening, said the right way round.
var wideningRewrites = []struct {
	re   *regexp.Regexp
	repl string
}{
	{regexp.MustCompile(`^(\S+): (\w+) lowered from (\S+) to (\S+)$`), "$1: $2 raised from $4 to $3"},
	{regexp.MustCompile(`^(\S+): (\w+) raised from (\S+) to (\S+)$`), "$1: $2 lowered from $4 to $3"},
	{regexp.MustCompile(`^(\S+): (\w+) (\S+) added$`), "$1: $2 $3 removed"},
	{regexp.MustCompile(`^(\S+): property (".*") newly required$`), "$1: property $2 no longer required"},
	{regexp.MustCompile(`^(\S+): type (\S+) no longer accepted \(now (.*)\)$`), "$1: type $2 newly accepted (was $3)"},
	{regexp.MustCompile(`^(\S+): type restricted to (.*)$`), "$1: type no longer restricted (was $2)"},
	{regexp.MustCompile(`^(\S+): value (.*) no longer allowed \(enum/const now (.*)\)$`), "$1: value $2 newly allowed (enum/const was $3)"},
	{regexp.MustCompile(`^(\S+): values restricted to (.*)$`), "$1: values no longer restricted (were $2)"},
	{regexp.MustCompile(`^(\S+): (\w+) changed from (.*) to (.*)$`), "$1: $2 changed from $4 to $3"},
	{regexp.MustCompile(`^(\S+): turned false: unknown properties refused$`), "$1: unknown properties accepted again"},
	{regexp.MustCompile(`^(\S+): now accepts nothing \(false\)$`), "$1: accepted nothing (false), now accepts something"},
}

// widening says a narrowing from new to old as the widening it is from
// old to new, marked as such.
func widening(narrowing string) string {
	for _, r := range wideningRewrites {
		if r.re.MatchString(narrowing) {
			return widened + r.re.ReplaceAllString(narrowing, r.repl)
		}
	}
	return widened + narrowing // the unjudged keyword, changed either way
}

// widened marks a widening.
const widened = "widened: "

type compatChecker struct{ breaks []string }

func (c *compatChecker) report(at, format string, args ...any) {
	c.breaks = append(c.breaks, "#"+at+": "+fmt.Sprintf(format, args...))
}

// annotations are the keywords that do not change what a schema accepts.
var annotations = []string{"$schema", "$id", "$comment", "title", "description", "examples", "default", "deprecated", "readOnly", "writeOnly"}

// Bounds: a lower bound may only go down, an upper one only up.
var (
	lowerBounds = []string{"minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties"}
	upperBounds = []string{"maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties"}
)

// judged are the keywords compatChecker.schema compares by meaning.
var judged = slices.Concat(annotations, lowerBounds, upperBounds,
	[]string{"type", "enum", "const", "pattern", "format", "required", "properties", "items", "additionalProperties"})

// asSchema reads a subschema: absent or true accepts everything ({}),
// false nothing.
func asSchema(v any) (s map[string]any, acceptsNothing bool) {
	switch v := v.(type) {
	case nil:
		return map[string]any{}, false
	case bool:
		return map[string]any{}, !v
	case map[string]any:
		return v, false
	}
	return map[string]any{"$unreadable": v}, false
}

func (c *compatChecker) schema(at string, oldV, newV any) {
	if oldV == nil && newV == nil {
		return // neither has the subschema: both accept everything
	}
	old, oldNothing := asSchema(oldV)
	new, newNothing := asSchema(newV)
	switch {
	case oldNothing:
		return // old accepted nothing: whatever new accepts is more
	case newNothing:
		c.report(at, "now accepts nothing (false)")
		return
	}

	// type
	if nt := typeSet(new["type"]); nt != nil {
		ot := typeSet(old["type"])
		if ot == nil {
			c.report(at, "type restricted to %s", strings.Join(nt, ", "))
		}
		for _, t := range ot {
			if !slices.Contains(nt, t) && (t != "integer" || !slices.Contains(nt, "number")) {
				c.report(at, "type %s no longer accepted (now %s)", t, strings.Join(nt, ", "))
			}
		}
	}

	// enum and const: the values allowed
	if nv, ok := allowedValues(new); ok {
		ov, restricted := allowedValues(old)
		if !restricted {
			c.report(at, "values restricted to %s", mustJSON(nv))
		}
		for _, v := range ov {
			if !slices.ContainsFunc(nv, func(w any) bool { return jsonEqual(v, w) }) {
				c.report(at, "value %s no longer allowed (enum/const now %s)", mustJSON(v), mustJSON(nv))
			}
		}
	}

	// bounds
	for _, k := range lowerBounds {
		if n, ok := number(new[k]); ok {
			if o, had := number(old[k]); !had {
				c.report(at, "%s %s added", k, num(n))
			} else if n > o {
				c.report(at, "%s raised from %s to %s", k, num(o), num(n))
			}
		}
	}
	for _, k := range upperBounds {
		if n, ok := number(new[k]); ok {
			if o, had := number(old[k]); !had {
				c.report(at, "%s %s added", k, num(n))
			} else if n < o {
				c.report(at, "%s lowered from %s to %s", k, num(o), num(n))
			}
		}
	}

	// pattern and format: any change may refuse what old accepted
	for _, k := range []string{"pattern", "format"} {
		if n, ok := new[k]; ok {
			if o, had := old[k]; !had {
				c.report(at, "%s %s added", k, mustJSON(n))
			} else if !jsonEqual(o, n) {
				c.report(at, "%s changed from %s to %s", k, mustJSON(o), mustJSON(n))
			}
		}
	}

	// required
	oldReq := stringSet(old["required"])
	for _, r := range stringSet(new["required"]) {
		if !slices.Contains(oldReq, r) {
			c.report(at, "property %q newly required", r)
		}
	}

	// properties
	oldProps, _ := old["properties"].(map[string]any)
	newProps, _ := new["properties"].(map[string]any)
	for _, k := range sortedKeys(oldProps) {
		p := at + "/properties/" + escape(k)
		nv, ok := newProps[k]
		if !ok {
			c.report(p, "property removed")
			continue
		}
		c.schema(p, oldProps[k], nv)
	}

	// additionalProperties
	if _, oldNone := asSchema(old["additionalProperties"]); !oldNone {
		if _, newNone := asSchema(new["additionalProperties"]); newNone {
			c.report(at+"/additionalProperties", "turned false: unknown properties refused")
		} else {
			c.schema(at+"/additionalProperties", old["additionalProperties"], new["additionalProperties"])
		}
	}

	// items (a single schema, draft 2020-12)
	oi, oldOne := itemSchema(old["items"])
	ni, newOne := itemSchema(new["items"])
	if oldOne && newOne {
		c.schema(at+"/items", oi, ni)
	} else if !jsonEqual(old["items"], new["items"]) {
		c.report(at+"/items", "changed in a form the checker cannot judge")
	}

	// the rest: unjudged, so any change counts
	for _, k := range sortedKeys(union(old, new)) {
		if !slices.Contains(judged, k) && !jsonEqual(old[k], new[k]) {
			c.report(at, "%s changed (the checker cannot judge it, so it counts as breaking)", k)
		}
	}
}

// itemSchema reads items when it is one schema (or absent).
func itemSchema(v any) (any, bool) {
	switch v.(type) {
	case nil, bool, map[string]any:
		return v, true
	}
	return nil, false
}

// typeSet is the types a "type" allows, nil for any.
func typeSet(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		return stringSet(v)
	}
	return nil
}

// allowedValues is the values const or enum allow (const wins), and
// whether either is there.
func allowedValues(s map[string]any) ([]any, bool) {
	if v, ok := s["const"]; ok {
		return []any{v}, true
	}
	if e, ok := s["enum"].([]any); ok {
		return e, true
	}
	return nil, false
}

// stringSet reads a list of strings, skipping what is not one.
func stringSet(v any) []string {
	l, _ := v.([]any)
	var out []string
	for _, e := range l {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// number reads a bound.
func number(v any) (float64, bool) {
	switch v := v.(type) {
	case float64:
		return v, true
	case int:
		return float64(v), true
	case json.Number:
		f, err := v.Float64()
		return f, err == nil
	}
	return 0, false
}

// num formats a bound as a schema writes it.
func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// jsonEqual compares two JSON values by their encoding.
func jsonEqual(a, b any) bool {
	if reflect.DeepEqual(a, b) {
		return true
	}
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}

func union(a, b map[string]any) map[string]any {
	out := make(map[string]any, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// mustSchema parses a schema written in a test.
func mustSchema(t testing.TB, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("schema %s: %v", s, err)
	}
	return m
}

// TestCompatibleChecker: each rule of compatible, both ways: the breaking
// change reported, the allowed change (a new optional property, a wider
// bound, a better description) not.
func TestCompatibleChecker(t *testing.T) {
	const obj = `{"type":"object","required":["id"],"properties":{"id":{"type":"string"},"n":{"type":"integer","minimum":1,"maximum":10}}}`
	tests := []struct {
		name     string
		old, new string
		want     []string // nil: compatible
	}{
		{"identical", obj, obj, nil},
		{"description and title changed", `{"type":"string","description":"a"}`, `{"type":"string","description":"b, better","title":"T","examples":["x"]}`, nil},

		{"property removed", obj, `{"type":"object","required":["id"],"properties":{"id":{"type":"string"}}}`,
			[]string{`#/properties/n: property removed`}},
		{"optional property added", obj, `{"type":"object","required":["id"],"properties":{"id":{"type":"string"},"n":{"type":"integer","minimum":1,"maximum":10},"note":{"type":"string"}}}`, nil},
		{"property newly required", obj, `{"type":"object","required":["id","n"],"properties":{"id":{"type":"string"},"n":{"type":"integer","minimum":1,"maximum":10}}}`,
			[]string{`#: property "n" newly required`}},
		{"new property added as required", `{"type":"object","properties":{}}`, `{"type":"object","required":["x"],"properties":{"x":{"type":"string"}}}`,
			[]string{`#: property "x" newly required`}},
		{"requirement dropped", obj, `{"type":"object","properties":{"id":{"type":"string"},"n":{"type":"integer","minimum":1,"maximum":10}}}`, []string{`widened: #: property "id" no longer required`}},

		{"type changed", `{"type":"string"}`, `{"type":"integer"}`, []string{`#: type string no longer accepted (now integer)`, `widened: #: type integer newly accepted (was string)`}},
		{"type narrowed number to integer", `{"type":"number"}`, `{"type":"integer"}`, []string{`#: type number no longer accepted (now integer)`}},
		{"type narrowed from a list", `{"type":["string","null"]}`, `{"type":"string"}`, []string{`#: type null no longer accepted (now string)`}},
		{"type added", `{}`, `{"type":"string"}`, []string{`#: type restricted to string`}},
		{"type widened integer to number", `{"type":"integer"}`, `{"type":"number"}`, []string{`widened: #: type number newly accepted (was integer)`}},
		{"type widened to a list", `{"type":"string"}`, `{"type":["string","null"]}`, []string{`widened: #: type null newly accepted (was string)`}},
		{"type removed", `{"type":"string"}`, `{}`, []string{`widened: #: type no longer restricted (was string)`}},

		{"enum value removed", `{"enum":["a","b"]}`, `{"enum":["a"]}`, []string{`#: value "b" no longer allowed (enum/const now ["a"])`}},
		{"enum value added", `{"enum":["a"]}`, `{"enum":["a","b"]}`, []string{`widened: #: value "b" newly allowed (enum/const was ["a"])`}},
		{"enum added", `{"type":"string"}`, `{"type":"string","enum":["a"]}`, []string{`#: values restricted to ["a"]`}},
		{"enum removed", `{"enum":["a"]}`, `{}`, []string{`widened: #: values no longer restricted (were ["a"])`}},
		{"const changed", `{"const":"1.0"}`, `{"const":"2.0"}`, []string{`#: value "1.0" no longer allowed (enum/const now ["2.0"])`, `widened: #: value "2.0" newly allowed (enum/const was ["1.0"])`}},
		{"const added", `{"type":"string"}`, `{"type":"string","const":"x"}`, []string{`#: values restricted to ["x"]`}},
		{"const widened to an enum", `{"const":"a"}`, `{"enum":["a","b"]}`, []string{`widened: #: value "b" newly allowed (enum/const was ["a"])`}},
		{"const removed", `{"type":"string","const":"a"}`, `{"type":"string"}`, []string{`widened: #: values no longer restricted (were ["a"])`}},

		{"minimum raised", `{"minimum":1}`, `{"minimum":2}`, []string{`#: minimum raised from 1 to 2`}},
		{"minimum lowered", `{"minimum":1}`, `{"minimum":0}`, []string{`widened: #: minimum lowered from 1 to 0`}},
		{"minimum added", `{}`, `{"minimum":0}`, []string{`#: minimum 0 added`}},
		{"minimum removed", `{"minimum":1}`, `{}`, []string{`widened: #: minimum 1 removed`}},
		{"maximum lowered", `{"maximum":1000}`, `{"maximum":999}`, []string{`#: maximum lowered from 1000 to 999`}},
		{"maximum raised", `{"maximum":1000}`, `{"maximum":5000}`, []string{`widened: #: maximum raised from 1000 to 5000`}},
		{"exclusiveMaximum added", `{"maximum":10}`, `{"maximum":10,"exclusiveMaximum":10}`, []string{`#: exclusiveMaximum 10 added`}},
		{"minLength raised", `{"minLength":1}`, `{"minLength":2}`, []string{`#: minLength raised from 1 to 2`}},
		{"minLength lowered", `{"minLength":1}`, `{"minLength":0}`, []string{`widened: #: minLength lowered from 1 to 0`}},
		{"maxLength lowered", `{"maxLength":64}`, `{"maxLength":32}`, []string{`#: maxLength lowered from 64 to 32`}},
		{"maxLength raised", `{"maxLength":64}`, `{"maxLength":128}`, []string{`widened: #: maxLength raised from 64 to 128`}},
		{"maxLength added", `{"type":"string"}`, `{"type":"string","maxLength":64}`, []string{`#: maxLength 64 added`}},
		{"minItems raised", `{"minItems":1}`, `{"minItems":2}`, []string{`#: minItems raised from 1 to 2`}},
		{"minItems lowered", `{"minItems":1}`, `{"minItems":0}`, []string{`widened: #: minItems lowered from 1 to 0`}},
		{"maxItems lowered", `{"maxItems":100}`, `{"maxItems":50}`, []string{`#: maxItems lowered from 100 to 50`}},
		{"maxItems raised", `{"maxItems":100}`, `{"maxItems":200}`, []string{`widened: #: maxItems raised from 100 to 200`}},

		{"pattern changed", `{"pattern":"^[A-Z]{3}$"}`, `{"pattern":"^[A-Z]{2}$"}`, []string{`#: pattern changed from "^[A-Z]{3}$" to "^[A-Z]{2}$"`}},
		{"pattern added", `{"type":"string"}`, `{"type":"string","pattern":"^a"}`, []string{`#: pattern "^a" added`}},
		{"pattern removed", `{"pattern":"^a"}`, `{}`, []string{`widened: #: pattern "^a" removed`}},
		{"format changed", `{"format":"date-time"}`, `{"format":"date"}`, []string{`#: format changed from "date-time" to "date"`}},
		{"format added", `{"type":"string"}`, `{"type":"string","format":"uri"}`, []string{`#: format "uri" added`}},
		{"format removed", `{"format":"date-time"}`, `{}`, []string{`widened: #: format "date-time" removed`}},

		{"additionalProperties turned false", `{"type":"object","additionalProperties":true}`, `{"type":"object","additionalProperties":false}`,
			[]string{`#/additionalProperties: turned false: unknown properties refused`}},
		{"additionalProperties absent turned false", `{"type":"object"}`, `{"type":"object","additionalProperties":false}`,
			[]string{`#/additionalProperties: turned false: unknown properties refused`}},
		{"additionalProperties turned true", `{"type":"object","additionalProperties":false}`, `{"type":"object","additionalProperties":true}`, []string{`widened: #/additionalProperties: unknown properties accepted again`}},
		{"additionalProperties schema narrowed", `{"additionalProperties":{"type":["string","integer"]}}`, `{"additionalProperties":{"type":"string"}}`,
			[]string{`#/additionalProperties: type integer no longer accepted (now string)`}},

		{"nested bound tightened in items", `{"properties":{"lines":{"type":"array","items":{"properties":{"q":{"maximum":1000}}}}}}`,
			`{"properties":{"lines":{"type":"array","items":{"properties":{"q":{"maximum":100}}}}}}`,
			[]string{`#/properties/lines/items/properties/q: maximum lowered from 1000 to 100`}},
		{"nested property removed in items", `{"items":{"required":["a"],"properties":{"a":{},"b":{}}}}`, `{"items":{"required":["a"],"properties":{"a":{}}}}`,
			[]string{`#/items/properties/b: property removed`}},
		{"nested property added in items", `{"items":{"properties":{"a":{}}}}`, `{"items":{"properties":{"a":{},"b":{"type":"string"}}}}`, nil},
		{"items added", `{"type":"array"}`, `{"type":"array","items":{"type":"string"}}`, []string{`#/items: type restricted to string`}},
		{"items removed", `{"type":"array","items":{"type":"string"}}`, `{"type":"array"}`, []string{`widened: #/items: type no longer restricted (was string)`}},
		{"several breaks at once", `{"required":["a"],"properties":{"a":{"type":"string"},"b":{"maxLength":9}}}`, `{"required":["a","b"],"properties":{"b":{"maxLength":8}}}`,
			[]string{`#: property "b" newly required`, `#/properties/a: property removed`, `#/properties/b: maxLength lowered from 9 to 8`}},

		{"unjudged keyword changed", `{"allOf":[{"type":"string"}]}`, `{"allOf":[{"type":"integer"}]}`,
			[]string{`#: allOf changed (the checker cannot judge it, so it counts as breaking)`}},
		{"unjudged keyword unchanged", `{"allOf":[{"type":"string"}],"description":"a"}`, `{"allOf":[{"type":"string"}],"description":"b"}`, nil},
		{"schema turned false", `{"properties":{"a":{"type":"string"}}}`, `{"properties":{"a":false}}`, []string{`#/properties/a: now accepts nothing (false)`}},
		{"schema was false", `{"properties":{"a":false}}`, `{"properties":{"a":{"type":"string"}}}`, []string{`widened: #/properties/a: accepted nothing (false), now accepts something`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := compatible(mustSchema(t, tc.old), mustSchema(t, tc.new))
			if !slices.Equal(got, tc.want) {
				t.Errorf("compatible(%s, %s)\n got %q\nwant %q", tc.old, tc.new, got, tc.want)
			}
		})
	}
}

// TestCompatibleOnTheSchemas: each schema is compatible with itself, and
// version 2 breaks version 1 (the reason it has a subject of its own).
func TestCompatibleOnTheSchemas(t *testing.T) {
	read := func(name string) map[string]any {
		b, err := os.ReadFile(repoPath(t, schemasDir+"/"+name))
		if err != nil {
			t.Fatal(err)
		}
		return mustSchema(t, string(b))
	}
	for _, name := range schemaFiles(t) {
		if got := compatible(read(name), read(name)); got != nil {
			t.Errorf("%s against itself: %q", name, got)
		}
	}
	got := compatible(read("order-created.v1.json"), read("order-created.v2.json"))
	for _, want := range []string{`#/properties/product_id: property removed`, `#/properties/quantity: property removed`, `#: property "lines" newly required`} {
		if !slices.Contains(got, want) {
			t.Errorf("v1 to v2: %q not reported in %q", want, got)
		}
	}
}

// git runs git in dir and returns its output without the final newline;
// its error carries the first line of what git said.
func git(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg, _, _ := strings.Cut(strings.TrimSpace(stderr.String()), "\n")
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, msg)
	}
	return strings.TrimSuffix(string(out), "\n"), nil
}

// lines splits git's output into its non-empty lines.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// TestSchemasStayCompatible: every schema in the working tree compiles and
// is compatible with every committed version of it (git history), and no
// schema that was ever committed is gone: an event version may not
// disappear, or change incompatibly, while its subject is on the wire. A
// schema not committed yet is only compiled. Without git or outside a git
// checkout the test fails: it cannot vouch for anything then.
func TestSchemasStayCompatible(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatalf("git is not on PATH (%v): the schemas are checked against their committed versions, which needs git", err)
	}
	dir := repoPath(t, schemasDir)
	top, err := git(dir, "rev-parse", "--show-toplevel")
	if err != nil {
		t.Fatalf("%s is not in a git checkout, so the schemas' history cannot be read: %v", dir, err)
	}
	rel, err := relative(top, dir)
	if err != nil {
		t.Fatal(err)
	}
	if shallow, err := git(top, "rev-parse", "--is-shallow-repository"); err == nil && shallow == "true" {
		t.Logf("a shallow clone: only the versions in its history are compared (fetch the whole history to compare all)")
	}

	// Every schema ever committed must still be there. --no-renames lists
	// a renamed file under its old name too.
	committed, err := git(top, "log", "--no-renames", "--format=", "--name-only", "--", rel)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, p := range lines(committed) {
		if seen[p] || path.Dir(p) != rel || !strings.HasSuffix(p, ".json") {
			continue
		}
		seen[p] = true
		if _, err := os.Stat(filepath.Join(top, filepath.FromSlash(p))); errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s was committed and is gone from the tree: an event version may not disappear while its subject is on the wire (restore it)", p)
		}
	}

	for _, name := range schemaFiles(t) {
		t.Run(name, func(t *testing.T) {
			compileSchemaFile(t, name)
			p := rel + "/" + name
			cur, err := os.ReadFile(filepath.Join(top, filepath.FromSlash(p)))
			if err != nil {
				t.Fatal(err)
			}
			current := mustSchema(t, string(cur))
			// Every commit that touched it; one that deleted it has no
			// copy of it.
			out, err := git(top, "log", "--no-renames", "--format=%H", "--", p)
			if err != nil {
				t.Fatal(err)
			}
			compared := map[string]bool{}
			for _, commit := range lines(out) {
				if _, err := git(top, "cat-file", "-e", commit+":"+p); err != nil {
					continue
				}
				old, err := git(top, "show", commit+":"+p)
				if err != nil {
					t.Fatal(err)
				}
				if compared[old] {
					continue
				}
				compared[old] = true
				var prev map[string]any
				if err := json.Unmarshal([]byte(old), &prev); err != nil {
					t.Errorf("%s as of %.12s is not a JSON object: %v", p, commit, err)
					continue
				}
				for _, b := range compatible(prev, current) {
					t.Errorf("incompatible with %s as of %.12s: %s (make a new version instead)", p, commit, b)
				}
			}
			if len(compared) == 0 {
				t.Logf("%s has no committed version yet: compiled, nothing to compare with", p)
			}
		})
	}
}

// relative is dir relative to root, slash-separated, both with symbolic
// links resolved (git reports the real path).
func relative(root, dir string) (string, error) {
	r, err := filepath.EvalSymlinks(root)
	if err != nil {
		return "", err
	}
	d, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(r, d)
	if err != nil {
		return "", err
	}
	return filepath.ToSlash(rel), nil
}
