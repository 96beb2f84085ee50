package dlq

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/eventworker/eventworker/internal/broker"
)

// Entry is one dead letter. Fields that cannot be read from the message are empty (zero
// times, zero attempts); a display shows them as "-".
type Entry struct {
	// Consumer and Queue: whose dead-letter queue holds the message.
	Consumer string
	Queue    string
	// EventID is the body's event_id, or the message id when the body has none.
	EventID string
	// EventType is the body's event_type, or the original routing key when the body has none.
	EventType string
	// TenantID is the body's tenant_id.
	TenantID string
	// Class is "permanent", "exhausted", "delivery_limit" (its handler kept dying with the
	// worker, or RabbitMQ dead-lettered it after its queue's delivery limit), "broker"
	// (RabbitMQ, for another reason) or "unroutable" (no queue was bound for it); Reason says
	// why the message is here.
	Class  string
	Reason string
	// Host is the host whose worker dead-lettered it; Errors the chain of errors of the last
	// failure, outermost first; Stack the stack trace of a handler that panicked.
	Host   string
	Errors []string
	Stack  string
	// RoutingKey is the message's original routing key (its event type).
	RoutingKey string
	// Attempts counts the failed attempts; Replayed how often the message was replayed before.
	Attempts int
	Replayed int
	// FirstFailure and LastFailure are the times of the first and the latest failure.
	FirstFailure time.Time
	LastFailure  time.Time
	// Body is the message body, byte for byte.
	Body []byte
	// Headers are all the message's headers, the broker's and the worker's included.
	Headers    amqp.Table
	Properties Properties
	// Redelivered reports that the broker delivered this message before (a previous dlq
	// command or consumer saw it); DeliveryCount is a quorum queue's x-delivery-count.
	Redelivered   bool
	DeliveryCount int
}

// Properties are the AMQP properties of a dead letter that a replay keeps.
type Properties struct {
	ContentType     string
	ContentEncoding string
	MessageID       string
	CorrelationID   string
	AppID           string
	Type            string
	Timestamp       time.Time
}

// ClassUnroutable is the class of an event in the queue of the unroutable events.
const ClassUnroutable = "unroutable"

// Broker dead-lettering header.
const headerXDeath = "x-death"

// decode reads an Entry from a delivery of consumer's dead-letter queue; it never fails.
func decode(consumer, queue string, d amqp.Delivery) Entry {
	h := d.Headers
	if h == nil {
		h = amqp.Table{}
	}
	e := Entry{
		Consumer:   consumer,
		Queue:      queue,
		Class:      headerString(h[broker.HeaderErrorClass]),
		Reason:     headerString(h[broker.HeaderReason]),
		Host:       headerString(h[broker.HeaderHost]),
		Stack:      headerString(h[broker.HeaderStack]),
		RoutingKey: headerString(h[broker.HeaderRoutingKey]),
		Body:       d.Body,
		Headers:    h,
		Properties: Properties{
			ContentType: d.ContentType, ContentEncoding: d.ContentEncoding, MessageID: d.MessageId,
			CorrelationID: d.CorrelationId, AppID: d.AppId, Type: d.Type, Timestamp: d.Timestamp,
		},
		Redelivered: d.Redelivered,
	}
	if n, ok := broker.HeaderInt(h[broker.HeaderAttempts]); ok {
		e.Attempts = int(n)
	}
	if errs, ok := h[broker.HeaderErrors].([]any); ok {
		for _, x := range errs {
			e.Errors = append(e.Errors, headerString(x))
		}
	}
	if n, ok := broker.HeaderInt(h[broker.HeaderReplayed]); ok {
		e.Replayed = int(n)
	}
	if n, ok := broker.HeaderInt(h["x-delivery-count"]); ok {
		e.DeliveryCount = int(n)
	}
	e.FirstFailure = headerTime(h[broker.HeaderFirstFailure])
	e.LastFailure = headerTime(h[broker.HeaderLastFailure])

	// The broker's dead-lettering: x-death lists one table per (queue, reason), the latest
	// first, the oldest (the message's original routing) last.
	if deaths := xDeaths(h[headerXDeath]); len(deaths) > 0 {
		latest, oldest := deaths[0], deaths[len(deaths)-1]
		if e.Reason == "" && e.Class == "" {
			e.Class, e.Reason = brokerReason(headerString(latest["reason"]), latest, e.DeliveryCount)
		}
		if e.RoutingKey == "" {
			if keys, ok := oldest["routing-keys"].([]any); ok && len(keys) > 0 {
				e.RoutingKey = headerString(keys[0])
			}
		}
		if e.LastFailure.IsZero() {
			e.LastFailure = headerTime(latest["time"])
		}
		if e.FirstFailure.IsZero() {
			e.FirstFailure = headerTime(oldest["time"])
		}
		if e.Attempts == 0 {
			if e.DeliveryCount > 0 {
				e.Attempts = e.DeliveryCount
			} else if n, ok := broker.HeaderInt(latest["count"]); ok {
				e.Attempts = int(n)
			}
		}
	}
	if e.LastFailure.IsZero() && !d.Timestamp.IsZero() {
		// The worker stamps the dead letter when it publishes it.
		e.LastFailure = d.Timestamp
	}

	if consumer == Unroutable && e.Class == "" {
		// RabbitMQ routed it here as it was published: its routing key is the original.
		e.RoutingKey = d.RoutingKey
		e.Class = ClassUnroutable
		e.Reason = fmt.Sprintf("no queue was bound to routing key %q on exchange %q when it was published: no consumer "+
			"takes this event type. Map it to a consumer in registry.yaml (or purge it if nobody needs it), then replay it: "+
			"a replay publishes it to the exchange again", d.RoutingKey, d.Exchange)
	}
	fields := lenientFields(d.Body, "event_id", "event_type", "tenant_id")
	e.EventID, e.EventType, e.TenantID = fields["event_id"], fields["event_type"], fields["tenant_id"]
	if e.EventID == "" {
		e.EventID = d.MessageId
	}
	if e.EventType == "" {
		e.EventType = e.RoutingKey
	}
	return e
}

// brokerReason is the class and reason of a message RabbitMQ dead-lettered itself, from its
// latest x-death entry.
func brokerReason(reason string, death amqp.Table, deliveryCount int) (class, text string) {
	if reason != "delivery_limit" {
		return broker.ClassBroker, "broker: " + orDash(reason)
	}
	times := "more often than its x-delivery-limit allows"
	if deliveryCount > 0 {
		times = fmt.Sprintf("%d times, its x-delivery-limit", deliveryCount)
	}
	queue := orDash(headerString(death["queue"]))
	return broker.ClassDeliveryLimit, fmt.Sprintf("broker: delivered from %s %s, without an acknowledgement: "+
		"the worker died or was stopped while holding it each time. The worker publishes anew a message that reaches "+
		"the limit unhandled, so one ends here when that could not be done (Redis or RabbitMQ unavailable) or when "+
		"the worker died before it could tell. Look at the worker's logs around the dead letter's time before replaying it", queue, times)
}

// lenientFields returns the string values of the wanted top-level fields of a JSON object,
// reading as far as the body is valid: a truncated or otherwise broken body still yields the
// fields before the damage. A field that is absent or not a string is left out.
func lenientFields(body []byte, wanted ...string) map[string]string {
	out := map[string]string{}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return out
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return out
		}
		key, ok := tok.(string)
		if !ok {
			return out
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return out
		}
		for _, w := range wanted {
			if key != w {
				continue
			}
			var s string
			if json.Unmarshal(v, &s) == nil && s != "" {
				if _, dup := out[w]; !dup {
					out[w] = s
				}
			}
		}
	}
	return out
}

// xDeaths reads RabbitMQ's x-death header: an array of tables.
func xDeaths(v any) []amqp.Table {
	arr, ok := v.([]any)
	if !ok {
		return nil
	}
	var out []amqp.Table
	for _, x := range arr {
		if t, ok := x.(amqp.Table); ok {
			out = append(out, t)
		}
	}
	return out
}

func headerString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	}
	return ""
}

// headerTime reads an RFC 3339 string (the worker's) or an AMQP timestamp (the broker's).
func headerTime(v any) time.Time {
	switch x := v.(type) {
	case time.Time:
		return x.UTC()
	case string, []byte:
		t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(headerString(x)))
		if err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
