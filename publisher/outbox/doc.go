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
// Order and exclusivity: each tenant's events are sent in the order their transactions
// committed. Enqueue takes a lock of the tenant (pg_advisory_xact_lock) that its transaction
// holds to its end, so a tenant's producing transactions take their turns from their first
// Enqueue to their commit and a row's id is drawn after every earlier one of its tenant
// committed; the relay sends each tenant's committed rows in id order. The price is that one
// tenant's producing transactions wait for each other from their Enqueue on; rows written by
// other means than Enqueue have no such order.
// Each batch is one transaction that first takes pg_try_advisory_xact_lock(class,
// hashtext(tenant_id)) for up to Config.Tenants tenants no other relay holds, then reads their
// rows in a second statement (whose snapshot sees the sent_at of the relay that held a lock
// just before), sends them, sets sent_at and commits, which releases the locks. Tenant locks
// were chosen over SELECT ... FOR UPDATE SKIP LOCKED on rows because skipping locked rows lets a
// second relay take a tenant's later rows while the first still sends its earlier ones, breaking
// the order per tenant; with tenant locks the relays share the tenants instead. Two tenants
// whose names hash alike are merely served by one relay at a time.
//
// A relay wakes on LISTEN eventworker_outbox (the table's trigger notifies on commit) and polls
// every Config.PollInterval as well; after a failure it backs off exponentially up to
// Config.MaxBackoff, leaving the rows in the table: the whole relay when the database or the
// broker cannot be reached, only the tenant when one of its events fails (an unroutable one:
// its later events wait behind it, in order, while the other tenants go on). Sent rows are deleted after
// Config.Retention. A producing transaction left open holds back its tenant's later
// transactions, which wait for its lock.
//
// Watermill's watermill-sql Forwarder was considered and not used: it forwards Watermill
// messages to a Watermill publisher, so the AMQP properties of the event contract (message_id,
// app_id, correlation_id, content type, persistent delivery), the mandatory flag with
// ErrUnroutable and the envelope validation would all have to be rebuilt around it, and its
// table layout is Watermill's, not one a producer's migration tool can own. Its rule for the
// order, taking only rows of transactions older than every running one, was tried first and
// let a tenant's later event overtake an earlier one when their transactions overlapped with a
// third; the tenant lock replaced it.
package outbox
