package dlq

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/eventworker/eventworker/internal/broker"
	"github.com/eventworker/eventworker/registry"
)

// Channeler opens AMQP channels; *amqp.Connection is one.
type Channeler interface {
	Channel() (*amqp.Channel, error)
}

// Publisher publishes a message and waits for the broker's confirm; *broker.Confirmer is one.
// A message that no queue takes must be an error (broker.ErrUnroutable).
type Publisher interface {
	Publish(ctx context.Context, exchange, key string, p amqp.Publishing) error
}

// Filter selects dead letters. Every empty field matches everything.
type Filter struct {
	// Consumers whose dead-letter queues are read; empty means every consumer of the Tool.
	Consumers []string
	// EventType matches the body's event_type or the original routing key.
	EventType string
	// Tenant matches the body's tenant_id.
	Tenant string
	// Since keeps the dead letters whose last failure is at or after it; a dead letter whose
	// failure time is unknown does not match a non-zero Since.
	Since time.Time
	// Limit stops after that many matching dead letters (0: no limit).
	Limit int
}

// IsEmpty reports whether f selects every dead letter of every consumer.
func (f Filter) IsEmpty() bool {
	return len(f.Consumers) == 0 && f.EventType == "" && f.Tenant == "" && f.Since.IsZero() && f.Limit == 0
}

// Match reports whether e passes the filter's type, tenant and time conditions (the consumer
// and the limit are applied by the queue walk).
func (f Filter) Match(e *Entry) bool {
	if f.EventType != "" && e.EventType != f.EventType && e.RoutingKey != f.EventType {
		return false
	}
	if f.Tenant != "" && e.TenantID != f.Tenant {
		return false
	}
	if !f.Since.IsZero() && (e.LastFailure.IsZero() || e.LastFailure.Before(f.Since)) {
		return false
	}
	return true
}

// Errors of the Tool.
var (
	// ErrUnknownConsumer: a Filter names a consumer the Tool does not know.
	ErrUnknownConsumer = errors.New("unknown consumer")
	// ErrQueueMissing: a consumer's dead-letter queue does not exist.
	ErrQueueMissing = errors.New("dead-letter queue does not exist")
	// ErrNotFound: Show found no dead letter with the event id.
	ErrNotFound = errors.New("no dead letter with that event id")
)

// Unroutable is the consumer name under which the Tool reads the queue of the events that no
// queue was bound for, <prefix>.unroutable (see broker.UnroutableQueue); a replay publishes
// them to the events exchange again.
const Unroutable = registry.ReservedConsumer

// Tool reads and repairs the dead-letter queues of a set of consumers, and the queue of the
// unroutable events.
type Tool struct {
	conn      Channeler
	pub       Publisher
	prefix    string
	exchange  string
	consumers []string
}

// New returns a Tool that opens its reading channels on conn, publishes replays with pub
// (a *broker.Confirmer, whose Connection() may also serve as conn), and knows the queues
// <prefix>.<consumer>.dlq of the consumers given (usually the registry's) and, when exchange
// (the events exchange) is not "", the queue of the unroutable events as the consumer
// Unroutable.
func New(conn Channeler, pub Publisher, prefix, exchange string, consumers []string) *Tool {
	t := &Tool{conn: conn, pub: pub, prefix: prefix, exchange: exchange, consumers: slices.Clone(consumers)}
	if exchange != "" {
		t.consumers = append(t.consumers, Unroutable)
	}
	return t
}

// Consumers returns the consumers the tool knows, Unroutable last when it knows it.
func (t *Tool) Consumers() []string { return slices.Clone(t.consumers) }

// queue is the queue the Tool reads for consumer.
func (t *Tool) queue(consumer string) string {
	if consumer == Unroutable {
		return broker.UnroutableQueue(t.prefix)
	}
	return broker.Names{Prefix: t.prefix, Consumer: consumer}.DeadLetter()
}

// List returns the dead letters that match f, in queue order, consumer by consumer. It
// removes nothing: every message goes back to its queue, in place.
func (t *Tool) List(ctx context.Context, f Filter) ([]Entry, error) {
	var out []Entry
	err := t.walk(ctx, f, nil, func(_ context.Context, e *Entry, _ amqp.Delivery) (bool, error) {
		out = append(out, *e)
		return false, nil
	})
	return out, err
}

// Show returns the dead letters of the event eventID (the body's event_id or the message id)
// that match f; an event can be in several consumers' queues. It returns ErrNotFound when there
// is none. It removes nothing.
func (t *Tool) Show(ctx context.Context, eventID string, f Filter) ([]Entry, error) {
	if eventID == "" {
		return nil, errors.New("show: an event id is required")
	}
	var out []Entry
	byID := func(e *Entry) bool { return e.EventID == eventID || e.Properties.MessageID == eventID }
	err := t.walk(ctx, f, byID, func(_ context.Context, e *Entry, _ amqp.Delivery) (bool, error) {
		out = append(out, *e)
		return false, nil
	})
	if err == nil && len(out) == 0 {
		err = fmt.Errorf("%w: %s", ErrNotFound, eventID)
	}
	return out, err
}

// Replay sends every dead letter that matches f back to its consumer's work queue: the same
// body and properties, persistent, with the application's headers, the original routing key
// and x-eventworker-replayed incremented, but without the failure history, so the worker tries
// it afresh with a full set of attempts. Each dead letter is removed only after the broker
// confirmed its copy, so an interruption can duplicate an event (the worker dedupes by event_id)
// but never lose one. Dead letters that do not match stay where they are. With dryRun nothing
// moves, and moved counts what would. Every moved message is logged.
func (t *Tool) Replay(ctx context.Context, f Filter, dryRun bool, log *slog.Logger) (moved int, err error) {
	log = orDiscard(log)
	err = t.walk(ctx, f, nil, func(ctx context.Context, e *Entry, d amqp.Delivery) (bool, error) {
		// A dead letter goes to its consumer's work queue; an unroutable event to the
		// exchange, for the queues bound for it now.
		exchange, key := "", broker.Names{Prefix: t.prefix, Consumer: e.Consumer}.Work()
		attrs := append(entryAttrs(e), slog.String("to_queue", key))
		if e.Consumer == Unroutable {
			exchange, key = t.exchange, e.RoutingKey
			attrs = append(entryAttrs(e), slog.String("to_exchange", exchange), slog.String("routing_key", key))
		}
		if dryRun {
			moved++
			log.Info("dead letter would be replayed (dry run)", attrs...)
			return false, nil
		}
		if err := t.pub.Publish(ctx, exchange, key, ReplayPublishing(e.RoutingKey, d)); err != nil {
			to := key
			if exchange != "" {
				to = fmt.Sprintf("exchange %s with routing key %s", exchange, key)
			}
			return false, fmt.Errorf("replay event %s from %s to %s: %w (it stays in %s)", orDash(e.EventID), e.Queue, to, err, e.Queue)
		}
		moved++
		log.Info("dead letter replayed", attrs...)
		return true, nil
	})
	return moved, err
}

// Purge deletes every dead letter that matches f and logs each; the others stay. With dryRun
// nothing is deleted and the count is what would be.
func (t *Tool) Purge(ctx context.Context, f Filter, dryRun bool, log *slog.Logger) (purged int, err error) {
	log = orDiscard(log)
	err = t.walk(ctx, f, nil, func(_ context.Context, e *Entry, _ amqp.Delivery) (bool, error) {
		purged++
		if dryRun {
			log.Info("dead letter would be purged (dry run)", entryAttrs(e)...)
			return false, nil
		}
		log.Info("dead letter purged", entryAttrs(e)...)
		return true, nil
	})
	return purged, err
}

// ReplayPublishing is the message a replay publishes for the dead letter d: the original
// message (broker.Republish: body, properties, and application headers with their AMQP types, as
// first published, the expiration restored), HeaderRoutingKey = routingKey (when known) and
// HeaderReplayed one more than before; the worker's failure history (attempts, failure times,
// reason, class, consumer, host, errors, stack) and the broker's x-death are dropped.
func ReplayPublishing(routingKey string, d amqp.Delivery) amqp.Publishing {
	p := broker.Republish(&d)
	delete(p.Headers, broker.HeaderFirstFailure)
	if routingKey != "" {
		p.Headers[broker.HeaderRoutingKey] = routingKey
	}
	prev, _ := broker.HeaderInt(d.Headers[broker.HeaderReplayed])
	p.Headers[broker.HeaderReplayed] = prev + 1
	broker.Restore(&p)
	return p
}

// visitFunc handles one matching dead letter; it returns true to acknowledge (remove) it.
type visitFunc func(ctx context.Context, e *Entry, d amqp.Delivery) (ack bool, err error)

// walk reads the dead-letter queues that f selects and calls visit for every message that
// matches f (and extra, when given), up to f.Limit matches in all.
func (t *Tool) walk(ctx context.Context, f Filter, extra func(*Entry) bool, visit visitFunc) error {
	consumers, err := t.selected(f)
	if err != nil {
		return err
	}
	// Unless asked for by name, the queue of the unroutable events is read where it exists: a
	// worker of an older version did not declare it.
	optional := len(f.Consumers) == 0
	if f.Limit < 0 {
		return fmt.Errorf("limit %d must not be negative", f.Limit)
	}
	matched := 0
	for _, c := range consumers {
		if f.Limit > 0 && matched >= f.Limit {
			break
		}
		err := t.walkQueue(ctx, c, f, extra, &matched, visit)
		if c == Unroutable && optional && errors.Is(err, ErrQueueMissing) {
			continue
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (t *Tool) selected(f Filter) ([]string, error) {
	if len(f.Consumers) == 0 {
		if len(t.consumers) == 0 {
			return nil, errors.New("no consumers: the registry defines none")
		}
		return t.consumers, nil
	}
	var out []string
	for _, c := range f.Consumers {
		if !slices.Contains(t.consumers, c) {
			return nil, fmt.Errorf("%w %q (known: %v)", ErrUnknownConsumer, c, t.consumers)
		}
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out, nil
}

// walkQueue reads one dead-letter queue on a channel of its own. It fetches at most as many
// messages as the queue held when it started, each kept unacknowledged so that the next get
// returns the next message and none is seen twice; new dead letters that arrive meanwhile wait
// for the next run. It stops reading once the limit is reached, so `dlq list --limit 1` holds
// one message, not the queue, and at the end returns every message it did not acknowledge one
// by one, oldest first: a dead-letter queue is a classic queue, which puts each back in its
// place.
func (t *Tool) walkQueue(ctx context.Context, consumer string, f Filter, extra func(*Entry) bool, matched *int, visit visitFunc) (err error) {
	queue := t.queue(consumer)
	ch, err := t.conn.Channel()
	if err != nil {
		return fmt.Errorf("open a channel for %s: %w", queue, err)
	}
	defer ch.Close() // returns whatever is still unacknowledged, should a nack below fail
	q, err := ch.QueueDeclarePassive(queue, true, false, false, false, nil)
	if err != nil {
		var ae *amqp.Error
		if errors.As(err, &ae) && ae.Code == amqp.NotFound {
			return fmt.Errorf("%w: %s (is the queue prefix %q right, and has the worker run once to declare its queues?)", ErrQueueMissing, queue, t.prefix)
		}
		return fmt.Errorf("inspect %s: %w", queue, err)
	}
	var held []uint64 // delivery tags to return, ascending
	defer func() {
		if rerr := returnHeld(ch, queue, held); rerr != nil && err == nil {
			err = rerr
		}
	}()
	for i := 0; i < q.Messages; i++ {
		if f.Limit > 0 && *matched >= f.Limit {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		d, ok, err := ch.Get(queue, false)
		if err != nil {
			return fmt.Errorf("read %s: %w", queue, err)
		}
		if !ok {
			return nil // someone else took messages meanwhile
		}
		e := decode(consumer, queue, d)
		if !f.Match(&e) || (extra != nil && !extra(&e)) {
			held = append(held, d.DeliveryTag)
			continue
		}
		*matched++
		ack, err := visit(ctx, &e, d)
		if err != nil {
			held = append(held, d.DeliveryTag)
			return err
		}
		if !ack {
			held = append(held, d.DeliveryTag)
			continue
		}
		if err := d.Ack(false); err != nil {
			return fmt.Errorf("remove event %s from %s: %w (if it was replayed it is now in both queues; the worker dedupes by event_id)", orDash(e.EventID), queue, err)
		}
	}
	return nil
}

// returnWait bounds how long returnHeld waits for the broker to count the returned messages.
const returnWait = 5 * time.Second

// returnHeld returns the held messages one by one, oldest first, and waits until the queue
// counts them again: a quorum queue applies returns asynchronously, and a command run right
// after this one must see every message.
func returnHeld(ch *amqp.Channel, queue string, held []uint64) error {
	if len(held) == 0 {
		return nil
	}
	for _, tag := range held {
		if err := ch.Nack(tag, false, true); err != nil {
			return fmt.Errorf("return the messages to %s: %w (closing the channel returns them)", queue, err)
		}
	}
	deadline := time.Now().Add(returnWait)
	for {
		q, err := ch.QueueDeclarePassive(queue, true, false, false, false, nil)
		if err != nil {
			return fmt.Errorf("recount %s: %w", queue, err)
		}
		// Others may have taken or added messages meanwhile: this is a best effort.
		if q.Messages >= len(held) || time.Now().After(deadline) {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func entryAttrs(e *Entry) []any {
	return []any{
		slog.String("event_id", orDash(e.EventID)),
		slog.String("event_type", orDash(e.EventType)),
		slog.String("tenant_id", orDash(e.TenantID)),
		slog.String("consumer", e.Consumer),
		slog.String("from_queue", e.Queue),
		slog.String("class", orDash(e.Class)),
	}
}

func orDiscard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}
