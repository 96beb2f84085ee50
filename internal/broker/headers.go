package broker

// Headers the worker sets. Retry state travels in the message, so it survives restarts and is
// shared by every replica.
const (
	// HeaderRoutingKey keeps the original routing key (the event type) once a message has passed
	// through a retry queue or the dead-letter queue, where the routing key is a queue name.
	HeaderRoutingKey = "x-eventworker-routing-key"
	// HeaderAttempts counts the failed attempts so far.
	HeaderAttempts = "x-eventworker-attempts"
	// HeaderFirstFailure and HeaderLastFailure are RFC 3339 times.
	HeaderFirstFailure = "x-eventworker-first-failure"
	HeaderLastFailure  = "x-eventworker-last-failure"
	// HeaderReason says why a message was dead-lettered.
	HeaderReason = "x-eventworker-reason"
	// HeaderErrorClass is ClassPermanent or ClassExhausted.
	HeaderErrorClass = "x-eventworker-error-class"
	// HeaderConsumer names the consumer that dead-lettered the message.
	HeaderConsumer = "x-eventworker-consumer"
	// HeaderReplayed counts how often `eventworker dlq replay` sent the message back.
	HeaderReplayed = "x-eventworker-replayed"
	// HeaderHost names the host (the pod) whose worker dead-lettered the message.
	HeaderHost = "x-eventworker-host"
	// HeaderErrors lists the chain of errors of the last failure, outermost first: the
	// error, then each error it wraps.
	HeaderErrors = "x-eventworker-errors"
	// HeaderStack is the stack trace of a handler that panicked.
	HeaderStack = "x-eventworker-stack"
	// HeaderReturns counts the deliveries of earlier copies that came back to the queue
	// without an acknowledgement (prefetched by a worker that stopped or died). The worker
	// publishes a message the broker would dead-letter at its next return anew, with a fresh
	// delivery count, unless its handler is what kills the worker (see ClassDeliveryLimit).
	HeaderReturns = "x-eventworker-returns"
	// HeaderFirstAttemptSpan is the span of the event's first failed attempt, as a W3C
	// traceparent: a replay of its dead letter starts a trace of its own, linked to it.
	HeaderFirstAttemptSpan = "x-eventworker-first-attempt-span"
)

// Error classes of a dead letter.
const (
	// ClassPermanent: invalid input or an error that retrying cannot fix; never retried.
	ClassPermanent = "permanent"
	// ClassExhausted: a transient error that outlasted every retry.
	ClassExhausted = "exhausted"
	// ClassDeliveryLimit: the message's handler started more than the delivery limit times and
	// never finished, the process running it dying each time (killed, out of memory, a fatal
	// runtime error); the worker dead-lettered it so it stops killing workers. RabbitMQ's own
	// dead letters after a quorum queue's x-delivery-limit get this class too.
	ClassDeliveryLimit = "delivery_limit"
	// ClassBroker: RabbitMQ dead-lettered the message for another reason (its x-death says
	// which: expired, maxlen, rejected).
	ClassBroker = "broker"
)

// Metadata keys of the Watermill messages the marshaler produces.
const (
	MetaRoutingKey    = "routing_key"
	MetaMessageID     = "message_id"
	MetaCorrelationID = "correlation_id"
	MetaRedelivered   = "redelivered"
	MetaAttempts      = "attempts"
	MetaFirstFailure  = "first_failure"
	MetaDeliveryCount = "delivery_count"
	MetaReturns       = "returns"
	MetaContentType   = "content_type"
	MetaHeaders       = "amqp_headers"
	MetaAppID         = "app_id"
)
