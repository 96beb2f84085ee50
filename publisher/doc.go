// Package publisher is how Go producers put events on the shop's event bus.
//
// A Publisher fills the envelope of an event (a UUID v4 event_id, occurred_at now in RFC 3339
// UTC, the latest version the registry defines, the producer's name, and correlation and
// causation ids from the event or from the context), validates the body with the registry before
// anything leaves the process, and sends it.
//
// Over AMQP (New) it talks to RabbitMQ directly with amqp091-go: it declares the topic exchange
// with exactly the flags of Kombu's Exchange("events", type="topic"), publishes each event
// persistent and mandatory with the event type as routing key, and waits for the broker's
// publisher confirm, so that a nil error means the broker has the message and routed it to at
// least one queue. An unroutable event (no queue bound for its type) is an ErrUnroutable error,
// never a silent loss. A pool of confirm-mode channels serves concurrent callers; a connection
// that the broker closed or that dropped is dialled again on the next Publish, and a publish that
// the dropped connection took with it is sent once more on the new one (consumers deduplicate by
// event_id).
//
// Config.URL may list several nodes of one cluster, comma-separated (package amqpnodes): the
// publisher connects to the first that answers, and when its connection dies it dials the next
// node, round robin, so a publish after a node's death goes to another node. A publish that the
// dead node took with it is sent once more there: consumers see it twice and deduplicate it.
//
// Elsewhere (NewWithSender) it hands the same validated body to a Sender: package watermillbus
// has one for any Watermill message.Publisher, such as gochannel's, for in-process use. It lives
// in its own package, so producers on RabbitMQ compile neither Watermill nor it.
//
// The typed helpers (OrderCreated, ProductCreated, ...) publish one event of each type of the
// contract from its registry payload.
//
// Envelope and PublishBody are Publish in two steps, for events stored before they are sent:
// Envelope builds and validates without sending, PublishBody sends a stored body (validated
// again) with Publish's properties and headers. Package publisher/outbox, a transactional outbox
// on PostgreSQL, is built on them; this package imports neither it nor a database driver.
//
// Tracing: every Publish is a "send <exchange>" span (kind producer) of Config.TracerProvider,
// by default the provider of the span in the caller's context, a child of that span; the
// message carries its W3C Trace Context in the traceparent and tracestate headers, as the
// contract says, so that consumers continue the caller's trace. Without a provider the caller's
// own span context travels.
package publisher
