// Package worker runs the registry-driven consumer: one queue per consumer of registry.yaml,
// drained by a Watermill router over broker.Subscriber, every message through one pipeline
// (validate → idempotency → handler under a timeout → ack), transient failures retried in the
// process and then through TTL retry queues, permanent ones dead-lettered with their reason, and
// a graceful shutdown that stops consuming and lets the delivered messages finish and be
// acknowledged.
//
// NewLocal runs the same pipeline over a LocalTransport instead of RabbitMQ: a Watermill
// GoChannel and in-memory work, retry and dead-letter queues, for `eventworker demo` and tests
// that need no broker.
package worker
