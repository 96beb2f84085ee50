// Package worker runs the registry-driven consumer: one queue per consumer of registry.yaml,
// drained by a Watermill router, every message through one pipeline (decode and validate →
// processing lease → handler under a timeout → settle), transient failures retried in the
// process and then through TTL retry queues, permanent ones dead-lettered with their reason, a
// consumer paused while a service it needs is down, a poison guard, and a graceful shutdown
// that stops consuming and lets the delivered messages finish and be acknowledged.
//
// The worker owns what it needs of others and nothing more: the handler contract
// (internal/worker/handling, which the handlers implement), the store of handled events
// (internal/worker/dedupe, which internal/idempotency implements), its own Config, and the
// Transport that carries the messages: RabbitMQ by default, or internal/localtransport's, in
// one process, for `eventworker demo` and tests. internal/app builds it for every command.
package worker
