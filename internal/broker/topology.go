package broker

import (
	"fmt"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Topology declares what one consumer needs: the events exchange exactly as Kombu declares it,
// the work queue bound with every routing key the registry maps to the consumer, one TTL retry
// queue per delay, and the dead-letter queue; and what every consumer shares, the alternate
// exchange and queue of the events no queue is bound for (UnroutableExchange, UnroutableQueue). The Subscriber runs Declare on every channel it
// consumes on, after each reconnect too; every declaration is idempotent.
type Topology struct {
	Exchange      string
	Prefix        string
	QueueType     string // "quorum" or "classic"
	DeliveryLimit int
	RetryDelays   []time.Duration
	// Bindings maps each consumer to the routing keys (event types) its queue is bound with.
	Bindings map[string][]string
}

// Declare declares the consumer's exchange, queues and bindings on ch.
func (t *Topology) Declare(ch *amqp.Channel, consumer string) error {
	keys, ok := t.Bindings[consumer]
	if !ok {
		return fmt.Errorf("topology: no bindings for consumer %q", consumer)
	}
	n := Names{Prefix: t.Prefix, Consumer: consumer}
	if err := DeclareExchange(ch, t.Exchange); err != nil {
		return err
	}
	if err := t.declareUnroutable(ch); err != nil {
		return err
	}
	// Classic, whatever the work queues are: reading a quorum queue raises its messages'
	// delivery count, and a delivery limit (RabbitMQ 4 sets one by default) would drop dead
	// letters that were only listed.
	if _, err := ch.QueueDeclare(n.DeadLetter(), true, false, false, false, amqp.Table{"x-queue-type": "classic"}); err != nil {
		return fmt.Errorf("declare dead-letter queue %s: %w", n.DeadLetter(), err)
	}
	work := amqp.Table{
		"x-queue-type":              t.QueueType,
		"x-dead-letter-exchange":    "",
		"x-dead-letter-routing-key": n.DeadLetter(),
	}
	if t.QueueType == "quorum" {
		// A message whose handler crashes the worker again and again is dead-lettered by the
		// broker after this many deliveries instead of looping forever.
		work["x-delivery-limit"] = int64(t.DeliveryLimit)
	}
	if _, err := ch.QueueDeclare(n.Work(), true, false, false, false, work); err != nil {
		return fmt.Errorf("declare work queue %s: %w (a queue declared earlier with other arguments must be deleted or migrated first)", n.Work(), err)
	}
	for _, key := range keys {
		if err := ch.QueueBind(n.Work(), key, t.Exchange, false, nil); err != nil {
			return fmt.Errorf("bind %s to %s with %s: %w", n.Work(), t.Exchange, key, err)
		}
	}
	for _, d := range t.RetryDelays {
		args := amqp.Table{
			"x-queue-type":              "classic",
			"x-message-ttl":             d.Milliseconds(),
			"x-dead-letter-exchange":    "",
			"x-dead-letter-routing-key": n.Work(),
		}
		if _, err := ch.QueueDeclare(n.Retry(d), true, false, false, false, args); err != nil {
			return fmt.Errorf("declare retry queue %s: %w", n.Retry(d), err)
		}
	}
	return nil
}

// declareUnroutable declares the alternate exchange of the events exchange and the queue of the
// events no queue is bound for. Nothing reaches them until a policy names the alternate
// exchange: Kombu declares the events exchange without arguments, and RabbitMQ refuses a
// declaration that adds one, so a policy is the only way to attach it.
func (t *Topology) declareUnroutable(ch *amqp.Channel) error {
	ae, q := UnroutableExchange(t.Exchange), UnroutableQueue(t.Prefix)
	if err := ch.ExchangeDeclare(ae, "fanout", true, false, false, false, nil); err != nil {
		return fmt.Errorf("declare exchange %s (fanout, durable): %w", ae, err)
	}
	// Classic, as the dead-letter queues: listing it must not count deliveries.
	if _, err := ch.QueueDeclare(q, true, false, false, false, amqp.Table{"x-queue-type": "classic"}); err != nil {
		return fmt.Errorf("declare queue %s: %w", q, err)
	}
	if err := ch.QueueBind(q, "", ae, false, nil); err != nil {
		return fmt.Errorf("bind %s to %s: %w", q, ae, err)
	}
	return nil
}

// DeclareExchange declares the topic exchange with Kombu's defaults for Exchange(name,
// type="topic"): durable, not auto-delete, not internal, no arguments. Any other flags make
// RabbitMQ refuse whichever side declares second.
func DeclareExchange(ch *amqp.Channel, name string) error {
	if err := ch.ExchangeDeclare(name, "topic", true, false, false, false, nil); err != nil {
		return fmt.Errorf("declare exchange %s (topic, durable): %w", name, err)
	}
	return nil
}
