package registry

import (
	"errors"
	"strings"
)

// Sentinel errors. A *ValidationError matches ErrInvalid with errors.Is, and also ErrUnknownType or
// ErrUnknownVersion when the event's type or version is not in the registry.
var (
	// ErrInvalid marks a message that does not satisfy the contract.
	ErrInvalid = errors.New("invalid event")
	// ErrUnknownType marks an event type that the registry does not define.
	ErrUnknownType = errors.New("unknown event type")
	// ErrUnknownVersion marks a version that the registry does not define for a known type.
	ErrUnknownVersion = errors.New("unknown event version")
	// ErrUnknownConsumer marks a consumer name that the registry does not define.
	ErrUnknownConsumer = errors.New("unknown consumer")
)

// Failure is one reason why a message is invalid.
type Failure struct {
	// Pointer is the JSON pointer (RFC 6901) of the value at fault within the message body;
	// "" means the body as a whole.
	Pointer string `json:"pointer"`
	// Message says what is wrong with that value.
	Message string `json:"message"`
}

// String renders the failure as "pointer: message".
func (f Failure) String() string {
	p := f.Pointer
	if p == "" {
		p = "(body)"
	}
	return p + ": " + f.Message
}

// ValidationError lists every failure found in one message.
type ValidationError struct {
	// EventID, EventType, Version, TenantID and CorrelationID are what the body claimed, as
	// far as it could be read: for logs and dead letters, never to be trusted.
	EventID       string
	EventType     string
	Version       int
	TenantID      string
	CorrelationID string
	// RoutingKey is the routing key the message arrived with ("" when not known).
	RoutingKey string
	// Failures holds every failure found, in body order where the validator gives one.
	Failures []Failure

	unknownType    bool
	unknownVersion bool
}

// Error lists the failures on one line.
func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("invalid event")
	if e.EventType != "" {
		b.WriteString(" " + e.EventType)
		if e.Version > 0 {
			b.WriteString(" v" + itoa(e.Version))
		}
	}
	if e.EventID != "" {
		b.WriteString(" (event_id " + e.EventID + ")")
	}
	b.WriteString(": ")
	b.WriteString(e.Reason())
	return b.String()
}

// Reason joins the failures with "; ", for a dead letter's reason header or a log line.
func (e *ValidationError) Reason() string {
	parts := make([]string, len(e.Failures))
	for i, f := range e.Failures {
		parts[i] = f.String()
	}
	return strings.Join(parts, "; ")
}

// Unwrap lets errors.Is match ErrInvalid and, where they apply, ErrUnknownType and
// ErrUnknownVersion.
func (e *ValidationError) Unwrap() []error {
	errs := []error{ErrInvalid}
	if e.unknownType {
		errs = append(errs, ErrUnknownType)
	}
	if e.unknownVersion {
		errs = append(errs, ErrUnknownVersion)
	}
	return errs
}

// HasPointer reports whether some failure is at pointer p or below it.
func (e *ValidationError) HasPointer(p string) bool {
	for _, f := range e.Failures {
		if f.Pointer == p || strings.HasPrefix(f.Pointer, p+"/") {
			return true
		}
	}
	return false
}
