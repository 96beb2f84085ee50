package tracing

import "go.opentelemetry.io/otel/attribute"

// Attribute keys of the worker's own span attributes, beside OpenTelemetry's messaging
// semantic conventions.
const (
	// Consumer names the consumer (the handler) that processed the event.
	Consumer = attribute.Key("eventworker.consumer")
	// EventType is the event's type (the contract's event_type; also the routing key).
	EventType = attribute.Key("eventworker.event_type")
	// TenantID is the shop the event belongs to.
	TenantID = attribute.Key("eventworker.tenant_id")
	// Attempt counts the attempts at the event, this one included (1 for the first).
	Attempt = attribute.Key("eventworker.attempt")
	// Outcome is what the worker did with the delivery: the outcome label of
	// eventworker_handler_outcomes_total (ok, retried, dead_lettered, duplicate, ...).
	Outcome = attribute.Key("eventworker.outcome")
	// ErrorClass classifies a failure: transient, permanent, unavailable, later, suppressed,
	// exhausted (retries spent), invalid.
	ErrorClass = attribute.Key("eventworker.error_class")
	// Replayed counts how often `eventworker dlq replay` sent the event back.
	Replayed = attribute.Key("eventworker.replayed")
	// EmailTemplate names the template of an email sent.
	EmailTemplate = attribute.Key("eventworker.email.template")
)

// TracerName is the instrumentation scope of the worker's spans.
const TracerName = "github.com/eventworker/eventworker"
