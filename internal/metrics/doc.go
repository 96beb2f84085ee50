// Package metrics defines the worker's Prometheus metrics, all prefixed eventworker_.
//
// Labels are bounded: event types and versions from the registry, consumer names, and the
// fixed outcome and dead-letter class values of this package. A tenant, an email or an ID
// never becomes a label, since every distinct value is a new series kept for ever.
//
// Metrics are built from an injected prometheus.Registerer, so tests use their own registry
// and the daemon one from NewRegistry, which adds the Go runtime and process collectors.
package metrics
