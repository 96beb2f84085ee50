package publisher

import "context"

type ctxKey int

const (
	correlationKey ctxKey = iota
	causationKey
)

// WithCorrelationID returns a context whose events carry correlation_id id, unless the event
// sets its own. A request handler sets it once and every event of the flow shares it.
func WithCorrelationID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, correlationKey, id)
}

// CorrelationIDFrom returns the correlation id set with WithCorrelationID, or "".
func CorrelationIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(correlationKey).(string)
	return id
}

// WithCausationID returns a context whose events carry causation_id id (the event_id of the
// event that caused them), unless the event sets its own.
func WithCausationID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, causationKey, id)
}

// CausationIDFrom returns the causation id set with WithCausationID, or "".
func CausationIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(causationKey).(string)
	return id
}
