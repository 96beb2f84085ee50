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
)

// Error classes of a dead letter.
const (
	// ClassPermanent: invalid input or an error that retrying cannot fix; never retried.
	ClassPermanent = "permanent"
	// ClassExhausted: a transient error that outlasted every retry.
	ClassExhausted = "exhausted"
	// ClassDeliveryLimit: RabbitMQ dead-lettered the message itself, after the quorum queue's
	// x-delivery-limit deliveries without an acknowledgement (the worker died or was stopped
	// while it held it that many times: a message that crashes or hangs the worker).
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
	MetaContentType   = "content_type"
	MetaHeaders       = "amqp_headers"
	MetaAppID         = "app_id"
)
