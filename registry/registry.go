package registry

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

//go:embed registry.yaml
var embeddedYAML []byte

// Embedded returns the registry.yaml built into the binary.
func Embedded() []byte { return slices.Clone(embeddedYAML) }

// schemaBase is the base URL of the schema documents; it is never fetched.
const schemaBase = "https://schemas.eventworker.invalid/"

// CommonSchemaURL is the URL under which the shared definitions are registered; data schemas
// refer to "common.json#/$defs/NAME".
const CommonSchemaURL = schemaBase + "common.json"

// Registry is a loaded, compiled registry.yaml. It is safe for concurrent use.
type Registry struct {
	exchange  string
	consumers map[string]string // name -> description
	types     map[string]*EventType
	names     []string // sorted event type names

	envelope       *jsonschema.Schema
	envelopeSchema json.RawMessage
	commonSchema   json.RawMessage
}

// EventType is one event type of the registry.
type EventType struct {
	// Name is the event type, also the routing key.
	Name        string
	Description string
	// Consumers react to this type, in registry order.
	Consumers []string
	// Versions are sorted by version number.
	Versions []*EventVersion
}

// Latest is the highest version of the type.
func (t *EventType) Latest() *EventVersion { return t.Versions[len(t.Versions)-1] }

// EventVersion is one version of an event type's data schema.
type EventVersion struct {
	Type        string
	Version     int
	Description string
	// Schema is the data schema as JSON, with its $ref into common.json.
	Schema   json.RawMessage
	Examples []Example
	Invalid  []InvalidExample

	compiled *jsonschema.Schema
}

// Example is a whole event body that must validate.
type Example struct {
	Name  string
	Event json.RawMessage
}

// InvalidExample is a whole event body that must fail validation.
type InvalidExample struct {
	Name   string
	Reason string
	// RoutingKey to validate with; "" means the body's own event_type.
	RoutingKey string
	// Errors are JSON pointers at which validation must report a failure.
	Errors []string
	Event  json.RawMessage
}

var defaultRegistry = sync.OnceValues(func() (*Registry, error) { return Load(embeddedYAML) })

// Default returns the embedded registry, loaded and compiled once per process.
func Default() (*Registry, error) { return defaultRegistry() }

// LoadFile loads a registry.yaml from disk.
func LoadFile(path string) (*Registry, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read registry: %w", err)
	}
	r, err := Load(b)
	if err != nil {
		return nil, fmt.Errorf("registry %s: %w", path, err)
	}
	return r, nil
}

// UnregisteredPrefix starts event type names that no registry may define: tests and examples
// that need a type nobody handles use one (unregistered.order_shipped), and it stays unknown
// whatever types are added later.
const UnregisteredPrefix = "unregistered."

// ReservedConsumer cannot name a consumer: <prefix>.unroutable is the queue of the events that
// no consumer's queue is bound for.
const ReservedConsumer = "unroutable"

// Load parses a registry.yaml and compiles every schema in it. It fails, listing every problem,
// when the file is not well-formed or a schema does not compile; content problems that leave the
// registry usable (an example that does not validate, a gap in versions) are Lint's business.
func Load(data []byte) (*Registry, error) {
	var spec fileSpec
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&spec); err != nil {
		return nil, fmt.Errorf("parse registry yaml: %w", err)
	}
	var problems []error
	if spec.Exchange == "" {
		problems = append(problems, errors.New("exchange is empty"))
	}
	if len(spec.Events) == 0 {
		problems = append(problems, errors.New("no events defined"))
	}

	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.UseRegexpEngine(compilePattern)
	c.AssertFormat()
	for _, f := range formats {
		c.RegisterFormat(f)
	}

	r := &Registry{
		exchange:  spec.Exchange,
		consumers: map[string]string{},
		types:     map[string]*EventType{},
	}
	for name, cs := range spec.Consumers {
		if name == ReservedConsumer {
			problems = append(problems, fmt.Errorf("consumer %q: the name is reserved for the queue of the events no queue is bound for; choose another", name))
		}
		r.consumers[name] = cs.Description
	}

	var err error
	if r.commonSchema, err = addResource(c, CommonSchemaURL, spec.Defs); err != nil {
		problems = append(problems, fmt.Errorf("defs: %w", err))
	}
	envURL := schemaBase + "envelope.json"
	if r.envelopeSchema, err = addResource(c, envURL, spec.Envelope.Schema); err != nil {
		problems = append(problems, fmt.Errorf("envelope: %w", err))
	} else if r.envelope, err = c.Compile(envURL); err != nil {
		problems = append(problems, fmt.Errorf("envelope: compile schema: %w", err))
	}

	for name, es := range spec.Events {
		if strings.HasPrefix(name, UnregisteredPrefix) {
			problems = append(problems, fmt.Errorf("event type %s: the prefix %q is reserved for names that are never registered; choose another", name, UnregisteredPrefix))
		}
		t := &EventType{Name: name, Description: es.Description, Consumers: es.Consumers}
		seen := map[int]bool{}
		for _, vs := range es.Versions {
			where := fmt.Sprintf("%s v%d", name, vs.Version)
			if vs.Version < 1 || seen[vs.Version] {
				problems = append(problems, fmt.Errorf("%s: version must be unique and >= 1", where))
				continue
			}
			seen[vs.Version] = true
			v, err := compileVersion(c, name, vs)
			if err != nil {
				problems = append(problems, fmt.Errorf("%s: %w", where, err))
				continue
			}
			t.Versions = append(t.Versions, v)
		}
		if len(t.Versions) == 0 {
			problems = append(problems, fmt.Errorf("%s: no usable version", name))
			continue
		}
		sort.Slice(t.Versions, func(i, j int) bool { return t.Versions[i].Version < t.Versions[j].Version })
		r.types[name] = t
		r.names = append(r.names, name)
	}
	sort.Strings(r.names)
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	return r, nil
}

// SchemaURL is the URL under which a version's data schema is registered.
func SchemaURL(eventType string, version int) string {
	return fmt.Sprintf("%s%s.v%d.json", schemaBase, eventType, version)
}

func compileVersion(c *jsonschema.Compiler, name string, vs versionSpec) (*EventVersion, error) {
	url := SchemaURL(name, vs.Version)
	raw, err := addResource(c, url, vs.Schema)
	if err != nil {
		return nil, err
	}
	compiled, err := c.Compile(url)
	if err != nil {
		return nil, fmt.Errorf("compile schema: %w", err)
	}
	v := &EventVersion{Type: name, Version: vs.Version, Description: vs.Description, Schema: raw, compiled: compiled}
	for _, ex := range vs.Examples {
		b, err := json.Marshal(ex.Event)
		if err != nil {
			return nil, fmt.Errorf("example %q: %w", ex.Name, err)
		}
		v.Examples = append(v.Examples, Example{Name: ex.Name, Event: b})
	}
	for _, ex := range vs.Invalid {
		b, err := json.Marshal(ex.Event)
		if err != nil {
			return nil, fmt.Errorf("invalid example %q: %w", ex.Name, err)
		}
		v.Invalid = append(v.Invalid, InvalidExample{
			Name: ex.Name, Reason: ex.Reason, RoutingKey: ex.RoutingKey, Errors: ex.Errors, Event: b,
		})
	}
	return v, nil
}

// addResource hands a YAML-decoded schema to the compiler as JSON and returns that JSON.
func addResource(c *jsonschema.Compiler, url string, doc map[string]any) (json.RawMessage, error) {
	if doc == nil {
		return nil, errors.New("schema is missing")
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("schema to JSON: %w", err)
	}
	parsed, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("schema to JSON: %w", err)
	}
	if err := c.AddResource(url, parsed); err != nil {
		return nil, fmt.Errorf("add schema: %w", err)
	}
	return b, nil
}

// Exchange is the topic exchange that carries the events.
func (r *Registry) Exchange() string { return r.exchange }

// Types returns the event type names, sorted.
func (r *Registry) Types() []string { return slices.Clone(r.names) }

// Type returns an event type, or an error wrapping ErrUnknownType.
func (r *Registry) Type(name string) (*EventType, error) {
	t, ok := r.types[name]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownType, name)
	}
	return t, nil
}

// Lookup returns one version of an event type, or an error wrapping ErrUnknownType or
// ErrUnknownVersion.
func (r *Registry) Lookup(eventType string, version int) (*EventVersion, error) {
	t, err := r.Type(eventType)
	if err != nil {
		return nil, err
	}
	for _, v := range t.Versions {
		if v.Version == version {
			return v, nil
		}
	}
	return nil, fmt.Errorf("%w: %s has no version %d (latest is %d)", ErrUnknownVersion, eventType, version, t.Latest().Version)
}

// Latest returns the highest version of an event type.
func (r *Registry) Latest(eventType string) (int, error) {
	t, err := r.Type(eventType)
	if err != nil {
		return 0, err
	}
	return t.Latest().Version, nil
}

// Consumers returns the consumer names defined in the registry, sorted.
func (r *Registry) Consumers() []string {
	names := make([]string, 0, len(r.consumers))
	for n := range r.consumers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ConsumerDescription returns what a consumer does, as the registry says.
func (r *Registry) ConsumerDescription(name string) (string, error) {
	d, ok := r.consumers[name]
	if !ok {
		return "", fmt.Errorf("%w %q", ErrUnknownConsumer, name)
	}
	return d, nil
}

// ConsumersOf returns the consumers that react to an event type (nil for an unknown type).
func (r *Registry) ConsumersOf(eventType string) []string {
	t, ok := r.types[eventType]
	if !ok {
		return nil
	}
	return slices.Clone(t.Consumers)
}

// EventsOf returns the event types a consumer reacts to, sorted: the routing keys its queue is
// bound with.
func (r *Registry) EventsOf(consumer string) []string {
	var out []string
	for _, n := range r.names {
		if slices.Contains(r.types[n].Consumers, consumer) {
			out = append(out, n)
		}
	}
	return out
}

// EnvelopeSchema returns the envelope's JSON Schema.
func (r *Registry) EnvelopeSchema() json.RawMessage { return slices.Clone(r.envelopeSchema) }

// CommonSchema returns the shared definitions that data schemas refer to as common.json.
func (r *Registry) CommonSchema() json.RawMessage { return slices.Clone(r.commonSchema) }
