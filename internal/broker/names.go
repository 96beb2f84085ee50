package broker

import "time"

// Names derives the queue names of one consumer from the queue prefix.
type Names struct {
	Prefix   string
	Consumer string
}

// Work is the consumer's work queue, bound to the events exchange: <prefix>.<consumer>.
func (n Names) Work() string { return n.Prefix + "." + n.Consumer }

// Retry is the TTL queue that holds a message for delay before it dead-letters back to the work
// queue. The delay is part of the name, so that changing the configured delays declares new
// queues instead of failing on the old ones' arguments.
func (n Names) Retry(delay time.Duration) string { return n.Work() + ".retry." + delay.String() }

// DeadLetter is the consumer's dead-letter queue: <prefix>.<consumer>.dlq.
func (n Names) DeadLetter() string { return n.Work() + ".dlq" }

// UnroutableExchange is the alternate exchange of the events exchange: a RabbitMQ policy
// (deploy/rabbitmq) points the events exchange at it, and RabbitMQ then sends it every event
// that no queue is bound for, instead of dropping it.
func UnroutableExchange(exchange string) string { return exchange + ".unroutable" }

// UnroutableQueue is the queue, bound to UnroutableExchange, where the worker with this queue
// prefix keeps the events that no queue was bound for: <prefix>.unroutable. The dlq tool reads
// it as the consumer "unroutable".
func UnroutableQueue(prefix string) string { return prefix + ".unroutable" }

// Queues is every queue of the consumer with these retry delays: work, dead-letter, retries.
func (n Names) Queues(retryDelays []time.Duration) []string {
	qs := []string{n.Work(), n.DeadLetter()}
	for _, d := range retryDelays {
		qs = append(qs, n.Retry(d))
	}
	return qs
}
