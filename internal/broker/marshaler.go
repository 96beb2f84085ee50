package broker

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ThreeDotsLabs/watermill/message"
	amqp "github.com/rabbitmq/amqp091-go"
)

// Marshaler turns deliveries into Watermill messages without ever failing on a header: Kombu
// sends ints, bools, nulls and tables, quorum queues add an integer x-delivery-count and
// dead-lettering adds x-death, and Watermill's default marshaler rejects every non-string header
// (and the message is then requeued forever).
type Marshaler struct{}

// Unmarshal copies the body untouched, the properties and retry state into metadata, and the
// application's own headers, whatever their AMQP types, into MetaHeaders as JSON.
func (Marshaler) Unmarshal(d amqp.Delivery) (*message.Message, error) {
	msg := message.NewMessage(d.MessageId, d.Body)
	rk := d.RoutingKey
	if v, ok := d.Headers[HeaderRoutingKey].(string); ok && v != "" {
		rk = v
	}
	md := msg.Metadata
	md.Set(MetaRoutingKey, rk)
	md.Set(MetaMessageID, d.MessageId)
	md.Set(MetaCorrelationID, d.CorrelationId)
	md.Set(MetaRedelivered, strconv.FormatBool(d.Redelivered))
	md.Set(MetaContentType, d.ContentType)
	md.Set(MetaAppID, d.AppId)
	if n, ok := HeaderInt(d.Headers[HeaderAttempts]); ok {
		md.Set(MetaAttempts, strconv.FormatInt(n, 10))
	}
	if v, ok := d.Headers[HeaderFirstFailure].(string); ok {
		md.Set(MetaFirstFailure, v)
	}
	if n, ok := HeaderInt(d.Headers["x-delivery-count"]); ok {
		md.Set(MetaDeliveryCount, strconv.FormatInt(n, 10))
	}
	if n, ok := HeaderInt(d.Headers[HeaderReturns]); ok {
		md.Set(MetaReturns, strconv.FormatInt(n, 10))
	}
	if own, ok := applicationHeadersJSON(d.Headers); ok {
		md.Set(MetaHeaders, own)
	}
	return msg, nil
}

// applicationHeadersJSON is json.Marshal(JSONValue(ApplicationHeaders(h))), false when there
// are no application headers or they do not marshal. It writes the object itself, member by
// member in json.Marshal's order (keys sorted bytewise) and escaping, which spares the two
// intermediate maps and encoding/json's reflection over them.
func applicationHeadersJSON(h amqp.Table) (string, bool) {
	keys := make([]string, 0, len(h))
	for k := range h {
		if isApplicationHeader(k) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return "", false
	}
	slices.Sort(keys)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	buf.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		// Encode ends each value with a newline, which goes.
		if err := enc.Encode(k); err != nil {
			return "", false
		}
		buf.Truncate(buf.Len() - 1)
		buf.WriteByte(':')
		if err := enc.Encode(JSONValue(h[k])); err != nil {
			return "", false
		}
		buf.Truncate(buf.Len() - 1)
	}
	buf.WriteByte('}')
	return buf.String(), true
}

// Marshal makes a persistent JSON publishing of a Watermill message; the worker itself publishes
// through Confirmer, so this serves Watermill's interface and tests.
func (Marshaler) Marshal(msg *message.Message) (amqp.Publishing, error) {
	headers := amqp.Table{}
	for k, v := range msg.Metadata {
		headers[k] = v
	}
	return amqp.Publishing{
		Body: msg.Payload, Headers: headers, MessageId: msg.UUID, DeliveryMode: amqp.Persistent,
		ContentType: "application/json", ContentEncoding: "utf-8",
	}, nil
}

// ApplicationHeaders returns the headers of a delivery that are neither the broker's nor the
// worker's own: what a dead letter or a retry carries over unchanged.
func ApplicationHeaders(h amqp.Table) amqp.Table {
	out := amqp.Table{}
	for k, v := range h {
		if isApplicationHeader(k) {
			out[k] = v
		}
	}
	return out
}

// isApplicationHeader reports whether a header is neither the broker's nor the worker's own.
func isApplicationHeader(k string) bool {
	switch {
	case k == "x-death", k == "x-delivery-count", k == "x-first-death-exchange", k == "x-first-death-queue",
		k == "x-first-death-reason", k == "x-last-death-exchange", k == "x-last-death-queue", k == "x-last-death-reason":
		return false
	case len(k) > 14 && k[:14] == "x-eventworker-":
		return false
	}
	return true
}

// HeadersFromMetadata restores the application headers that Unmarshal kept as JSON.
func HeadersFromMetadata(md message.Metadata) amqp.Table {
	raw := md.Get(MetaHeaders)
	if raw == "" {
		return amqp.Table{}
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return amqp.Table{}
	}
	return tableFromJSON(m)
}

func tableFromJSON(m map[string]any) amqp.Table {
	t := amqp.Table{}
	for k, v := range m {
		t[k] = valueFromJSON(v)
	}
	return t
}

func valueFromJSON(v any) any {
	switch x := v.(type) {
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x)
		}
		return x
	case map[string]any:
		return tableFromJSON(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = valueFromJSON(e)
		}
		return out
	}
	return v
}

// JSONValue converts an AMQP field value into one encoding/json can write: tables become
// objects, times RFC 3339, decimals "<value>e-<scale>", bytes text (or base64 when not UTF-8),
// and NaN or infinite floats null.
func JSONValue(v any) any {
	switch x := v.(type) {
	case amqp.Table:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = JSONValue(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = JSONValue(e)
		}
		return out
	case time.Time:
		return x.UTC().Format(time.RFC3339)
	case amqp.Decimal:
		return fmt.Sprintf("%de-%d", x.Value, x.Scale)
	case []byte:
		if utf8.Valid(x) {
			return string(x)
		}
		return base64.StdEncoding.EncodeToString(x)
	case float32:
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return nil
		}
		return x
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil
		}
		return x
	}
	return v
}

// HeaderInt reads an integer header of any AMQP integer type, or a decimal string.
func HeaderInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int:
		return int64(x), true
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case uint8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case uint32:
		return int64(x), true
	case uint64:
		return int64(x), true
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		return n, err == nil
	}
	return 0, false
}
