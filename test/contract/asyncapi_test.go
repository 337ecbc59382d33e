package contract

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/distsys-go/orders/platform/deadletter"
	"github.com/distsys-go/orders/platform/events"
	"github.com/distsys-go/orders/platform/messaging"
	testaudit "github.com/distsys-go/orders/test/audit"
)

// Where the AsyncAPI document keeps what the code has no name for.
const (
	deadLetterChannel = "/channels/deadLetters"
	auditChannel      = "/channels/deadLetterAudit"
	deadLetterMessage = "/components/messages/deadLetter"
	auditMessage      = "/components/messages/auditRecord"
)

// deadLetterGo declares the dead-letter header names, which no exported
// list holds: the test reads its constants.
const deadLetterGo = "platform/events/deadletter.go"

// orderMessages maps the ce-type const of each message that has one (the
// order events) to the message's pointer in the AsyncAPI document.
func orderMessages(t testing.TB, a *asyncAPI) map[string]string {
	t.Helper()
	out := map[string]string{}
	msgs := a.mapAt(t, "/components/messages")
	for _, name := range sortedKeys(msgs) {
		p := "/components/messages/" + escape(name)
		c, err := lookup(a.doc, p+"/headers/properties/"+events.HeaderType+"/const")
		if err != nil {
			continue
		}
		typ, ok := c.(string)
		if !ok {
			t.Fatalf("%s#%s: ce-type const %v is not a string", asyncAPIDoc, p, c)
		}
		if prev, dup := out[typ]; dup {
			t.Fatalf("%s: messages %s and %s both have ce-type %s", asyncAPIDoc, prev, p, typ)
		}
		out[typ] = p
	}
	return out
}

// channelsOf returns the pointers of the channels that carry the message
// at pointer msg (a channel's message is a $ref to it).
func channelsOf(t testing.TB, a *asyncAPI, msg string) []string {
	t.Helper()
	var out []string
	chans := a.mapAt(t, "/channels")
	for _, id := range sortedKeys(chans) {
		p := "/channels/" + escape(id)
		msgs, _ := a.mapAt(t, p)["messages"].(map[string]any)
		for _, m := range msgs {
			if localRef(t, m) == msg {
				out = append(out, p)
			}
		}
	}
	return out
}

// operationsOn returns the pointers of the operations of action (send,
// receive) on the channel at pointer ch.
func operationsOn(t testing.TB, a *asyncAPI, ch, action string) []string {
	t.Helper()
	var out []string
	ops := a.mapAt(t, "/operations")
	for _, id := range sortedKeys(ops) {
		p := "/operations/" + escape(id)
		if localRef(t, a.at(t, p+"/channel")) == ch && a.stringAt(t, p+"/action") == action {
			out = append(out, p)
		}
	}
	return out
}

// tagDefault is the default struct tag of a field of a type.
func tagDefault(t testing.TB, typ reflect.Type, field string) string {
	t.Helper()
	f, ok := typ.FieldByName(field)
	if !ok {
		t.Fatalf("%s has no field %s", typ, field)
	}
	d := f.Tag.Get("default")
	if d == "" {
		t.Fatalf("%s.%s has no default", typ, field)
	}
	return d
}

// stringConsts returns the string constants of a Go file whose names
// start with prefix, name to value.
func stringConsts(t testing.TB, file, prefix string) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), repoPath(t, file), nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, s := range gd.Specs {
			vs := s.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if !strings.HasPrefix(name.Name, prefix) || i >= len(vs.Values) {
					continue
				}
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					t.Fatalf("%s: const %s is not a string literal; read it another way", file, name.Name)
				}
				v, err := strconv.Unquote(lit.Value)
				if err != nil {
					t.Fatal(err)
				}
				out[name.Name] = v
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no string constants %s*", file, prefix)
	}
	return out
}

// values are a map's values, sorted.
func values(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

// sortedKeys are a mapping's keys, sorted.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// stringList reads a YAML sequence of strings, sorted.
func stringList(t testing.TB, v any) []string {
	t.Helper()
	l, ok := v.([]any)
	if !ok {
		t.Fatalf("%v is not a sequence", v)
	}
	out := make([]string, 0, len(l))
	for _, e := range l {
		s, ok := e.(string)
		if !ok {
			t.Fatalf("%v is not a string", e)
		}
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// asyncAPISchema is AsyncAPI 3.0.0's JSON Schema, which make installs into
// ./bin (mk/contracts.mk) and names in ORDERS_ASYNCAPI_SCHEMA.
func asyncAPISchema(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("ORDERS_ASYNCAPI_SCHEMA"); p != "" {
		return p
	}
	found, _ := filepath.Glob(filepath.Join(repoRoot(t), "bin", "asyncapi-specs-*.json"))
	if len(found) == 0 {
		t.Fatal("AsyncAPI's JSON Schema is not in ./bin: run `make tools` first (make test does)")
	}
	return found[len(found)-1]
}

// TestAsyncAPIDocumentIsValid: the document is an AsyncAPI 3.0.0 document
// by the specification's own JSON Schema (bindings included: the nats
// operation binding's queue).
func TestAsyncAPIDocumentIsValid(t *testing.T) {
	a := loadAsyncAPI(t)
	if got := a.stringAt(t, "/asyncapi"); got != "3.0.0" {
		t.Errorf("asyncapi %q, want 3.0.0", got)
	}
	meta, err := jsonschema.NewCompiler().Compile(asyncAPISchema(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := meta.Validate(any(a.doc)); err != nil {
		t.Errorf("%s is not a valid AsyncAPI 3.0.0 document: %v", asyncAPIDoc, err)
	}
}

// TestOrderMessagesMatchVersions: there is one order message per entry
// of events.Versions and no more, its ce-type const is the version's
// Type, its other constant headers are the code's, it documents every
// header Version.Headers sets and requires no other.
func TestOrderMessagesMatchVersions(t *testing.T) {
	a := loadAsyncAPI(t)
	messages := orderMessages(t, a)
	var types []string
	for _, v := range events.Versions {
		types = append(types, v.Type)
	}
	if got := sortedKeys(messages); !slices.Equal(got, slices.Sorted(slices.Values(types))) {
		t.Errorf("the order messages' ce-types are %v, events.Versions' %v", got, types)
	}
	for _, v := range events.Versions {
		t.Run(v.Name, func(t *testing.T) {
			msg, ok := messages[v.Type]
			if !ok {
				t.Fatalf("no message with ce-type const %s", v.Type)
			}
			if got := a.stringAt(t, msg+"/contentType"); got != events.ContentType {
				t.Errorf("contentType %q, want %q", got, events.ContentType)
			}
			props := a.mapAt(t, msg+"/headers/properties")
			for h, want := range map[string]string{events.HeaderSpecVersion: events.SpecVersion, events.HeaderContentType: events.ContentType} {
				if got, _ := lookup(props, "/"+escape(h)+"/const"); got != want {
					t.Errorf("header %s const %v, want %q", h, got, want)
				}
			}
			sent := v.Headers(events.Order{ID: "order-1", CreatedAt: time.Now()}, "/orders/producer")
			for h := range sent {
				if _, ok := props[h]; !ok {
					t.Errorf("header %s, which Version.Headers sets, is not documented", h)
				}
			}
			for _, h := range stringList(t, a.at(t, msg+"/headers/required")) {
				if _, ok := sent[h]; !ok {
					t.Errorf("header %s is required but Version.Headers does not set it", h)
				}
			}
		})
	}
}

// TestChannelsMatchCode: each channel's address is the subject the code
// uses by default: SUBJECT's default through Version.Subject for each
// version, DEAD_LETTER_SUBJECT's, and AUDIT_SUBJECT's with the verb and
// outcome, which the audit stream's filter captures; each version's
// channel is sent to by one operation and received by one whose NATS
// queue is the version's durable of QUEUE_GROUP's default.
func TestChannelsMatchCode(t *testing.T) {
	a := loadAsyncAPI(t)
	// The services' defaults, as test/chart's TestDefaultsAgree holds
	// them to the binaries' -h and the chart's values.
	names := testaudit.ChartNames()
	subject, group, deadLetters := names.Orders, names.Durable, names.DeadLetters
	audit := deadletter.AuditConfig{Subject: tagDefault(t, reflect.TypeFor[deadletter.AuditConfig](), "Subject")}

	if got := a.stringAt(t, "/servers/nats/protocol"); got != "nats" {
		t.Errorf("server nats protocol %q", got)
	}
	if got := a.stringAt(t, "/servers/nats/host"); got != "localhost:4222" {
		t.Errorf("server nats host %q, want the placeholder localhost:4222", got)
	}

	messages := orderMessages(t, a)
	for _, v := range events.Versions {
		t.Run(v.Name, func(t *testing.T) {
			chans := channelsOf(t, a, messages[v.Type])
			if len(chans) != 1 {
				t.Fatalf("%s's message is on channels %v, want one", v.Name, chans)
			}
			if got, want := a.stringAt(t, chans[0]+"/address"), v.Subject(subject); got != want {
				t.Errorf("address %q, want %q (Version.Subject of SUBJECT's default %q)", got, want, subject)
			}
			if ops := operationsOn(t, a, chans[0], "send"); len(ops) != 1 {
				t.Errorf("send operations %v, want one (the producer's)", ops)
			}
			ops := operationsOn(t, a, chans[0], "receive")
			if len(ops) != 1 {
				t.Fatalf("receive operations %v, want one (the consumer's)", ops)
			}
			if got, want := a.stringAt(t, ops[0]+"/bindings/nats/queue"), v.Durable(group); got != want {
				t.Errorf("nats queue %q, want %q (Version.Durable of QUEUE_GROUP's default %q)", got, want, group)
			}
			if got := a.stringAt(t, ops[0]+"/bindings/nats/bindingVersion"); got != "0.1.0" {
				t.Errorf("nats bindingVersion %q, want 0.1.0", got)
			}
		})
	}

	t.Run("dead letters", func(t *testing.T) {
		if got := a.stringAt(t, deadLetterChannel+"/address"); got != deadLetters {
			t.Errorf("address %q, want DEAD_LETTER_SUBJECT's default %q", got, deadLetters)
		}
		if got := channelsOf(t, a, deadLetterMessage); !slices.Equal(got, []string{deadLetterChannel}) {
			t.Errorf("the dead-letter message is on channels %v", got)
		}
		if ops := operationsOn(t, a, deadLetterChannel, "send"); len(ops) != 1 {
			t.Errorf("send operations %v, want one (the consumer's)", ops)
		}
	})

	t.Run("audit records", func(t *testing.T) {
		addr := a.stringAt(t, auditChannel+"/address")
		if want := audit.Subject + ".{verb}.{outcome}"; addr != want {
			t.Errorf("address %q, want %q (AUDIT_SUBJECT's default, verb, outcome)", addr, want)
		}
		var params []string
		for _, m := range regexp.MustCompile(`\{([^}]*)\}`).FindAllStringSubmatch(addr, -1) {
			params = append(params, m[1])
		}
		if got := sortedKeys(a.mapAt(t, auditChannel+"/parameters")); !slices.Equal(got, slices.Sorted(slices.Values(params))) {
			t.Errorf("parameters %v, the address names %v", got, params)
		}
		verbs := stringList(t, a.at(t, auditChannel+"/parameters/verb/enum"))
		if !slices.Equal(verbs, []string{"purge", "replay"}) {
			t.Errorf("verbs %v, want purge and replay", verbs)
		}
		payload := localRef(t, a.at(t, auditMessage+"/payload"))
		if got := stringList(t, a.at(t, payload+"/properties/verb/enum")); !slices.Equal(got, verbs) {
			t.Errorf("the audit record's verbs %v, the channel's %v", got, verbs)
		}
		for _, verb := range verbs {
			for _, outcome := range []string{deadletter.Replayed, deadletter.SkippedRecorded, deadletter.Failed, deadletter.Purged} {
				subj := strings.NewReplacer("{verb}", verb, "{outcome}", outcome).Replace(addr)
				if !messaging.SubjectMatches(audit.Filter(), subj) {
					t.Errorf("the audit stream's filter %s does not capture %s", audit.Filter(), subj)
				}
			}
		}
		if got := channelsOf(t, a, auditMessage); !slices.Equal(got, []string{auditChannel}) {
			t.Errorf("the audit message is on channels %v", got)
		}
		if ops := operationsOn(t, a, auditChannel, "send"); len(ops) != 1 {
			t.Errorf("send operations %v, want one (the dead-letter tool's)", ops)
		}
	})

	t.Run("operations send their channel's messages", func(t *testing.T) {
		ops := a.mapAt(t, "/operations")
		for _, id := range sortedKeys(ops) {
			p := "/operations/" + escape(id)
			ch := localRef(t, a.at(t, p+"/channel"))
			msgs, ok := a.at(t, p+"/messages").([]any)
			if !ok || len(msgs) == 0 {
				t.Errorf("%s has no messages", p)
			}
			for _, m := range msgs {
				if ref := localRef(t, m); !strings.HasPrefix(ref, ch+"/messages/") {
					t.Errorf("%s: message %s is not one of its channel %s's", p, ref, ch)
				} else {
					a.at(t, ref)
				}
			}
		}
	})
}

// TestDeadLetterHeadersMatchCode: the dead-letter message documents
// exactly the Header* constants of platform/events/deadletter.go, and its
// reason header's values are exactly the Reason* constants.
func TestDeadLetterHeadersMatchCode(t *testing.T) {
	a := loadAsyncAPI(t)
	props := a.mapAt(t, deadLetterMessage+"/headers/properties")
	want := values(stringConsts(t, deadLetterGo, "Header"))
	if got := sortedKeys(props); !slices.Equal(got, want) {
		t.Errorf("dead-letter headers %v, %s has %v", got, deadLetterGo, want)
	}
	for _, h := range stringList(t, a.at(t, deadLetterMessage+"/headers/required")) {
		if _, ok := props[h]; !ok {
			t.Errorf("required header %s is not documented", h)
		}
	}
	reasons := stringList(t, a.at(t, deadLetterMessage+"/headers/properties/"+events.HeaderDeadLetterReason+"/enum"))
	if want := values(stringConsts(t, deadLetterGo, "Reason")); !slices.Equal(reasons, want) {
		t.Errorf("reasons %v, %s has %v", reasons, deadLetterGo, want)
	}
	if got := stringList(t, a.at(t, deadLetterMessage+"/headers/properties/"+events.HeaderDeadLetterTruncated+"/enum")); !slices.Equal(got, []string{"false", "true"}) {
		t.Errorf("%s values %v, want true and false", events.HeaderDeadLetterTruncated, got)
	}
}

// TestAuditRecordMatchesEntry: the audit message's payload documents
// exactly the JSON fields of deadletter.Entry, and an Entry validates.
func TestAuditRecordMatchesEntry(t *testing.T) {
	a := loadAsyncAPI(t)
	payload := localRef(t, a.at(t, auditMessage+"/payload"))
	now := time.Now().UTC()
	full := deadletter.Entry{
		Run:  deadletter.Run{ID: "run-1", Actor: "alice", Command: "replay --reason max-deliveries"},
		Time: now, Verb: "replay", Outcome: deadletter.Replayed, Detail: "stored at sequence 9", Seq: 7,
		Reason: events.ReasonMaxDeliveries, OrderID: "order-1", Subject: "orders.created", Replays: 1, DeadLettered: now.Add(-time.Hour),
	}
	b, err := json.Marshal(full)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(b, &fields); err != nil {
		t.Fatal(err)
	}
	if got, want := sortedKeys(a.mapAt(t, payload+"/properties")), sortedKeys(fields); !slices.Equal(got, want) {
		t.Errorf("audit record properties %v, deadletter.Entry has %v", got, want)
	}
	sch := a.compile(t, auditMessage+"/payload")
	for name, e := range map[string]deadletter.Entry{
		"every field":                     full,
		"a purge of an unreadable letter": {Run: deadletter.Run{ID: "run-2"}, Time: now, Verb: "purge", Outcome: deadletter.Purged},
	} {
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := schemaAccepts(sch, b); !ok {
			t.Errorf("%s: %s: %v", name, b, err)
		}
	}
}
