package registry

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestEmbeddedRegistryLints(t *testing.T) {
	r := mustDefault(t)
	for _, p := range r.Lint() {
		t.Error(p)
	}
}

// TestPublishedSchemasNeverChange compares every version's data schema, the envelope and the
// shared definitions with their golden copies. A published version is never edited in place:
// a change comes as a new version, whose golden file is added with -update.
func TestPublishedSchemasNeverChange(t *testing.T) {
	r := mustDefault(t)
	docs := map[string][]byte{
		"envelope.json": r.EnvelopeSchema(),
		"common.json":   r.CommonSchema(),
	}
	for _, name := range r.Types() {
		typ, _ := r.Type(name)
		for _, v := range typ.Versions {
			docs[filepath.Base(SchemaURL(name, v.Version))] = v.Schema
		}
	}
	dir := filepath.Join("testdata", "schemas")
	for file, schema := range docs {
		var pretty bytes.Buffer
		if err := json.Indent(&pretty, schema, "", "  "); err != nil {
			t.Fatal(err)
		}
		pretty.WriteByte('\n')
		path := filepath.Join(dir, file)
		if *update {
			if _, err := os.Stat(path); err == nil && !strings.HasPrefix(file, "envelope") && !strings.HasPrefix(file, "common") {
				old, _ := os.ReadFile(path)
				if !bytes.Equal(old, pretty.Bytes()) {
					t.Errorf("%s: refusing to rewrite a published version's schema; add a new version instead", file)
					continue
				}
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%s has no golden copy (%v); run go test ./registry -run PublishedSchemas -update once when the version is new", file, err)
			continue
		}
		if !bytes.Equal(want, pretty.Bytes()) {
			t.Errorf("%s differs from its golden copy %s: a published schema must not change in place; add a new version instead", file, path)
		}
	}
	// A golden file without a version in the registry means a published version was removed.
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	for _, f := range files {
		if _, ok := docs[filepath.Base(f)]; !ok {
			t.Errorf("%s is a published schema that the registry no longer has", f)
		}
	}
}

func TestLookups(t *testing.T) {
	r := mustDefault(t)
	if r.Exchange() != "events" {
		t.Errorf("exchange = %q, want events", r.Exchange())
	}
	if v, err := r.Latest("order.created"); err != nil || v != 2 {
		t.Errorf("Latest(order.created) = %d, %v; want 2", v, err)
	}
	if _, err := r.Latest("nope.nope"); !errors.Is(err, ErrUnknownType) {
		t.Errorf("Latest of unknown type: %v", err)
	}
	if _, err := r.Lookup("order.created", 3); !errors.Is(err, ErrUnknownVersion) {
		t.Errorf("Lookup(order.created, 3): %v", err)
	}
	if _, err := r.ConsumerDescription("nobody"); !errors.Is(err, ErrUnknownConsumer) {
		t.Errorf("ConsumerDescription(nobody): %v", err)
	}
	// Every consumer's events and every event's consumers agree with each other.
	for _, c := range r.Consumers() {
		for _, e := range r.EventsOf(c) {
			if !slices.Contains(r.ConsumersOf(e), c) {
				t.Errorf("%s lists %s, but %s does not list %s", c, e, e, c)
			}
		}
	}
	if got := r.EventsOf("notifications"); !slices.Contains(got, "order.created") || !slices.Contains(got, "product.inventory_low") {
		t.Errorf("EventsOf(notifications) = %v", got)
	}
}

func TestLoadReportsEveryProblem(t *testing.T) {
	bad := []byte(`
exchange: ""
consumers: {a: {description: x}, unroutable: {description: y}}
defs: {$defs: {}}
envelope: {schema: {type: object}}
events:
  x.one:
    description: d
    consumers: [a]
    versions:
      - {version: 1, schema: {type: wrong}}
      - {version: 1, schema: {type: object}}
  unregistered.thing:
    description: d
    consumers: [a]
    versions:
      - {version: 1, schema: {type: object}}
`)
	_, err := Load(bad)
	if err == nil {
		t.Fatal("Load accepted a broken registry")
	}
	for _, want := range []string{"exchange is empty", "x.one v1", `consumer "unroutable": the name is reserved`,
		`event type unregistered.thing: the prefix "unregistered." is reserved`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if _, err := Load([]byte("exchange: events\nunknown_key: 1\n")); err == nil || !strings.Contains(err.Error(), "unknown_key") {
		t.Errorf("unknown keys must be reported, got %v", err)
	}
	if _, err := LoadFile("testdata/does-not-exist.yaml"); err == nil || !strings.Contains(err.Error(), "does-not-exist.yaml") {
		t.Errorf("LoadFile should name the file, got %v", err)
	}
}

func TestLintFindsProblems(t *testing.T) {
	src := string(Embedded())
	// A gap in versions, an undefined consumer, an invalid example that validates.
	src = strings.Replace(src, "      - version: 2\n        description: Money in integer minor units.", "      - version: 3\n        description: Money in integer minor units.", 1)
	src = strings.Replace(src, "consumers: [notifications, analytics]", "consumers: [notifications, analytics, ghosts]", 1)
	src = strings.Replace(src, "currency: usd}", "currency: USD}", 1)
	r, err := Load([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var all []string
	for _, p := range r.Lint() {
		all = append(all, p.Error())
	}
	joined := strings.Join(all, "\n")
	for _, want := range []string{"without gaps", `consumer "ghosts" is not defined`, `"bad-currency" validates, but must fail`, "order.created v3: the Go side has no decoder"} {
		if !strings.Contains(joined, want) {
			t.Errorf("lint did not report %q; it said:\n%s", want, joined)
		}
	}
}
