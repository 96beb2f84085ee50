package publisher

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/eventworker/eventworker/registry"
)

// Event is what a caller publishes. Only TenantID and Data are always needed; Publish fills the
// rest of the envelope where it is zero.
type Event struct {
	// ID is the event_id; default: a new UUID v4. Set it to publish an event again after an
	// uncertain failure, so that consumers deduplicate the copies.
	ID string
	// Type is the event type and routing key; default: Data's EventType() when Data is a
	// registry.Payload.
	Type string
	// Version is the version of Data's schema; default: the latest the registry defines, the
	// shape that registry payload types marshal to.
	Version int
	// OccurredAt is when the event happened; default: now. It is sent in RFC 3339 UTC.
	OccurredAt time.Time
	// TenantID is the shop the event belongs to.
	TenantID string
	// CorrelationID ties the events of one business flow together; default: the context's
	// (WithCorrelationID). It is also sent as the AMQP correlation_id.
	CorrelationID string
	// CausationID is the event_id of the event that caused this one; default: the context's
	// (WithCausationID).
	CausationID string
	// Data is the event's data: a registry.Payload, a map or struct that marshals to a JSON
	// object, or the object's JSON as json.RawMessage.
	Data any
}

// envelope is an event ready to send: its validated form and the exact bytes of its body.
type envelope struct {
	event *registry.Event
	body  []byte
}

// buildEnvelope fills ev's envelope, marshals it and validates the body with the registry; an
// invalid body is an error wrapping the *registry.ValidationError.
func buildEnvelope(ctx context.Context, reg *registry.Registry, producer string, ev Event) (envelope, error) {
	typ := ev.Type
	if p, ok := ev.Data.(registry.Payload); ok {
		if typ == "" {
			typ = p.EventType()
		} else if typ != p.EventType() {
			return envelope{}, invalid(ev, typ, "/event_type",
				fmt.Sprintf("event type %q differs from the type of its data, %T (%s)", typ, ev.Data, p.EventType()))
		}
	}
	version := ev.Version
	if version == 0 {
		// An unknown type keeps version 1 so that Validate names the type as the fault.
		version = 1
		if v, err := reg.Latest(typ); err == nil {
			version = v
		}
	}
	data, err := marshalData(ev.Data)
	if err != nil {
		return envelope{}, fmt.Errorf("marshal data of %s event: %w", typ, err)
	}
	if data != nil && !json.Valid(data) {
		return envelope{}, invalid(ev, typ, "/data", "raw data is not valid JSON")
	}
	out := registry.Event{
		ID: ev.ID, Type: typ, Version: version, OccurredAt: ev.OccurredAt, TenantID: ev.TenantID,
		CorrelationID: ev.CorrelationID, CausationID: ev.CausationID, Producer: producer, Data: data,
	}
	if out.ID == "" {
		out.ID = uuid.NewString()
	}
	if out.OccurredAt.IsZero() {
		out.OccurredAt = time.Now()
	}
	out.OccurredAt = out.OccurredAt.UTC()
	if out.CorrelationID == "" {
		out.CorrelationID = CorrelationIDFrom(ctx)
	}
	if out.CausationID == "" {
		out.CausationID = CausationIDFrom(ctx)
	}
	body, err := json.Marshal(out)
	if err != nil {
		return envelope{}, fmt.Errorf("marshal %s event %s: %w", typ, out.ID, err)
	}
	valid, err := reg.Validate(typ, body)
	if err != nil {
		return envelope{}, fmt.Errorf("refusing to publish: %w", err)
	}
	return envelope{event: valid, body: body}, nil
}

// marshalData turns Data into the JSON of the data object; raw JSON passes as it is.
func marshalData(d any) (json.RawMessage, error) {
	switch v := d.(type) {
	case nil:
		return nil, nil
	case json.RawMessage:
		return v, nil
	case []byte:
		return v, nil
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		return b, nil
	}
}

// invalid is a failure found before the registry could see the body, in the registry's form so
// that callers handle every invalid event alike.
func invalid(ev Event, typ, pointer, msg string) error {
	return fmt.Errorf("refusing to publish: %w", &registry.ValidationError{
		EventID: ev.ID, EventType: typ, Version: ev.Version,
		Failures: []registry.Failure{{Pointer: pointer, Message: msg}},
	})
}
