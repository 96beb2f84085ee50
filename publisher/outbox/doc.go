// Package outbox is a transactional outbox on PostgreSQL for Go producers: an event is written
// to the table eventworker_outbox in the producer's own transaction, so it exists exactly when
// the business data it describes was committed, and a Relay sends the committed rows to
// RabbitMQ with publisher confirms and marks them sent.
//
// Enqueue builds and validates the envelope exactly as publisher.Publish does (the same event_id,
// occurred_at, producer, correlation and causation ids, and the registry's validation), stores the
// exact body and the caller's trace context, and works in a *sql.Tx (SQL) or a pgx.Tx (Pgx).
// The schema ships in Migrations (migrations/001_outbox.sql) for the producer's migration tool;
// Migrate runs it for producers without one.
//
// The Relay sends through publisher's AMQP path (publisher.PublishBody): the same exchange
// declaration, persistent mandatory messages with message_id = event_id, traceparent and
// tracestate headers, and a publisher confirm per event, an unroutable event being an error.
// Delivery is at least once: a relay that dies after the confirm and before its commit sends
// those events again under the same event_id, and consumers deduplicate them.
//
// Watermill's watermill-sql Forwarder was considered and not used: it forwards Watermill
// messages to a Watermill publisher, so the AMQP properties of the event contract (message_id,
// app_id, correlation_id, content type, persistent delivery), the mandatory flag with
// ErrUnroutable and the envelope validation would all have to be rebuilt around it, and its
// table layout is Watermill's, not one a producer's migration tool can own. What it does well,
// taking only rows of transactions older than every running one, this package does the same
// way.
package outbox
