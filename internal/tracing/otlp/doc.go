// Package otlp sets up the worker's tracer provider from the standard OTEL_* environment
// variables, exporting spans over OTLP (HTTP with protobuf, or gRPC). It lives apart from
// package tracing so that the worker, which only starts spans, does not compile the exporters.
package otlp
