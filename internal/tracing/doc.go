// Package tracing holds what the worker's spans share: the propagator of the event contract
// (W3C Trace Context in the AMQP headers traceparent and tracestate), the carrier that reads it
// from AMQP headers, the attribute keys of the worker's own span attributes, and a tracer
// provider that traces only inside a trace. Package otlp sets the provider up.
//
// Tracing is off unless an OTLP endpoint is configured; off, the worker still continues a
// producer's trace context into the events it derives, at the cost of one header lookup.
package tracing
