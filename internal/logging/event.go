package logging

import (
	"context"
	"log/slog"
)

// Event is the event a line is about: its attributes (event_id, event_type, tenant_id,
// consumer, attempt, correlation_id) are read when a line is written, not before, so an event
// that logs nothing costs nothing.
type Event interface {
	LogAttrs() []slog.Attr
}

type eventKey struct{}

// WithEvent returns ctx carrying ev: every line logged with ctx (slog's *Context methods)
// through a Wrap handler names the event. The worker sets it for the handler it calls.
func WithEvent(ctx context.Context, ev Event) context.Context {
	return context.WithValue(ctx, eventKey{}, ev)
}

// EventFrom returns the event ctx carries, if any.
func EventFrom(ctx context.Context) (Event, bool) {
	ev, ok := ctx.Value(eventKey{}).(Event)
	return ev, ok
}

// Wrap returns h adding, to every record logged with a context that carries an event, the
// event's attributes.
func Wrap(h slog.Handler) slog.Handler { return eventHandler{h} }

type eventHandler struct{ slog.Handler }

func (h eventHandler) Handle(ctx context.Context, r slog.Record) error {
	if ev, ok := EventFrom(ctx); ok {
		r = r.Clone()
		r.AddAttrs(ev.LogAttrs()...)
	}
	return h.Handler.Handle(ctx, r)
}

func (h eventHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return eventHandler{h.Handler.WithAttrs(attrs)}
}

func (h eventHandler) WithGroup(name string) slog.Handler {
	return eventHandler{h.Handler.WithGroup(name)}
}
