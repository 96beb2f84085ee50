package dlq

import (
	"encoding/base64"
	"encoding/json"
	"time"
	"unicode/utf8"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/eventworker/eventworker/internal/broker"
)

// MarshalJSON renders an entry for `eventworker dlq list --json`: times in RFC 3339, headers
// of every AMQP type as JSON values, and the body as JSON when it is JSON, else as body_text
// (UTF-8) or body_base64.
func (e Entry) MarshalJSON() ([]byte, error) {
	type props struct {
		ContentType     string `json:"content_type,omitempty"`
		ContentEncoding string `json:"content_encoding,omitempty"`
		MessageID       string `json:"message_id,omitempty"`
		CorrelationID   string `json:"correlation_id,omitempty"`
		AppID           string `json:"app_id,omitempty"`
		Type            string `json:"type,omitempty"`
		Timestamp       string `json:"timestamp,omitempty"`
	}
	v := struct {
		Consumer      string          `json:"consumer"`
		Queue         string          `json:"queue"`
		EventID       string          `json:"event_id"`
		EventType     string          `json:"event_type"`
		TenantID      string          `json:"tenant_id"`
		Class         string          `json:"class"`
		Reason        string          `json:"reason"`
		RoutingKey    string          `json:"routing_key"`
		Attempts      int             `json:"attempts"`
		Replayed      int             `json:"replayed"`
		FirstFailure  string          `json:"first_failure,omitempty"`
		LastFailure   string          `json:"last_failure,omitempty"`
		Redelivered   bool            `json:"redelivered"`
		DeliveryCount int             `json:"delivery_count,omitempty"`
		Properties    props           `json:"properties"`
		Headers       map[string]any  `json:"headers"`
		Body          json.RawMessage `json:"body,omitempty"`
		BodyText      *string         `json:"body_text,omitempty"`
		BodyBase64    string          `json:"body_base64,omitempty"`
	}{
		Consumer: e.Consumer, Queue: e.Queue, EventID: e.EventID, EventType: e.EventType, TenantID: e.TenantID,
		Class: e.Class, Reason: e.Reason, RoutingKey: e.RoutingKey, Attempts: e.Attempts, Replayed: e.Replayed,
		FirstFailure: jsonTime(e.FirstFailure), LastFailure: jsonTime(e.LastFailure),
		Redelivered: e.Redelivered, DeliveryCount: e.DeliveryCount,
		Properties: props{
			ContentType: e.Properties.ContentType, ContentEncoding: e.Properties.ContentEncoding,
			MessageID: e.Properties.MessageID, CorrelationID: e.Properties.CorrelationID,
			AppID: e.Properties.AppID, Type: e.Properties.Type, Timestamp: jsonTime(e.Properties.Timestamp),
		},
		Headers: JSONHeaders(e.Headers),
	}
	switch {
	case len(e.Body) > 0 && json.Valid(e.Body):
		v.Body = json.RawMessage(e.Body)
	case utf8.Valid(e.Body):
		s := string(e.Body)
		v.BodyText = &s
	default:
		v.BodyBase64 = base64.StdEncoding.EncodeToString(e.Body)
	}
	return json.Marshal(v)
}

func jsonTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// JSONHeaders converts AMQP headers of any type into values encoding/json can write.
func JSONHeaders(h amqp.Table) map[string]any {
	out := make(map[string]any, len(h))
	for k, v := range h {
		out[k] = broker.JSONValue(v)
	}
	return out
}
