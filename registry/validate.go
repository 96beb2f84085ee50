package registry

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

var printer = message.NewPrinter(language.English)

// Validate checks a raw message body against the envelope schema, the data schema of its type
// and version, and the rules that span fields: event_type equals the routing key (when routingKey
// is not ""), and a data.tenant_id equals the envelope's tenant_id. A valid body is decoded into
// an *Event with its typed Payload. An invalid one yields a *ValidationError listing every
// failure; it matches ErrInvalid with errors.Is.
func (r *Registry) Validate(routingKey string, body []byte) (*Event, error) {
	verr := &ValidationError{RoutingKey: routingKey}
	if !utf8.Valid(body) {
		verr.Failures = append(verr.Failures, Failure{Message: "body is not valid UTF-8"})
		return nil, verr
	}
	var err error
	inst, parsed := parseValue(body)
	if !parsed {
		if inst, err = jsonschema.UnmarshalJSON(bytes.NewReader(body)); err != nil {
			verr.Failures = append(verr.Failures, Failure{Message: "body is not JSON: " + err.Error()})
			return nil, verr
		}
	}
	obj, _ := inst.(map[string]any)
	verr.EventID, _ = obj["event_id"].(string)
	verr.EventType, _ = obj["event_type"].(string)
	verr.TenantID, _ = obj["tenant_id"].(string)
	verr.CorrelationID, _ = obj["correlation_id"].(string)
	if n, err := jsonInt(obj["event_version"]); err == nil {
		verr.Version = n
	}

	verr.Failures = appendSchemaFailures(verr.Failures, "", r.envelope.Validate(inst))
	if routingKey != "" && verr.EventType != "" && routingKey != verr.EventType {
		verr.Failures = append(verr.Failures, Failure{
			Pointer: "/event_type",
			Message: fmt.Sprintf("event_type %q differs from the routing key %q", verr.EventType, routingKey),
		})
	}

	var version *EventVersion
	if verr.EventType != "" && verr.Version > 0 {
		version, err = r.Lookup(verr.EventType, verr.Version)
		switch {
		case errors.Is(err, ErrUnknownType):
			verr.unknownType = true
			verr.Failures = append(verr.Failures, Failure{Pointer: "/event_type", Message: err.Error()})
		case errors.Is(err, ErrUnknownVersion):
			verr.unknownVersion = true
			verr.Failures = append(verr.Failures, Failure{Pointer: "/event_version", Message: err.Error()})
		}
	}
	if data, ok := obj["data"].(map[string]any); ok {
		if version != nil {
			verr.Failures = appendSchemaFailures(verr.Failures, "/data", version.compiled.Validate(data))
		}
		if tid, ok := data["tenant_id"].(string); ok && strings.HasPrefix(verr.EventType, "tenant.") {
			if env, _ := obj["tenant_id"].(string); tid != env {
				verr.Failures = append(verr.Failures, Failure{
					Pointer: "/data/tenant_id",
					Message: fmt.Sprintf("data.tenant_id %q differs from the envelope's tenant_id %q", tid, env),
				})
			}
		}
	}
	if len(verr.Failures) > 0 {
		return nil, verr
	}

	// The body is parsed already: build the envelope from that parse where it is sure to give
	// what decoding the body again would.
	ev := new(Event)
	if w, version, ok := wireFromObject(obj, body); ok {
		err = ev.fromWire(&w, version)
	} else {
		err = ev.UnmarshalJSON(body)
	}
	if err != nil {
		verr.Failures = append(verr.Failures, Failure{Message: err.Error()})
		return nil, verr
	}
	if dec, ok := decoders[typeVersion{ev.Type, ev.Version}]; ok {
		if ev.Payload, err = dec(ev.Data); err != nil {
			verr.Failures = append(verr.Failures, Failure{Pointer: "/data", Message: err.Error()})
			return nil, verr
		}
	}
	return ev, nil
}

// appendSchemaFailures flattens a jsonschema error tree into failures at its leaves, one per
// missing property for "required".
func appendSchemaFailures(out []Failure, prefix string, err error) []Failure {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		if err != nil {
			out = append(out, Failure{Pointer: prefix, Message: err.Error()})
		}
		return out
	}
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				walk(c)
			}
			return
		}
		ptr := prefix + pointer(e.InstanceLocation)
		if req, ok := e.ErrorKind.(*kind.Required); ok {
			for _, m := range req.Missing {
				out = append(out, Failure{Pointer: ptr + "/" + escapePointer(m), Message: "is required"})
			}
			return
		}
		out = append(out, Failure{Pointer: ptr, Message: e.ErrorKind.LocalizedString(printer)})
	}
	walk(ve)
	return out
}

func pointer(loc []string) string {
	var b strings.Builder
	for _, tok := range loc {
		b.WriteByte('/')
		b.WriteString(escapePointer(tok))
	}
	return b.String()
}

func escapePointer(tok string) string {
	return strings.ReplaceAll(strings.ReplaceAll(tok, "~", "~0"), "/", "~1")
}

// jsonInt reads an integral JSON number (42 or 42.0) as an int.
func jsonInt(v any) (int, error) {
	n, ok := v.(interface{ String() string })
	if !ok {
		return 0, errors.New("not a number")
	}
	f, err := strconv.ParseFloat(n.String(), 64)
	if err != nil || f != float64(int(f)) {
		return 0, errors.New("not an integer")
	}
	return int(f), nil
}
