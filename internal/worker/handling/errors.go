package handling

import "errors"

// ErrMismatch: the registry's consumers and event types and the handlers do not agree (Check).
var ErrMismatch = errors.New("registry and handlers do not match")

// ErrDuplicate marks an event whose effect had been applied before: the handler's own record
// of the event was found, so nothing changed. It is acknowledged and counted as a duplicate.
var ErrDuplicate = errors.New("already handled")

// ErrSuppressed marks an event that was deliberately not acted on (an email to a suspended
// tenant's customer, say): it is acknowledged and counted, never retried.
var ErrSuppressed = errors.New("suppressed")

// permanentError marks an error that retrying cannot fix.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent marks err as permanent: the event is dead-lettered at once, without retries.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// IsPermanent reports whether err, or an error it wraps, was marked with Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

// unavailableError marks an error of a service the handler depends on being unreachable.
type unavailableError struct{ err error }

func (e unavailableError) Error() string { return e.err.Error() }
func (e unavailableError) Unwrap() error { return e.err }

// Unavailable marks err as a service the handler needs being unreachable (the mail server
// down), whatever the event: the worker retries the event with its first retry delay for as
// long as that lasts, without spending one of its retries, and pauses the consumer after a few
// in a row, so an outage delays events but never dead-letters them. Mark only what is never
// the event's fault.
func Unavailable(err error) error {
	if err == nil {
		return nil
	}
	return unavailableError{err}
}

// IsUnavailable reports whether err, or an error it wraps, was marked with Unavailable.
func IsUnavailable(err error) bool {
	var u unavailableError
	return errors.As(err, &u)
}

// laterError marks an event that another delivery of it is handling right now.
type laterError struct{ err error }

func (e laterError) Error() string { return e.err.Error() }
func (e laterError) Unwrap() error { return e.err }

// Later marks err as "another delivery of this event is handling it right now": the worker
// retries the event after its first retry delay, without spending one of its retries and
// without quick retries in the process, as it does for an event whose processing lease is held
// elsewhere.
func Later(err error) error {
	if err == nil {
		return nil
	}
	return laterError{err}
}

// IsLater reports whether err, or an error it wraps, was marked with Later.
func IsLater(err error) bool {
	var l laterError
	return errors.As(err, &l)
}
