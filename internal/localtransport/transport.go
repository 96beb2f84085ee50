package localtransport

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/eventworker/eventworker/internal/broker"
)

// ErrClosed is returned by a Transport's methods after Close.
var ErrClosed = errors.New("local transport closed")

// localBuffer is the output buffer of each GoChannel subscription: deliveries into the
// consumers' queues take no time, so it only smooths bursts.
const localBuffer = 1024

// Transport carries a worker's messages inside one process (worker.Deps.Transport), for the
// demo and tests: a Watermill GoChannel (not persistent, publishes not blocking) whose topics are
// event types, as watermillbus publishes them, and in-memory queues that stand in
// for RabbitMQ's:
//
//   - a work queue per consumer, fed by GoChannel subscriptions to every event type that
//     registry.yaml maps to the consumer, drained by the worker's subscription, which is handed
//     up to Prefetch messages at once, as an AMQP consumer is; a message nacked more than the
//     topology's DeliveryLimit times is dead-lettered, as a quorum queue's x-delivery-limit does;
//   - the retry queues, where a timer sends a message back to its work queue after the
//     queue's delay, with the same headers (attempts, first failure, original routing key) as
//     RabbitMQ's TTL queues carry;
//   - the dead-letter queues, an in-memory list (DeadLetters) with each message's reason,
//     error class and attempts.
//
// Nothing is kept across a restart. Its methods are safe for concurrent use.
type Transport struct {
	gc     *gochannel.GoChannel
	ctx    context.Context // ends at Close: stops the fan-in and the queue subscriptions
	cancel context.CancelFunc
	fanIn  sync.WaitGroup

	mu sync.Mutex
	// closed and bound: Close was called; a worker was bound (Subscriber).
	closed, bound bool
	log           *slog.Logger
	deliveryLimit int
	queues        map[string]*localQueue // by consumer
	subscribers   map[string][]string    // event type -> consumers bound to it
	routes        map[string]localRoute  // queue name -> where a publish to it goes
	// transit counts copies of published messages not yet in their consumers' queues.
	transit int
	timers  map[*time.Timer]struct{}
	dead    []DeadLetter
	// idle is closed while nothing is outstanding, and replaced by an open one when work
	// arrives.
	idle       chan struct{}
	idleClosed bool
}

// localQueue is one consumer's work queue.
type localQueue struct {
	consumer string
	// work and dead are the names of the consumer's work and dead-letter queues.
	work, dead string
	items      []*localItem
	// ready holds a token while items may be waiting; takers pass it on.
	ready chan struct{}
	// pending counts the messages queued or delivered and not yet acknowledged; timers the
	// messages waiting in a retry queue.
	pending, timers int
}

// localItem is one message in a work queue.
type localItem struct {
	msg *message.Message
	// nacks counts how often the message was delivered and not acknowledged.
	nacks int
}

// localRoute is where a publish to a queue name goes.
type localRoute struct {
	consumer string
	kind     string // routeWork, routeRetry or routeDead
	delay    time.Duration
}

const (
	routeWork  = "work"
	routeRetry = "retry"
	routeDead  = "dead-letter"
)

// DeadLetter is a message in one of a Transport's dead-letter queues, with the headers the
// worker sets on every dead letter read back.
type DeadLetter struct {
	// Consumer gave up on the message; Queue is its dead-letter queue.
	Consumer string
	Queue    string
	// MessageID is the message's id: the event_id of events the publisher sent.
	MessageID string
	// RoutingKey is the original routing key, the event type the message was published with.
	RoutingKey string
	// Class is broker.ClassPermanent or broker.ClassExhausted, and empty for a message the
	// queue dead-lettered itself (delivery limit); Reason says why.
	Class  string
	Reason string
	// Attempts counts the failed attempts.
	Attempts int
	// FirstFailure and LastFailure are the times of the first and the latest failure.
	FirstFailure time.Time
	LastFailure  time.Time
	// Body is the message body, byte for byte; Headers are its headers, the worker's included.
	Body    []byte
	Headers amqp.Table
}

// New returns an empty transport; the worker binds it to its topology (Subscriber). log
// receives Watermill's messages (nil: discard).
func New(log *slog.Logger) *Transport {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t := &Transport{
		gc: gochannel.NewGoChannel(gochannel.Config{
			OutputChannelBuffer:            localBuffer,
			Persistent:                     false,
			BlockPublishUntilSubscriberAck: false,
		}, watermill.NewSlogLogger(log)),
		ctx: ctx, cancel: cancel, log: log,
		queues: map[string]*localQueue{}, subscribers: map[string][]string{},
		routes: map[string]localRoute{}, timers: map[*time.Timer]struct{}{},
		idle: make(chan struct{}),
	}
	close(t.idle)
	t.idleClosed = true
	return t
}

// Subscriber binds the transport to a worker's topology (its consumers' queues, each subscribed
// to the event types it is bound with; retry and dead-letter queues) and returns the subscriber
// of the work queues, whose topics are consumer names. A transport serves one worker. It
// implements worker.Transport with Publish and Ready.
func (t *Transport) Subscriber(top *broker.Topology, log *slog.Logger) (message.Subscriber, error) {
	if err := t.bind(top, log); err != nil {
		return nil, err
	}
	return t.subscriber(), nil
}

// bind creates the queues of a worker's consumers and subscribes each to its event types.
func (t *Transport) bind(top *broker.Topology, log *slog.Logger) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.closed:
		return ErrClosed
	case t.bound:
		return errors.New("the local transport already serves a worker")
	}
	t.bound, t.deliveryLimit = true, top.DeliveryLimit
	if log != nil {
		t.log = log
	}
	consumers := make([]string, 0, len(top.Bindings))
	for c := range top.Bindings {
		consumers = append(consumers, c)
	}
	sort.Strings(consumers)
	for _, c := range consumers {
		n := broker.Names{Prefix: top.Prefix, Consumer: c}
		q := &localQueue{consumer: c, work: n.Work(), dead: n.DeadLetter(), ready: make(chan struct{}, 1)}
		t.queues[c] = q
		t.routes[n.Work()] = localRoute{consumer: c, kind: routeWork}
		t.routes[n.DeadLetter()] = localRoute{consumer: c, kind: routeDead}
		for _, d := range top.RetryDelays {
			t.routes[n.Retry(d)] = localRoute{consumer: c, kind: routeRetry, delay: d}
		}
		for _, topic := range top.Bindings[c] {
			ch, err := t.gc.Subscribe(t.ctx, topic)
			if err != nil {
				return fmt.Errorf("subscribe consumer %s to %s: %w", c, topic, err)
			}
			t.subscribers[topic] = append(t.subscribers[topic], c)
			t.fanIn.Add(1)
			go t.feed(q, topic, ch)
		}
	}
	return nil
}

// feed moves the messages of one GoChannel subscription into a consumer's work queue, the way
// RabbitMQ routes a published message into every bound queue.
func (t *Transport) feed(q *localQueue, topic string, ch <-chan *message.Message) {
	defer t.fanIn.Done()
	for m := range ch {
		msg, err := broker.Marshaler{}.Unmarshal(deliveryOf(topic, m))
		t.mu.Lock()
		t.transit--
		if err == nil && !t.closed {
			q.pending++
			t.pushLocked(q, &localItem{msg: msg}, false)
		}
		t.settleLocked()
		t.mu.Unlock()
		m.Ack()
	}
}

// deliveryOf is a GoChannel message as the AMQP subscriber would have received it: the topic
// is the routing key, the UUID the message id, the known metadata the properties, and any
// other metadata application headers.
func deliveryOf(topic string, m *message.Message) amqp.Delivery {
	d := amqp.Delivery{RoutingKey: topic, MessageId: m.UUID, Body: m.Payload, Headers: amqp.Table{}}
	for k, v := range m.Metadata {
		switch k {
		case broker.MetaRoutingKey: // the topic routed it
		case broker.MetaContentType:
			d.ContentType = v
		case broker.MetaCorrelationID:
			d.CorrelationId = v
		case broker.MetaAppID:
			d.AppId = v
		case broker.MetaMessageID:
			if v != "" {
				d.MessageId = v
			}
		default:
			d.Headers[k] = v
		}
	}
	return d
}

// Publisher returns the transport's Watermill publisher: topic = event type, as
// watermillbus uses it; a raw message (an invalid event, say) may be published
// with it too. A topic no consumer is bound to is an error wrapping broker.ErrUnroutable, as
// RabbitMQ returns an unroutable mandatory message. Its Close does nothing; Close the
// transport.
func (t *Transport) Publisher() message.Publisher { return localPublisher{t} }

type localPublisher struct{ t *Transport }

// Publish implements message.Publisher.
func (p localPublisher) Publish(topic string, msgs ...*message.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	t := p.t
	t.mu.Lock()
	switch {
	case t.closed:
		t.mu.Unlock()
		return ErrClosed
	case !t.bound:
		t.mu.Unlock()
		return fmt.Errorf("local publish to %s: no worker is bound to the transport yet (worker.Deps.Transport)", topic)
	}
	copies := len(t.subscribers[topic]) * len(msgs)
	if copies == 0 {
		t.mu.Unlock()
		return fmt.Errorf("local publish to %s: %w", topic, broker.ErrUnroutable)
	}
	t.transit += copies
	t.settleLocked()
	t.mu.Unlock()
	if err := t.gc.Publish(topic, msgs...); err != nil {
		t.mu.Lock()
		t.transit -= copies
		t.settleLocked()
		t.mu.Unlock()
		return fmt.Errorf("local publish to %s: %w", topic, err)
	}
	return nil
}

// Close implements message.Publisher; the transport's Close closes the GoChannel.
func (localPublisher) Close() error { return nil }

// Publish stores p in the queue named key, a retry, dead-letter or work queue: the default
// exchange ("") routes by queue name. It implements worker.Transport.
func (t *Transport) Publish(_ context.Context, exchange, key string, p amqp.Publishing) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return ErrClosed
	}
	r, ok := t.routes[key]
	if exchange != "" || !ok {
		return fmt.Errorf("publish to %q with key %q: %w", exchange, key, broker.ErrUnroutable)
	}
	q := t.queues[r.consumer]
	switch r.kind {
	case routeDead:
		t.dead = append(t.dead, deadLetterOf(r.consumer, key, p))
	case routeWork:
		q.pending++
		t.pushLocked(q, &localItem{msg: redelivery(q.work, p)}, false)
	case routeRetry:
		q.timers++
		var tm *time.Timer
		tm = time.AfterFunc(r.delay, func() {
			t.mu.Lock()
			defer t.mu.Unlock()
			if _, live := t.timers[tm]; !live {
				return // Close stopped it meanwhile
			}
			delete(t.timers, tm)
			q.timers--
			q.pending++
			t.pushLocked(q, &localItem{msg: redelivery(q.work, p)}, false)
			t.settleLocked()
		})
		t.timers[tm] = struct{}{}
	}
	t.settleLocked()
	return nil
}

// redelivery is a message coming back to a work queue from a retry queue, as RabbitMQ
// dead-letters it there: routing key = the work queue, the rest from p.
func redelivery(work string, p amqp.Publishing) *message.Message {
	msg, _ := broker.Marshaler{}.Unmarshal(amqp.Delivery{
		RoutingKey: work, Headers: p.Headers, Body: p.Body, MessageId: p.MessageId,
		ContentType: p.ContentType, CorrelationId: p.CorrelationId, AppId: p.AppId, Timestamp: p.Timestamp,
	})
	return msg
}

// deadLetterOf reads a dead letter's headers back.
func deadLetterOf(consumer, queue string, p amqp.Publishing) DeadLetter {
	h := p.Headers
	str := func(k string) string { s, _ := h[k].(string); return s }
	at := func(k string) time.Time { v, _ := time.Parse(time.RFC3339Nano, str(k)); return v }
	attempts, _ := broker.HeaderInt(h[broker.HeaderAttempts])
	return DeadLetter{
		Consumer: consumer, Queue: queue, MessageID: p.MessageId, RoutingKey: str(broker.HeaderRoutingKey),
		Class: str(broker.HeaderErrorClass), Reason: str(broker.HeaderReason), Attempts: int(attempts),
		FirstFailure: at(broker.HeaderFirstFailure), LastFailure: at(broker.HeaderLastFailure),
		Body: p.Body, Headers: h,
	}
}

// DeadLetters returns the dead letters of every consumer, in the order they were stored.
func (t *Transport) DeadLetters() []DeadLetter {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.dead)
}

// WaitIdle returns once nothing is outstanding: every published message is in its consumers'
// queues, every queue is empty with nothing in flight (handled and acknowledged), and no
// message waits in a retry queue. It returns an error naming what is still pending when ctx
// ends first, and ErrClosed after Close.
func (t *Transport) WaitIdle(ctx context.Context) error {
	for {
		t.mu.Lock()
		if t.closed {
			t.mu.Unlock()
			return ErrClosed
		}
		idle := t.idle
		t.mu.Unlock()
		select {
		case <-idle:
			t.mu.Lock()
			busy := t.outstandingLocked() > 0
			t.mu.Unlock()
			if !busy {
				return nil
			}
		case <-ctx.Done():
			return fmt.Errorf("wait for the local transport to be idle: %w; still pending: %s", ctx.Err(), t.Pending())
		}
	}
}

// Pending describes what is outstanding, e.g. "notifications: 2 queued or in flight, 1 waiting
// to be retried"; "nothing" when idle.
func (t *Transport) Pending() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var parts []string
	if t.transit > 0 {
		parts = append(parts, fmt.Sprintf("%d published, not yet queued", t.transit))
	}
	consumers := make([]string, 0, len(t.queues))
	for c := range t.queues {
		consumers = append(consumers, c)
	}
	sort.Strings(consumers)
	for _, c := range consumers {
		q := t.queues[c]
		if q.pending > 0 || q.timers > 0 {
			parts = append(parts, fmt.Sprintf("%s: %d queued or in flight, %d waiting to be retried", c, q.pending, q.timers))
		}
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, "; ")
}

func (t *Transport) outstandingLocked() int {
	n := t.transit
	for _, q := range t.queues {
		n += q.pending + q.timers
	}
	return n
}

// settleLocked opens or closes the idle channel after a change of the counts.
func (t *Transport) settleLocked() {
	busy := t.outstandingLocked() > 0
	switch {
	case busy && t.idleClosed:
		t.idle, t.idleClosed = make(chan struct{}), false
	case !busy && !t.idleClosed:
		close(t.idle)
		t.idleClosed = true
	}
}

// pushLocked queues an item, at the head for a message that goes back unacknowledged.
func (t *Transport) pushLocked(q *localQueue, it *localItem, head bool) {
	if head {
		q.items = append([]*localItem{it}, q.items...)
	} else {
		q.items = append(q.items, it)
	}
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// take waits for the next item of q, or returns nil when done is closed or the transport is.
func (t *Transport) take(q *localQueue, done <-chan struct{}) *localItem {
	for {
		t.mu.Lock()
		if t.closed {
			t.mu.Unlock()
			return nil
		}
		if len(q.items) > 0 {
			it := q.items[0]
			q.items = q.items[1:]
			if len(q.items) > 0 {
				select { // pass the token on to the next taker
				case q.ready <- struct{}{}:
				default:
				}
			}
			t.mu.Unlock()
			return it
		}
		t.mu.Unlock()
		select {
		case <-q.ready:
		case <-done:
			return nil
		}
	}
}

// settle records the fate of a delivered item: acknowledged, or back to the queue's head
// (dead-lettered instead once it reached the delivery limit).
func (t *Transport) settle(q *localQueue, it *localItem, acked, counts bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	defer t.settleLocked()
	if acked || t.closed {
		q.pending--
		return
	}
	if counts {
		it.nacks++
	}
	if t.deliveryLimit > 0 && it.nacks > t.deliveryLimit {
		q.pending--
		t.dead = append(t.dead, limitDeadLetter(q, it))
		t.log.Error("message dead-lettered by the local queue: delivery limit reached", "consumer", q.consumer,
			"message_id", it.msg.UUID, "deliveries", it.nacks)
		return
	}
	msg := it.msg.Copy()
	msg.Metadata.Set(broker.MetaRedelivered, "true")
	it.msg = msg
	t.pushLocked(q, it, true)
}

// limitDeadLetterLocked is a message the queue gives up on, as a quorum queue does at its
// x-delivery-limit: no worker headers of its own, the reason the dlq tool shows for those.
func limitDeadLetter(q *localQueue, it *localItem) DeadLetter {
	md := it.msg.Metadata
	attempts, _ := strconv.Atoi(md.Get(broker.MetaAttempts))
	return DeadLetter{
		Consumer: q.consumer, Queue: q.dead, MessageID: md.Get(broker.MetaMessageID), RoutingKey: md.Get(broker.MetaRoutingKey),
		Reason:   fmt.Sprintf("broker: delivery_limit (delivered %d times without an acknowledgement)", it.nacks),
		Attempts: attempts, Body: it.msg.Payload, Headers: broker.HeadersFromMetadata(md),
	}
}

// Prefetch is how many messages a subscription hands over before one of them is settled, as
// RabbitMQ's prefetch: the worker's goroutines, not the subscription, limit how many run.
const Prefetch = 64

// subscriber returns a Watermill subscriber whose topics are consumer names: each Subscribe is
// one competing consumer of that consumer's work queue, handed up to Prefetch messages at once.
func (t *Transport) subscriber() *localSubscriber {
	ctx, cancel := context.WithCancel(t.ctx)
	return &localSubscriber{t: t, ctx: ctx, cancel: cancel}
}

type localSubscriber struct {
	t *Transport
	// ctx ends at Close (or the transport's).
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Subscribe implements message.Subscriber; topic is a consumer name. The subscription ends
// with ctx, Close or the transport's Close.
func (s *localSubscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	t := s.t
	t.mu.Lock()
	q, ok := t.queues[topic]
	closed := t.closed
	t.mu.Unlock()
	switch {
	case closed:
		return nil, ErrClosed
	case !ok:
		return nil, fmt.Errorf("subscribe to the local queue of %q: no such consumer", topic)
	}
	sub, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.ctx, cancel)
	out := make(chan *message.Message)
	window := make(chan struct{}, Prefetch) // a slot per message handed over and not settled
	var settling sync.WaitGroup
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(out)
		defer cancel()
		defer stop()
		defer settling.Wait()
		for {
			select {
			case window <- struct{}{}:
			case <-sub.Done():
				return
			}
			it := t.take(q, sub.Done())
			if it == nil {
				return
			}
			msg := it.msg.Copy()
			msg.SetContext(ctx)
			select {
			case out <- msg:
			case <-sub.Done():
				t.settle(q, it, false, false)
				return
			}
			settling.Go(func() {
				defer func() { <-window }()
				select {
				case <-msg.Acked():
					t.settle(q, it, true, true)
				case <-msg.Nacked():
					t.settle(q, it, false, true)
				case <-sub.Done():
					// Unacknowledged when the subscription ends: back to the queue, as RabbitMQ
					// does.
					t.settle(q, it, false, false)
				}
			})
		}
	}()
	return out, nil
}

// Close implements message.Subscriber: the subscriptions end and unacknowledged messages go
// back to their queues.
func (s *localSubscriber) Close() error {
	s.cancel()
	s.wg.Wait()
	return nil
}

// Ready reports ErrClosed after Close, else nil. It implements worker.Transport.
func (t *Transport) Ready() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return ErrClosed
	}
	return nil
}

// Close stops the transport: pending retries are dropped, queued messages are lost, WaitIdle
// and later publishes return ErrClosed. Close the worker's Run first.
func (t *Transport) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	for tm := range t.timers {
		tm.Stop()
	}
	clear(t.timers)
	if !t.idleClosed {
		close(t.idle)
		t.idleClosed = true
	}
	t.mu.Unlock()
	t.cancel()
	err := t.gc.Close()
	t.fanIn.Wait()
	if err != nil {
		return fmt.Errorf("close the local transport: %w", err)
	}
	return nil
}
