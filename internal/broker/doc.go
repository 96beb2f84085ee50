// Package broker is the worker's side of RabbitMQ: the Subscriber that feeds a Watermill router
// (batched acknowledgements, a graceful stop that finishes what was delivered), the queue names
// and topology derived from the registry, the Watermill marshaler that accepts any AMQP header
// type, the headers that carry retry state and dead-letter reasons, and a confirming publisher for
// retries, dead letters and replays.
package broker
