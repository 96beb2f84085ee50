package registry

import (
	"encoding/json"
	"fmt"
	"time"
)

// Event is a validated event: the envelope's fields, the raw data and its typed payload.
type Event struct {
	ID            string
	Type          string
	Version       int
	OccurredAt    time.Time
	TenantID      string
	CorrelationID string
	CausationID   string
	Producer      string
	// Data is the raw data object as it arrived.
	Data json.RawMessage
	// Payload is Data decoded into its internal shape (for example *OrderCreated), whatever
	// version it came in; nil when the Go side has no decoder for the version.
	Payload Payload
}

// wireEnvelope is the envelope as it travels.
type wireEnvelope struct {
	EventID       string          `json:"event_id"`
	EventType     string          `json:"event_type"`
	EventVersion  int             `json:"event_version"`
	OccurredAt    string          `json:"occurred_at"`
	TenantID      string          `json:"tenant_id"`
	CorrelationID string          `json:"correlation_id,omitempty"`
	CausationID   string          `json:"causation_id,omitempty"`
	Producer      string          `json:"producer,omitempty"`
	Data          json.RawMessage `json:"data"`
}

// MarshalJSON writes the envelope as the contract has it, occurred_at in RFC 3339 UTC. Data is
// written as it is; set it (for example with json.Marshal of a Payload) before marshalling.
func (e Event) MarshalJSON() ([]byte, error) {
	data := e.Data
	if data == nil {
		data = json.RawMessage("{}")
	}
	return json.Marshal(wireEnvelope{
		EventID: e.ID, EventType: e.Type, EventVersion: e.Version, OccurredAt: FormatTime(e.OccurredAt),
		TenantID: e.TenantID, CorrelationID: e.CorrelationID, CausationID: e.CausationID,
		Producer: e.Producer, Data: data,
	})
}

// UnmarshalJSON reads the envelope's fields without validating them; use Registry.Validate for
// messages from outside.
func (e *Event) UnmarshalJSON(b []byte) error {
	var w struct {
		wireEnvelope
		// A number, so that 1.0 reads as version 1 as JSON Schema has it.
		EventVersion json.Number `json:"event_version"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("decode envelope: %w", err)
	}
	return e.fromWire(&w.wireEnvelope, w.EventVersion)
}

// fromWire sets e from the decoded envelope, whose event_version is the number version.
func (e *Event) fromWire(w *wireEnvelope, version json.Number) error {
	t, err := ParseTime(w.OccurredAt)
	if err != nil {
		return fmt.Errorf("decode envelope: occurred_at: %w", err)
	}
	v, err := jsonInt(version)
	if err != nil {
		return fmt.Errorf("decode envelope: event_version %q: %w", version, err)
	}
	*e = Event{
		ID: w.EventID, Type: w.EventType, Version: v, OccurredAt: t, TenantID: w.TenantID,
		CorrelationID: w.CorrelationID, CausationID: w.CausationID, Producer: w.Producer, Data: w.Data,
	}
	return nil
}
