package backlog

import (
	"time"

	"github.com/eventworker/eventworker/internal/broker"
)

// Kinds of queue: the kind label of the queue gauges.
const (
	// KindWork is a consumer's work queue, bound to the events exchange.
	KindWork = "work"
	// KindRetry is one of a consumer's TTL retry queues, one per durable retry delay.
	KindRetry = "retry"
	// KindDeadLetter is a consumer's dead-letter queue.
	KindDeadLetter = "dead_letter"
	// KindUnroutable is the queue of the events no queue was bound for, shared by every
	// consumer (consumer label "unroutable", as the dlq command names it).
	KindUnroutable = "unroutable"
)

// UnroutableConsumer is the consumer label of the queue of unroutable events.
const UnroutableConsumer = "unroutable"

// AllKinds returns every kind label value, in a fixed order.
func AllKinds() []string { return []string{KindWork, KindRetry, KindDeadLetter, KindUnroutable} }

// Queue is one queue to watch and the labels of its series.
type Queue struct {
	Name     string
	Consumer string
	Kind     string
}

// QueuesOf lists every queue the worker declares for these consumers: per consumer its work
// queue, its retry queue of each distinct delay and its dead-letter queue, then the queue of unroutable
// events. The names are broker.Names's, so they are the ones the worker declares.
func QueuesOf(prefix string, consumers []string, retryDelays []time.Duration) []Queue {
	var qs []Queue
	for _, c := range consumers {
		n := broker.Names{Prefix: prefix, Consumer: c}
		qs = append(qs, Queue{Name: n.Work(), Consumer: c, Kind: KindWork})
		// Repeated delays (1m,1m,10m) share their retry queue.
		seen := map[time.Duration]bool{}
		for _, d := range retryDelays {
			if !seen[d] {
				seen[d] = true
				qs = append(qs, Queue{Name: n.Retry(d), Consumer: c, Kind: KindRetry})
			}
		}
		qs = append(qs, Queue{Name: n.DeadLetter(), Consumer: c, Kind: KindDeadLetter})
	}
	return append(qs, Queue{Name: broker.UnroutableQueue(prefix), Consumer: UnroutableConsumer, Kind: KindUnroutable})
}
