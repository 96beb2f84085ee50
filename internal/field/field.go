// Package field carries configuration problems that name the field at fault, so that a
// component can validate its own configuration in its own terms (Go field names, as Watermill's
// RouterConfig does) and the application can report them in its users' terms (the environment
// variables that set those fields).
package field

import (
	"errors"
	"fmt"
	"regexp"
)

// Error is a problem of one configuration field. Msg may name other fields as {Name}.
type Error struct {
	Field string
	Msg   string
}

// Errorf returns an *Error of field with the formatted message.
func Errorf(field, format string, args ...any) error {
	return &Error{Field: field, Msg: fmt.Sprintf(format, args...)}
}

var ref = regexp.MustCompile(`\{([A-Za-z][A-Za-z0-9]*)\}`)

// Error implements error, with the fields named as they are in Go.
func (e *Error) Error() string { return e.Field + ": " + ref.ReplaceAllString(e.Msg, "$1") }

// Rename returns err with every *Error in it (through errors.Join and %w) reported under
// names: its field, and the fields its message names, replaced by names[field] where present.
// Other errors are kept as they are.
func Rename(err error, names map[string]string) error {
	if err == nil {
		return nil
	}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range joined.Unwrap() {
			out = append(out, Rename(e, names))
		}
		return errors.Join(out...)
	}
	var fe *Error
	if !errors.As(err, &fe) {
		return err
	}
	name := func(f string) string {
		if n, ok := names[f]; ok {
			return n
		}
		return f
	}
	msg := ref.ReplaceAllStringFunc(fe.Msg, func(m string) string { return name(m[1 : len(m)-1]) })
	return errors.New(name(fe.Field) + ": " + msg)
}
