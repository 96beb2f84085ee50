package registry

import (
	"bytes"
	"encoding/json"
	"strings"
)

// envelopeFields are the JSON names of the envelope's fields, as Event.UnmarshalJSON reads them.
var envelopeFields = [...]string{
	"event_id", "event_type", "event_version", "occurred_at", "tenant_id",
	"correlation_id", "causation_id", "producer", "data",
}

// wireFromObject fills the envelope of a body from obj, the body as Validate already parsed it,
// so that a valid body is not parsed a second time: the result is what Event.UnmarshalJSON
// decodes, with version its event_version. It reports false whenever it cannot be sure of that
// and the caller must decode the body: when a key matches an envelope field only as
// encoding/json matches names, case-insensitively ("Event_ID"), or when a field is not of the
// JSON type the schema gives it.
func wireFromObject(obj map[string]any, body []byte) (w wireEnvelope, version json.Number, ok bool) {
	for k := range obj {
		for _, f := range envelopeFields {
			if k != f && strings.EqualFold(k, f) {
				return w, "", false
			}
		}
	}
	str := func(name string, dst *string) bool {
		v, present := obj[name]
		if !present {
			return true
		}
		s, isString := v.(string)
		*dst = s
		return isString
	}
	if !str("event_id", &w.EventID) || !str("event_type", &w.EventType) || !str("occurred_at", &w.OccurredAt) ||
		!str("tenant_id", &w.TenantID) || !str("correlation_id", &w.CorrelationID) ||
		!str("causation_id", &w.CausationID) || !str("producer", &w.Producer) {
		return w, "", false
	}
	if version, ok = obj["event_version"].(json.Number); !ok {
		return w, "", false
	}
	if _, isObject := obj["data"].(map[string]any); !isObject {
		return w, "", false
	}
	raw, found := rawMember(body, "data")
	if !found {
		return w, "", false
	}
	// A copy, as encoding/json makes one: the event must not share the message's buffer.
	w.Data = json.RawMessage(bytes.Clone(raw))
	return w, version, true
}

// rawMember returns the bytes of the value of the last member called name of the JSON object
// in b, the member encoding/json decodes into a json.RawMessage field of that name (which is
// the last one when a key repeats). b must be valid JSON; false means b is not an object or
// has no such member.
func rawMember(b []byte, name string) ([]byte, bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil, false
	}
	i++
	var raw []byte
	found := false
	for {
		i = skipSpace(b, i)
		if i >= len(b) {
			return nil, false
		}
		switch b[i] {
		case '}':
			return raw, found
		case ',':
			i = skipSpace(b, i+1)
		}
		if i >= len(b) || b[i] != '"' {
			return nil, false
		}
		end := skipString(b, i)
		if end < 0 {
			return nil, false
		}
		key := b[i:end]
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return nil, false
		}
		i = skipSpace(b, i+1)
		vend := skipValue(b, i)
		if vend < 0 {
			return nil, false
		}
		if keyIs(key, name) {
			raw, found = b[i:vend], true
		}
		i = vend
	}
}

// keyIs reports whether the JSON string quoted (with its quotes) is name once unescaped.
func keyIs(quoted []byte, name string) bool {
	if bytes.IndexByte(quoted, '\\') < 0 {
		return string(quoted[1:len(quoted)-1]) == name
	}
	var s string
	return json.Unmarshal(quoted, &s) == nil && s == name
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the JSON string that starts at b[i], a '"', or -1.
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++ // the escaped character; \uXXXX goes on with hex digits
		case '"':
			return i + 1
		}
	}
	return -1
}

// skipValue returns the index after the JSON value that starts at b[i], or -1.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				if i = skipString(b, i); i < 0 {
					return -1
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return -1
	default: // a number, true, false or null
		for ; i < len(b); i++ {
			switch b[i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return i
			}
		}
		return -1
	}
}
