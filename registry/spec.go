package registry

// The shape of registry.yaml. Schemas and example events are written in YAML and handed to the
// JSON Schema compiler as JSON.

type fileSpec struct {
	// Exchange is the topic exchange every event is published to.
	Exchange  string                  `yaml:"exchange"`
	Consumers map[string]consumerSpec `yaml:"consumers"`
	// Defs is a JSON Schema document with shared $defs (identifier, currency, ...); data schemas
	// refer to it as "common.json#/$defs/NAME".
	Defs     map[string]any `yaml:"defs"`
	Envelope struct {
		Description string         `yaml:"description"`
		Schema      map[string]any `yaml:"schema"`
	} `yaml:"envelope"`
	Events map[string]eventSpec `yaml:"events"`
}

type consumerSpec struct {
	Description string `yaml:"description"`
}

type eventSpec struct {
	Description string        `yaml:"description"`
	Consumers   []string      `yaml:"consumers"`
	Versions    []versionSpec `yaml:"versions"`
}

type versionSpec struct {
	Version     int            `yaml:"version"`
	Description string         `yaml:"description"`
	Schema      map[string]any `yaml:"schema"`
	Examples    []exampleSpec  `yaml:"examples"`
	Invalid     []invalidSpec  `yaml:"invalid"`
}

type exampleSpec struct {
	Name  string         `yaml:"name"`
	Event map[string]any `yaml:"event"`
}

type invalidSpec struct {
	Name string `yaml:"name"`
	// Reason says why the example must fail, in words.
	Reason string `yaml:"reason"`
	// RoutingKey, when set, is the routing key the example is validated with (to show a
	// mismatch); otherwise the example's own event_type.
	RoutingKey string `yaml:"routing_key"`
	// Errors are JSON pointers at which validation must report a failure: the machine form of
	// Reason, checked by lint.
	Errors []string       `yaml:"errors"`
	Event  map[string]any `yaml:"event"`
}
