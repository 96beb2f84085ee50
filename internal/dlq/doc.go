// Package dlq inspects and repairs the consumers' dead-letter queues (<prefix>.<consumer>.dlq):
// it lists and shows dead letters without removing them, replays them to their consumer's work
// queue and purges them.
//
// Reading is non-destructive: on a dedicated channel the tool takes the queue's current message
// count, fetches exactly that many messages with basic.get and keeps every one unacknowledged
// (so each get returns the next message and nothing is seen twice), then returns the ones it
// does not move with basic.nack(requeue) and closes the channel. A replay publishes the dead
// letter with publisher confirms to the work queue and acknowledges (removes) it only after the
// broker confirmed the copy: an interruption can duplicate an event, which the worker dedupes by
// event_id, but never lose one.
//
// Two kinds of dead letter are understood: the worker's, with x-eventworker-* headers that give
// the reason, error class, original routing key and failure history; and the broker's (a quorum
// work queue's x-delivery-limit reached), which carry only RabbitMQ's x-death header.
package dlq
