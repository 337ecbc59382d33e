package contract

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/distsys-go/orders/platform/events"
)

// schemaIDBase is where the schemas say they live ($id).
const schemaIDBase = "https://github.com/distsys-go/orders/" + schemasDir + "/"

// schemaFiles lists the schema files in the working tree.
func schemaFiles(t testing.TB) []string {
	t.Helper()
	entries, err := os.ReadDir(repoPath(t, schemasDir))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".json") {
			names = append(names, e.Name())
		}
	}
	return names
}

// TestSchemasCompile: every schema file compiles (formats asserted), is
// draft 2020-12 with the $id of where it lives, and documents itself (a
// title, a description on every property); there is one per event
// version and none for a version the code does not know.
func TestSchemasCompile(t *testing.T) {
	files := schemaFiles(t)
	for _, v := range events.Versions {
		if !slices.Contains(files, schemaFile(v)) {
			t.Errorf("no schema %s for event version %s", schemaFile(v), v.Name)
		}
	}
	for _, name := range files {
		t.Run(name, func(t *testing.T) {
			compileSchemaFile(t, name)
			raw, err := os.ReadFile(repoPath(t, schemasDir+"/"+name))
			if err != nil {
				t.Fatal(err)
			}
			var doc map[string]any
			if err := json.Unmarshal(raw, &doc); err != nil {
				t.Fatal(err)
			}
			if got := doc["$schema"]; got != "https://json-schema.org/draft/2020-12/schema" {
				t.Errorf("$schema %v, want draft 2020-12", got)
			}
			if got, want := doc["$id"], schemaIDBase+name; got != want {
				t.Errorf("$id %v, want %s", got, want)
			}
			if s, _ := doc["title"].(string); s == "" {
				t.Error("no title")
			}
			for _, p := range undescribed(doc, "") {
				t.Errorf("%s has no description", p)
			}
			known := false
			for _, v := range events.Versions {
				known = known || name == schemaFile(v)
			}
			if !known {
				t.Errorf("%s is the schema of no version in events.Versions (%s)", name, strings.Join(events.VersionNames(), ", "))
			}
		})
	}
}

// undescribed returns the pointers of the schemas under s (itself,
// properties and items, recursively) without a description.
func undescribed(s map[string]any, at string) []string {
	var out []string
	if d, _ := s["description"].(string); strings.TrimSpace(d) == "" {
		out = append(out, "#"+at)
	}
	props, _ := s["properties"].(map[string]any)
	for _, k := range sortedKeys(props) {
		if ps, ok := props[k].(map[string]any); ok {
			out = append(out, undescribed(ps, at+"/properties/"+escape(k))...)
		}
	}
	if items, ok := s["items"].(map[string]any); ok {
		out = append(out, undescribed(items, at+"/items")...)
	}
	return out
}

// TestAsyncAPIPayloadRefsResolve: each order message's payload is a
// relative $ref to its version's schema file, and compiling it through
// the AsyncAPI document loads that file (a body is judged by it).
func TestAsyncAPIPayloadRefsResolve(t *testing.T) {
	a := loadAsyncAPI(t)
	messages := orderMessages(t, a)
	for _, v := range events.Versions {
		t.Run(v.Name, func(t *testing.T) {
			msg, ok := messages[v.Type]
			if !ok {
				t.Fatalf("no message with ce-type %s", v.Type)
			}
			if got, want := a.stringAt(t, msg+"/payload/$ref"), "./schemas/"+schemaFile(v); got != want {
				t.Errorf("payload $ref %q, want %q", got, want)
			}
			sch := a.compile(t, msg+"/payload")
			if sch.Ref == nil {
				t.Fatal("the compiled payload has no $ref")
			}
			file := repoPath(t, schemasDir+"/"+schemaFile(v))
			if sch.Ref.Location != fileURL(file) && sch.Ref.ID != schemaIDBase+schemaFile(v) {
				t.Errorf("payload $ref resolved to %s (id %q), want %s", sch.Ref.Location, sch.Ref.ID, fileURL(file))
			}
			for _, c := range []struct {
				kind string
				want bool
			}{{"valid", true}, {"invalid", false}} {
				for _, f := range fixtures(t, v, c.kind) {
					if ok, err := schemaAccepts(sch, f.data); ok != c.want {
						t.Errorf("%s/%s through %s: accepted %t (%v)", c.kind, f.name, asyncAPIDoc, ok, err)
					}
				}
			}
		})
	}
}

// fixture is one golden body of testdata/<version>/<kind>/.
type fixture struct {
	name string
	data []byte
}

func fixtures(t testing.TB, v events.Version, kind string) []fixture {
	t.Helper()
	dir := filepath.Join("testdata", v.Name, kind)
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	out := make([]fixture, 0, len(paths))
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fixture{name: strings.TrimSuffix(filepath.Base(p), ".json"), data: data})
	}
	return out
}

// TestFixturesAgree: on every golden body the version's schema and its Go
// decoder (Version.Decode, as the consumer reads a message without
// headers) give the same verdict, the one the fixture's directory says.
// A version needs enough fixtures of both kinds that agreement means
// something.
func TestFixturesAgree(t *testing.T) {
	const minValid, minInvalid = 8, 15
	for _, v := range events.Versions {
		sch := compileSchemaFile(t, schemaFile(v))
		for _, c := range []struct {
			kind string
			want bool
			min  int
		}{{"valid", true, minValid}, {"invalid", false, minInvalid}} {
			fs := fixtures(t, v, c.kind)
			if len(fs) < c.min {
				t.Errorf("testdata/%s/%s has %d fixtures, want at least %d", v.Name, c.kind, len(fs), c.min)
			}
			for _, f := range fs {
				t.Run(v.Name+"/"+c.kind+"/"+f.name, func(t *testing.T) {
					schemaOK, schemaErr := schemaAccepts(sch, f.data)
					_, decodeErr := v.Decode(nil, f.data)
					if schemaOK != c.want {
						t.Errorf("schema accepted %t, want %t: %v", schemaOK, c.want, schemaErr)
					}
					if decoderOK := decodeErr == nil; decoderOK != c.want {
						t.Errorf("decoder accepted %t, want %t: %v", decoderOK, c.want, decodeErr)
					}
				})
			}
		}
	}
}

// knownDivergences are the bodies on which a schema and its Go decoder
// disagree and cannot be made to agree, each side's current verdict
// asserted so that a change on either side is noticed (then the body
// belongs in testdata). Keep it short: a difference a schema can express
// is fixed in the schema, not listed here.
var knownDivergences = []struct {
	name    string
	version events.Version
	body    string
	// schema and decoder are whether each side accepts body.
	schema, decoder bool
	why             string
}{
	// JSON Schema judges a number's value, encoding/json its spelling.
	{
		name: "quantity written 2.0", version: events.V1, schema: true, decoder: false,
		body: `{"id":"order-1","product_id":"sku-1","quantity":2.0,"created_at":"2026-11-25T08:00:00Z"}`,
		why:  `"integer" is any number whose value is whole (2.0 is 2); encoding/json refuses a fraction for an int field; no keyword sees how a number is spelled`,
	},
	{
		name: "unit_price written 1e2", version: events.V2, schema: true, decoder: false,
		body: `{"id":"order-1","lines":[{"sku":"sku-1","quantity":2,"unit_price":1e2}],"currency":"EUR","created_at":"2026-11-25T08:00:00Z"}`,
		why:  `as above, an exponent: 1e2 is the integer 100 to JSON Schema, not an int64 to encoding/json`,
	},
	// encoding/json matches keys to fields without regard to case.
	{
		name: "key ID in upper case", version: events.V1, schema: false, decoder: true,
		body: `{"ID":"order-1","product_id":"sku-1","quantity":2,"created_at":"2026-11-25T08:00:00Z"}`,
		why:  `encoding/json fills id from "ID"; "required" and "properties" match keys exactly, and listing every case variant of every key is not a contract`,
	},
	{
		name: "later QUANTITY overrides quantity", version: events.V1, schema: true, decoder: false,
		body: `{"id":"order-1","product_id":"sku-1","quantity":2,"created_at":"2026-11-25T08:00:00Z","QUANTITY":5000}`,
		why:  `to the schema QUANTITY is an unknown (allowed) property; encoding/json stores it in Quantity, the last key wins, and 5000 is out of range`,
	},
	// Length in bytes against length in characters.
	// The zero time is "missing" to the decoder.
	{
		name: "created_at the zero time", version: events.V1, schema: true, decoder: false,
		body: `{"id":"order-1","product_id":"sku-1","quantity":2,"created_at":"0001-01-01T00:00:00Z"}`,
		why:  `the decoder tells a missing created_at by time.Time.IsZero, so it refuses the instant 0001-01-01T00:00:00Z however it is spelled (any offset, any fraction of zeros); a pattern cannot list every spelling of an instant`,
	},
	// Go's time parser accepts some strings RFC 3339 does not; the schema
	// keeps format: date-time, so it refuses them.
	{
		name: "created_at hour of one digit", version: events.V1, schema: false, decoder: true,
		body: `{"id":"order-1","product_id":"sku-1","quantity":2,"created_at":"2026-11-25T8:00:00Z"}`,
		why:  `time.Time.UnmarshalJSON reads the hour with one digit; RFC 3339 (format: date-time) wants two`,
	},
	{
		name: "created_at fraction after a comma", version: events.V1, schema: false, decoder: true,
		body: `{"id":"order-1","product_id":"sku-1","quantity":2,"created_at":"2026-11-25T08:00:00,5Z"}`,
		why:  `time.Time.UnmarshalJSON takes ',' as the decimal mark; RFC 3339 only '.'`,
	},
	{
		name: "created_at offset +24:00", version: events.V1, schema: false, decoder: true,
		body: `{"id":"order-1","product_id":"sku-1","quantity":2,"created_at":"2026-11-25T08:00:00+24:00"}`,
		why:  `time.Time.UnmarshalJSON takes an offset hour of 24; RFC 3339 stops at 23`,
	},
}

// TestKnownDivergences asserts each side's current verdict on the bodies
// of knownDivergences.
func TestKnownDivergences(t *testing.T) {
	schemas := map[string]*jsonschema.Schema{}
	for _, v := range events.Versions {
		schemas[v.Name] = compileSchemaFile(t, schemaFile(v))
	}
	for _, d := range knownDivergences {
		t.Run(d.version.Name+"/"+d.name, func(t *testing.T) {
			if d.schema == d.decoder {
				t.Fatalf("not a divergence: both sides accept %t; move the body to testdata", d.schema)
			}
			schemaOK, schemaErr := schemaAccepts(schemas[d.version.Name], []byte(d.body))
			_, decodeErr := d.version.Decode(nil, []byte(d.body))
			if schemaOK != d.schema {
				t.Errorf("schema accepts %t, the table says %t (%v); why it diverged: %s", schemaOK, d.schema, schemaErr, d.why)
			}
			if decoderOK := decodeErr == nil; decoderOK != d.decoder {
				t.Errorf("decoder accepts %t, the table says %t (%v); why it diverged: %s", decoderOK, d.decoder, decodeErr, d.why)
			}
		})
	}
}

// TestProducerOutputValidates: what the producer sends (Version.Encode of
// an order with a fresh id, Version.Headers) validates against the
// version's schema file, its payload in the AsyncAPI document and its
// message's headers schema; so do the headers of an order the dead-letter
// tool replays (its own source, a replay count); another version's headers do
// not.
func TestProducerOutputValidates(t *testing.T) {
	a := loadAsyncAPI(t)
	messages := orderMessages(t, a)
	now := time.Now()
	manyLines := func(n int, l events.Line) []events.Line {
		out := make([]events.Line, n)
		for i := range out {
			out[i] = l
			out[i].SKU = l.SKU + "-" + strconv.Itoa(i)
		}
		return out
	}
	orders := []struct {
		name  string
		order events.Order
		// versions that can carry it (v1 has one line and no price).
		versions []events.Version
	}{
		{"one line, no price", events.Order{Lines: []events.Line{{SKU: "sku-1", Quantity: 2}}, CreatedAt: now}, []events.Version{events.V1}},
		{"quantity 1000, created in another zone", events.Order{Lines: []events.Line{{SKU: "Käse-🧀", Quantity: events.MaxQuantity}},
			CreatedAt: now.In(time.FixedZone("", -(9*3600 + 30*60)))}, []events.Version{events.V1}},
		{"one priced line", events.Order{Lines: []events.Line{{SKU: "sku-1", Quantity: 1, UnitPrice: 1999}}, Currency: "EUR", CreatedAt: now}, []events.Version{events.V2}},
		{"free line, whole second", events.Order{Lines: []events.Line{{SKU: "sku-1", Quantity: 1, UnitPrice: 0}}, Currency: "JPY",
			CreatedAt: time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)}, []events.Version{events.V2}},
		{"most lines, dearest", events.Order{Lines: manyLines(events.MaxLines, events.Line{SKU: "sku", Quantity: events.MaxQuantity, UnitPrice: events.MaxUnitPrice}),
			Currency: "USD", CreatedAt: now}, []events.Version{events.V2}},
	}
	covered := map[string]bool{}
	for _, o := range orders {
		for _, v := range o.versions {
			covered[v.Name] = true
			t.Run(v.Name+"/"+o.name, func(t *testing.T) {
				if _, ok := messages[v.Type]; !ok {
					t.Fatalf("%s has no message with ce-type %s", asyncAPIDoc, v.Type)
				}
				order := o.order
				order.ID = events.NewOrderID()
				body, err := v.Encode(order)
				if err != nil {
					t.Fatalf("encode: %v", err)
				}
				for where, sch := range map[string]*jsonschema.Schema{
					schemaFile(v):            compileSchemaFile(t, schemaFile(v)),
					asyncAPIDoc + " payload": a.compile(t, messages[v.Type]+"/payload"),
				} {
					if ok, err := schemaAccepts(sch, body); !ok {
						t.Errorf("%s refuses %s: %v", where, body, err)
					}
				}
				headers := a.compile(t, messages[v.Type]+"/headers")
				h := v.Headers(order, "/orders/producer")
				if err := headers.Validate(headerInstance(h)); err != nil {
					t.Errorf("headers %s: %v", mustJSON(h), err)
				}
				if _, err := v.Decode(h, body); err != nil {
					t.Errorf("the consumer refuses what the producer sent: %v", err)
				}
				replay := v.Headers(order, "/orders/deadletters")
				replay[events.HeaderReplays] = "1"
				if err := headers.Validate(headerInstance(replay)); err != nil {
					t.Errorf("replayed headers %s: %v", mustJSON(replay), err)
				}
				for _, other := range events.Versions {
					if other.Name == v.Name {
						continue
					}
					oh := other.Headers(order, "/orders/producer")
					if err := headers.Validate(headerInstance(oh)); err == nil {
						t.Errorf("%s's headers %s validate as %s's", other.Name, mustJSON(oh), v.Name)
					}
				}
			})
		}
	}
	for _, v := range events.Versions {
		if !covered[v.Name] {
			t.Errorf("no order of TestProducerOutputValidates is sent as %s", v.Name)
		}
	}
}
