package tracing

import (
	"context"

	amqp "github.com/rabbitmq/amqp091-go"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Propagator reads and writes the trace context as the event contract says: W3C Trace Context,
// the headers traceparent and tracestate.
var Propagator propagation.TextMapPropagator = propagation.TraceContext{}

// HeaderTraceparent is the header that carries a message's trace context.
const HeaderTraceparent = "traceparent"

// Headers is a propagation carrier over AMQP headers. A header that is not a string (a
// producer's mistake) reads as absent.
type Headers amqp.Table

// Get returns the string value of key, or "".
func (h Headers) Get(key string) string {
	s, _ := h[key].(string)
	return s
}

// Set stores value under key as a string, which Kombu and every AMQP client read as text.
func (h Headers) Set(key, value string) { h[key] = value }

// Keys lists the header names.
func (h Headers) Keys() []string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	return keys
}

// Extract returns the span context a message's headers carry, invalid when they carry none or
// a malformed one (which the contract says to ignore).
func Extract(carrier propagation.TextMapCarrier) trace.SpanContext {
	if carrier.Get(HeaderTraceparent) == "" {
		// The common case without tracing costs one lookup.
		return trace.SpanContext{}
	}
	return trace.SpanContextFromContext(Propagator.Extract(context.Background(), carrier))
}

// Inject writes the trace context of ctx's span into carrier; a context without a valid span
// writes nothing.
func Inject(ctx context.Context, carrier propagation.TextMapCarrier) {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return
	}
	Propagator.Inject(ctx, carrier)
}

// Traceparent formats sc as a traceparent value, "" for an invalid one.
func Traceparent(sc trace.SpanContext) string {
	if !sc.IsValid() {
		return ""
	}
	c := propagation.MapCarrier{}
	Propagator.Inject(trace.ContextWithSpanContext(context.Background(), sc), c)
	return c[HeaderTraceparent]
}

// ParseTraceparent reads a traceparent value; an invalid span context when it is malformed.
func ParseTraceparent(v string) trace.SpanContext {
	if v == "" {
		return trace.SpanContext{}
	}
	return Extract(propagation.MapCarrier{HeaderTraceparent: v})
}
