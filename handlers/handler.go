package handlers

import (
	"context"
	"errors"
	"fmt"

	"github.com/eventworker/eventworker/cache"
	"github.com/eventworker/eventworker/registry"
)

// Handler turns validated events into effects for one consumer of the registry.
//
// Handle is called at least once per event; the worker skips events it has already seen done,
// but a crash between the effect and the record can repeat one, so effects should be idempotent.
// An error is transient (retried with backoff, then dead-lettered) unless wrapped with Permanent
// (dead-lettered at once) or Unavailable (retried until the service is back, never
// dead-lettered for it); an error wrapping ErrSuppressed acknowledges the event as deliberately not acted on.
type Handler interface {
	// Consumer is the consumer name in registry.yaml whose queue this handler drains.
	Consumer() string
	// Handle applies the event's effect. ctx carries the per-consumer timeout.
	Handle(ctx context.Context, ev *registry.Event) error
}

// ErrDuplicate marks an event whose effect had been applied before: the handler's own record
// of the event was found, so nothing changed. It is acknowledged and counted as a duplicate.
var ErrDuplicate = errors.New("already handled")

// InEffectRecorder is implemented by a handler whose effects all live in Redis and record their
// event atomically with themselves: each effect's Lua script looks for the event's idempotency
// record, does nothing when it is there (the handler then returns ErrDuplicate), and writes it
// together with the effect. For such a handler the worker takes no processing lease and writes
// no done marker: one round trip per effect, and the effect happens exactly once per event.
// Handlers with effects outside Redis (an email) do not implement it, or return false, and the
// worker wraps each call in a renewed lease and a done marker.
type InEffectRecorder interface {
	RecordsInEffect() bool
}

// RecordsInEffect reports whether h records its events in its effects (see InEffectRecorder).
func RecordsInEffect(h Handler) bool {
	r, ok := h.(InEffectRecorder)
	return ok && r.RecordsInEffect()
}

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
// long as that lasts, without spending one of its retries, so an outage delays events but never
// dead-letters them. Mark only what is never the event's fault.
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

// Func adapts a function to a Handler, for tests and small consumers.
type Func struct {
	Name string
	Fn   func(ctx context.Context, ev *registry.Event) error
	// InEffect says that Fn records its events in its effects (see InEffectRecorder).
	InEffect bool
}

// Consumer implements Handler.
func (f Func) Consumer() string { return f.Name }

// RecordsInEffect implements InEffectRecorder.
func (f Func) RecordsInEffect() bool { return f.InEffect }

// Handle implements Handler.
func (f Func) Handle(ctx context.Context, ev *registry.Event) error { return f.Fn(ctx, ev) }

// storeError wraps an error of the Redis store an effect lives in: Unavailable when Redis could
// not be reached or cannot serve now (see cache.IsUnavailable), so an outage delays events and
// never spends their attempts; a plain transient error otherwise.
func storeError(ev *registry.Event, err error) error {
	err = fmt.Errorf("%s: %w", ev.Type, err)
	if cache.IsUnavailable(err) {
		return Unavailable(err)
	}
	return err
}

// sameTenant refuses an event whose data names another tenant than its envelope: one tenant's
// event must not change another's state. The registry refuses such events already; handlers
// that act on data.tenant_id check again, so no path around validation can do it.
func sameTenant(ev *registry.Event, dataTenant string) error {
	if dataTenant != ev.TenantID {
		return Permanent(fmt.Errorf("%s: data.tenant_id %q differs from the envelope's tenant_id %q", ev.Type, dataTenant, ev.TenantID))
	}
	return nil
}
