package docs

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"

	"github.com/eventworker/eventworker/registry"
)

// TestDocsGolden compares the generated documents with testdata/docs; after a registry change,
// go test ./registry/docs -run Docs -update rewrites them (and `eventworker registry docs` the
// committed docs/).
func TestDocsGolden(t *testing.T) {
	r := mustDefault(t)
	tests := []struct {
		file     string
		generate func() ([]byte, error)
	}{
		{"events.md", func() ([]byte, error) { return Markdown(r), nil }},
		{"asyncapi.yaml", func() ([]byte, error) { return AsyncAPI(r) }},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := tt.generate()
			if err != nil {
				t.Fatal(err)
			}
			again, _ := tt.generate()
			if !bytes.Equal(got, again) {
				t.Fatal("two runs gave different output: the generator is not deterministic")
			}
			path := filepath.Join("testdata", "docs", tt.file)
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v; run go test ./registry/docs -run Docs -update to create it", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the generated output (first difference: %s); run go test ./registry/docs -run Docs -update and review the diff",
					path, firstDiff(want, got))
			}
		})
	}
}

func TestMarkdownContent(t *testing.T) {
	md := string(Markdown(mustDefault(t)))
	tests := []struct {
		name string
		want string
	}{
		{"exchange", "| exchange | `events`, type `topic`, durable"},
		{"envelope field", "| `event_id` | string | yes | Unique per event; the idempotency key; format `uuid` |"},
		{"ref resolved to its type", "| `tenant_id` | string (identifier) | yes |"},
		{"consumer row", "| `cache` | Refreshes and invalidates"},
		{"nested array field", "| `items[].unit_price_minor` | integer (minor_amount) | yes |"},
		{"optional field", "| `customer_name` | string (text) | no |"},
		{"version heading", "#### `order.created` v2"},
		{"example", "```json\n{\n  \"data\": {"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(md, tt.want) {
				t.Errorf("Markdown lacks %q", tt.want)
			}
		})
	}
}

// TestAsyncAPIDocument checks the document's structure: it parses, is AsyncAPI 3.0.0, has a
// channel per event type and a message per version, every $ref resolves within the document,
// and every valid example of the registry satisfies its message's payload schema.
func TestAsyncAPIDocument(t *testing.T) {
	r := mustDefault(t)
	out, err := AsyncAPI(r)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(out, &doc); err != nil {
		t.Fatalf("AsyncAPI output is not YAML: %v", err)
	}
	if doc["asyncapi"] != "3.0.0" {
		t.Errorf("asyncapi = %v, want 3.0.0", doc["asyncapi"])
	}
	channels, _ := doc["channels"].(map[string]any)
	byAddress := map[string]map[string]any{}
	for _, c := range channels {
		ch, _ := c.(map[string]any)
		byAddress[fmt.Sprint(ch["address"])] = ch
	}
	if len(channels) != len(r.Types()) {
		t.Errorf("%d channels for %d event types", len(channels), len(r.Types()))
	}
	for _, name := range r.Types() {
		ch, ok := byAddress[name]
		if !ok {
			t.Errorf("no channel with address %s", name)
			continue
		}
		typ, _ := r.Type(name)
		if msgs, _ := ch["messages"].(map[string]any); len(msgs) != len(typ.Versions) {
			t.Errorf("channel %s has %d messages for %d versions", name, len(msgs), len(typ.Versions))
		}
		amqp, _ := lookupPath(ch, "bindings", "amqp", "exchange").(map[string]any)
		if amqp["name"] != r.Exchange() || amqp["type"] != "topic" || amqp["durable"] != true || amqp["autoDelete"] != false {
			t.Errorf("channel %s: exchange binding %v", name, amqp)
		}
	}

	// Every $ref resolves, and no $schema or $id is left inside.
	walk(doc, "", func(path string, m map[string]any) {
		if ref, ok := m["$ref"].(string); ok {
			if !strings.HasPrefix(ref, "#/") {
				t.Errorf("%s: $ref %q leaves the document", path, ref)
			} else if _, err := resolvePointer(doc, ref[1:]); err != nil {
				t.Errorf("%s: $ref %q: %v", path, ref, err)
			}
		}
		for _, k := range []string{"$schema", "$id"} {
			if _, ok := m[k]; ok {
				t.Errorf("%s holds %s", path, k)
			}
		}
	})

	// One receive operation per consumer and event, one send per event.
	ops, _ := doc["operations"].(map[string]any)
	sends, receives := 0, 0
	for _, o := range ops {
		switch o.(map[string]any)["action"] {
		case "send":
			sends++
		case "receive":
			receives++
		}
	}
	wantReceives := 0
	for _, c := range r.Consumers() {
		wantReceives += len(r.EventsOf(c))
	}
	if sends != len(r.Types()) || receives != wantReceives {
		t.Errorf("%d send and %d receive operations, want %d and %d", sends, receives, len(r.Types()), wantReceives)
	}

	// The payloads are real schemas: compile them from the document and validate the examples.
	asJSON, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := jsonschema.UnmarshalJSON(bytes.NewReader(asJSON))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	const docURL = "https://asyncapi.eventworker.invalid/asyncapi.json"
	if err := c.AddResource(docURL, parsed); err != nil {
		t.Fatal(err)
	}
	for _, name := range r.Types() {
		typ, _ := r.Type(name)
		for _, v := range typ.Versions {
			id := pascal(name) + "V" + fmt.Sprint(v.Version)
			sch, err := c.Compile(docURL + "#/components/messages/" + id + "/payload")
			if err != nil {
				t.Errorf("%s: payload does not compile: %v", id, err)
				continue
			}
			for _, ex := range v.Examples {
				inst, _ := jsonschema.UnmarshalJSON(bytes.NewReader(ex.Event))
				if err := sch.Validate(inst); err != nil {
					t.Errorf("%s: example %s fails the payload schema: %v", id, ex.Name, err)
				}
			}
			// Another version's example must not pass: event_version is pinned.
			for _, other := range typ.Versions {
				if other.Version == v.Version || len(other.Examples) == 0 {
					continue
				}
				inst, _ := jsonschema.UnmarshalJSON(bytes.NewReader(other.Examples[0].Event))
				if sch.Validate(inst) == nil {
					t.Errorf("%s accepts an example of v%d", id, other.Version)
				}
			}
		}
	}
}

func TestAsyncAPIRejectsForeignRefs(t *testing.T) {
	r, err := registry.Load([]byte(`
exchange: events
consumers: {c: {description: d}}
defs: {$defs: {id: {type: string}}}
envelope: {schema: {type: object, properties: {data: {type: object}}}}
events:
  x.happened:
    description: d
    consumers: [c]
    versions:
      - version: 1
        schema:
          type: object
          properties: {a: {$ref: "#/$defs/local"}, b: {$ref: common.json#/$defs/id}}
          $defs: {local: {type: string}}
`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := AsyncAPI(r); err == nil || !strings.Contains(err.Error(), "x.happened v1") {
		t.Errorf("AsyncAPI with a local $ref: err = %v, want one naming x.happened v1", err)
	}
	// Markdown still renders: a $ref it cannot follow shows as "any", one into common.json its type.
	md := Markdown(r)
	for _, want := range []string{"| `a` | any | no |", "| `b` | string (id) | no |"} {
		if !bytes.Contains(md, []byte(want)) {
			t.Errorf("Markdown lacks %q", want)
		}
	}
}

func TestPascal(t *testing.T) {
	tests := map[string]string{
		"order.created":         "OrderCreated",
		"order.pending_payment": "OrderPendingPayment",
		"notifications":         "Notifications",
		"a-b.c_d2":              "ABCD2",
	}
	for in, want := range tests {
		if got := pascal(in); got != want {
			t.Errorf("pascal(%q) = %q, want %q", in, got, want)
		}
	}
}

func walk(v any, path string, f func(string, map[string]any)) {
	switch t := v.(type) {
	case map[string]any:
		f(path, t)
		for k, e := range t {
			walk(e, path+"/"+k, f)
		}
	case []any:
		for i, e := range t {
			walk(e, fmt.Sprintf("%s/%d", path, i), f)
		}
	}
}

func resolvePointer(doc any, ptr string) (any, error) {
	cur := doc
	for _, tok := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%q is not inside an object", tok)
		}
		if cur, ok = m[tok]; !ok {
			return nil, fmt.Errorf("no %q", tok)
		}
	}
	return cur, nil
}

func lookupPath(v any, keys ...string) any {
	for _, k := range keys {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	return v
}

func firstDiff(want, got []byte) string {
	wl, gl := strings.Split(string(want), "\n"), strings.Split(string(got), "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("line %d: golden %q, generated %q", i+1, w, g)
		}
	}
	return "none"
}

// update rewrites the golden files instead of comparing with them: go test ./registry/docs -update.
var update = flag.Bool("update", false, "rewrite golden files")

// mustDefault loads the embedded registry.
func mustDefault(t testing.TB) *registry.Registry {
	t.Helper()
	r, err := registry.Default()
	if err != nil {
		t.Fatal(err)
	}
	return r
}
