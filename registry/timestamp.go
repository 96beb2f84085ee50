package registry

import (
	"encoding/json"
	"fmt"
	"time"
)

// naiveLayout is what Python's datetime.isoformat() prints for a naive time, with or without
// microseconds; the contract says such a time is UTC.
const naiveLayout = "2006-01-02T15:04:05.999999999"

// ParseTime parses an RFC 3339 date-time with an offset, or a naive ISO 8601 date-time as Python
// producers send it (taken as UTC). The result is in UTC.
func ParseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.ParseInLocation(naiveLayout, s, time.UTC); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 date-time nor a naive ISO 8601 date-time", s)
}

// FormatTime renders t as RFC 3339 in UTC with as many fraction digits as it needs, the form the
// publisher sends.
func FormatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// Timestamp is a date-time field of a payload: it reads what ParseTime reads and writes RFC 3339
// UTC.
type Timestamp struct{ time.Time }

// UnmarshalJSON parses a JSON string with ParseTime.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("timestamp: %w", err)
	}
	v, err := ParseTime(s)
	if err != nil {
		return err
	}
	t.Time = v
	return nil
}

// MarshalJSON writes RFC 3339 in UTC.
func (t Timestamp) MarshalJSON() ([]byte, error) { return json.Marshal(FormatTime(t.Time)) }
