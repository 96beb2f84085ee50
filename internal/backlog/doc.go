// Package backlog reads, from RabbitMQ, the depth and consumer count of every queue the worker
// declares (work, retry and dead-letter queues, and the queue of unroutable events) and exports
// them as gauges, so that a backlog that grows while nothing is handled raises an alarm.
//
// It reads with passive queue declarations on a connection of its own: a passive declare
// returns a queue's ready messages and consumers and changes nothing, so no message is
// consumed, requeued or counted as delivered. A queue that does not exist is reported missing
// (its series disappear) instead of being declared; a broker that cannot be reached removes
// every series, counts a poll error and is tried again at the next interval.
//
// RabbitMQ's AMQP interface does not tell the age of a queue's oldest message, so this package
// exports none; the worker exports the age of the oldest delivery it holds
// (eventworker_oldest_in_flight_seconds, internal/metrics).
package backlog
