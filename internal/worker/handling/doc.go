// Package handling is the worker's handler contract: the Handler interface a consumer's
// handler implements, the event types it declares, and the marks its errors carry (Permanent,
// Unavailable, Later, ErrSuppressed, ErrDuplicate). The worker (internal/worker) owns it, as
// Watermill's framework owns cqrs.EventHandler; the handlers package implements it. It depends
// on the registry's event and nothing else of the worker's, so a handler compiles without the
// broker and the worker's tests may use real handlers.
package handling
