package broker

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/eventworker/eventworker/publisher/amqpnodes"
)

// ErrSubscriberClosed is returned by Subscribe after Stop or Close.
var ErrSubscriberClosed = errors.New("subscriber closed")

// SubscriberConfig configures a Subscriber.
type SubscriberConfig struct {
	// URL is RabbitMQ's, amqp:// or amqps://, or the comma-separated URLs of several nodes of
	// one cluster (amqpnodes.Parse): the subscriber connects to the first that answers and,
	// when its connection dies, to the next.
	URL string
	// TLS, when not nil, is the TLS configuration of an amqps:// URL (see TLSConfig).
	TLS *tls.Config
	// ConnectionName is the connection's name in the management UI; "eventworker" by default.
	ConnectionName string
	// Prefetch is how many unacknowledged messages RabbitMQ sends each subscription.
	Prefetch int
	// Queue names the queue a topic consumes.
	Queue func(topic string) string
	// Declare, when not nil, declares what a topic's queue needs on ch before each time it is
	// consumed, the first and after every reconnection, and again every DeclareEvery while it
	// is consumed: a queue an operator deleted (a dead-letter queue the broker dead-letters
	// into, say) comes back by itself.
	Declare func(ch *amqp.Channel, topic string) error
	// DeclareEvery is how often Declare runs while a topic is consumed; 30 s by default.
	DeclareEvery time.Duration
	// Logger receives the subscriber's lines; nil discards them.
	Logger *slog.Logger
	// Observe, when set, is told the node (host:port) of each connection that opens (true) and
	// closes (false): for the eventworker_amqp_connected_node gauge.
	Observe func(node string, connected bool)
	// MaxBackoff caps the wait between attempts to connect or to consume again; 30 s by
	// default.
	MaxBackoff time.Duration
}

func (c *SubscriberConfig) setDefaults() {
	if c.ConnectionName == "" {
		c.ConnectionName = "eventworker"
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = 30 * time.Second
	}
	if c.DeclareEvery == 0 {
		c.DeclareEvery = 30 * time.Second
	}
}

// Validate reports every problem of c at once.
func (c SubscriberConfig) Validate() error {
	var errs []error
	if _, err := amqpnodes.Parse(c.URL); err != nil {
		errs = append(errs, fmt.Errorf("subscriber: %w", err))
	}
	if c.Prefetch < 1 {
		errs = append(errs, fmt.Errorf("subscriber: prefetch %d must be at least 1", c.Prefetch))
	}
	if c.Queue == nil {
		errs = append(errs, errors.New("subscriber: Queue is nil"))
	}
	if c.MaxBackoff < 0 || c.DeclareEvery < 0 {
		errs = append(errs, fmt.Errorf("subscriber: MaxBackoff %s and DeclareEvery %s must not be negative", c.MaxBackoff, c.DeclareEvery))
	}
	return errors.Join(errs...)
}

// Subscriber consumes RabbitMQ queues for a Watermill router. Compared with watermill-amqp's
// subscriber, which hands a subscription's messages over one at a time and acknowledges each
// with a frame of its own, it
//
//   - hands over up to Prefetch messages of a queue at once (the router runs each on a goroutine
//     of its own) and acknowledges finished ones together (see acker), one frame for many;
//   - never makes a message of a delivery channel that closed (a queue deleted under its
//     consumer, a channel error): it consumes again once the queue is back;
//   - connects lazily and retries with backoff while RabbitMQ is down, declaring the topology
//     again on every new channel, on one connection of its own with no shared state to race on;
//   - stops consuming on Stop while the messages already delivered are still handed over, so a
//     graceful shutdown can finish them instead of returning them to the queue, where each
//     return counts toward a quorum queue's delivery limit;
//   - knows whether each of its own subscriptions is consuming, for readiness;
//   - attaches the original delivery to each message (DeliveryOf), so a retry or dead letter can
//     carry it on as it came.
type Subscriber struct {
	cfg    SubscriberConfig
	dialer *amqpnodes.Dialer

	mu      sync.Mutex
	conn    *amqp.Connection
	subs    []*subscription
	dialErr error  // the last dial's error, nil once a dial succeeded; logged when it changes
	node    string // the node of conn, host:port

	stopping  chan struct{} // closed by Stop
	closing   chan struct{} // closed by Close
	stopOnce  sync.Once
	closeOnce sync.Once
	wg        sync.WaitGroup
}

// NewSubscriber returns a Subscriber for cfg. It does not connect: the first Subscribe does, and
// keeps trying while RabbitMQ is down.
func NewSubscriber(cfg SubscriberConfig) (*Subscriber, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	nodes, _ := amqpnodes.Parse(cfg.URL) // Validate parsed it
	dialer, err := amqpnodes.NewDialer(amqpnodes.DialerConfig{
		Nodes: nodes, Client: cfg.ConnectionName, Logger: cfg.Logger, Observe: cfg.Observe,
		AMQP: amqp.Config{
			Properties:      amqp.Table{"connection_name": cfg.ConnectionName},
			Dial:            amqp.DefaultDial(10 * time.Second),
			TLSClientConfig: cfg.TLS,
		},
	})
	if err != nil {
		return nil, err
	}
	return &Subscriber{cfg: cfg, dialer: dialer, stopping: make(chan struct{}), closing: make(chan struct{})}, nil
}

// Subscribe consumes the queue of topic until Stop or Close; the channel it returns is closed
// then. A lost connection or channel is consumed again after a backoff.
func (s *Subscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.stopping:
		return nil, ErrSubscriberClosed
	default:
	}
	sub := &subscription{s: s, topic: topic, queue: s.cfg.Queue(topic), out: make(chan *message.Message), ctx: ctx}
	s.subs = append(s.subs, sub)
	s.wg.Go(sub.run)
	return sub.out, nil
}

// Stop cancels every subscription's consumer: RabbitMQ sends nothing more, and what it had sent
// is still handed over and acknowledged as it finishes. Wait tells when that is done.
func (s *Subscriber) Stop() {
	s.stopOnce.Do(func() { close(s.stopping) })
}

// Wait returns once every subscription ended after Stop (its delivered messages settled and
// acknowledged), or with ctx's error.
func (s *Subscriber) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops the subscriptions at once and closes the connection: the messages delivered and
// not acknowledged go back to their queues.
func (s *Subscriber) Close() error {
	s.Stop()
	s.closeOnce.Do(func() { close(s.closing) })
	s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != nil {
		_ = s.conn.Close()
		s.conn = nil
	}
	return nil
}

// Connected reports whether the subscriber holds an open connection.
func (s *Subscriber) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conn != nil && !s.conn.IsClosed()
}

// Ready reports nil while every subscription of this subscriber consumes its queue, else which
// do not: the broker's consumer count of a queue also counts other replicas. Not connected, it
// says why, as the last attempt found (a refused login names what to fix).
func (s *Subscriber) Ready() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil || s.conn.IsClosed() {
		tried := strings.Join(s.dialer.Nodes(), ", ")
		if s.dialErr != nil {
			return fmt.Errorf("not connected to RabbitMQ (%s): %w", tried, s.dialErr)
		}
		return fmt.Errorf("not connected to RabbitMQ (%s)", tried)
	}
	var idle []string
	for _, sub := range s.subs {
		if !sub.consuming.Load() {
			idle = append(idle, sub.queue)
		}
	}
	if len(idle) > 0 {
		slices.Sort(idle)
		return fmt.Errorf("not consuming %s on node %s", strings.Join(slices.Compact(idle), ", "), s.node)
	}
	return nil
}

// Node returns the node (host:port) of the open connection, and false when there is none.
func (s *Subscriber) Node() (string, bool) { return s.dialer.Current() }

// connection returns the open connection, dialling one if there is none.
func (s *Subscriber) connection() (*amqp.Connection, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != nil && !s.conn.IsClosed() {
		return s.conn, nil
	}
	conn, node, err := s.dialer.Dial()
	if err != nil {
		err = explainDial(err, s.cfg.URL)
		if s.dialErr == nil || s.dialErr.Error() != err.Error() {
			// Once per outage, and again when the cause changes.
			if errors.Is(err, ErrRefused) {
				s.cfg.Logger.Error("cannot connect to RabbitMQ; retrying until it is fixed", "error", err.Error())
			} else {
				s.cfg.Logger.Warn("cannot connect to RabbitMQ; retrying", "error", err.Error())
			}
		}
		s.dialErr = err
		return nil, err
	}
	if s.dialErr != nil {
		s.cfg.Logger.Info("connected to RabbitMQ again")
		s.dialErr = nil
	}
	s.conn, s.node = conn, node.Addr
	return conn, nil
}

// subscription consumes one queue.
type subscription struct {
	s         *Subscriber
	topic     string
	queue     string
	out       chan *message.Message
	ctx       context.Context
	consuming atomic.Bool
}

func (sub *subscription) run() {
	defer close(sub.out)
	s := sub.s
	backoff := 100 * time.Millisecond
	for {
		started := time.Now()
		err := sub.consume()
		select {
		case <-s.stopping:
			return
		default:
		}
		if time.Since(started) > s.cfg.MaxBackoff {
			backoff = 100 * time.Millisecond
		}
		if err != nil {
			s.cfg.Logger.Debug("consuming again after a pause", "queue", sub.queue, "error", err.Error(), "retry_in", backoff.String())
		}
		select {
		case <-s.stopping:
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, s.cfg.MaxBackoff)
	}
}

// consume consumes the queue on a new channel until the channel or its consumer ends, or the
// subscriber stops; after Stop it hands over what was delivered and waits for it to settle.
func (sub *subscription) consume() error {
	s := sub.s
	conn, err := s.connection()
	if err != nil {
		return err
	}
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("open channel: %w", err)
	}
	defer ch.Close()
	if err := ch.Qos(s.cfg.Prefetch, 0, false); err != nil {
		return fmt.Errorf("set prefetch of %s: %w", sub.queue, err)
	}
	if s.cfg.Declare != nil {
		if err := s.cfg.Declare(ch, sub.topic); err != nil {
			s.cfg.Logger.Warn("could not declare the queues of a consumer; retrying", "queue", sub.queue, "error", err.Error())
			return err
		}
	}
	closed := ch.NotifyClose(make(chan *amqp.Error, 1))
	tag := consumerTag(sub.topic)
	deliveries, err := ch.Consume(sub.queue, tag, false, false, false, false, nil)
	if err != nil {
		return fmt.Errorf("consume %s: %w", sub.queue, err)
	}
	acks := newAcker(ch)
	defer acks.stop()
	sub.consuming.Store(true)
	defer sub.consuming.Store(false)

	stop := &canceller{ch: ch, tag: tag, acks: acks, stopping: s.stopping}
	var redeclare <-chan time.Time
	if s.cfg.Declare != nil {
		t := time.NewTicker(s.cfg.DeclareEvery)
		defer t.Stop()
		redeclare = t.C
	}
	for {
		select {
		case d, ok := <-deliveries:
			if !ok {
				// A closed delivery channel is not a message: the consumer was cancelled (by
				// Stop, or by the broker when the queue was deleted) or the channel closed.
				sub.consuming.Store(false)
				select {
				case <-s.stopping:
					return sub.drain(acks)
				default:
				}
				select {
				case e := <-closed:
					if e != nil {
						return fmt.Errorf("channel of %s closed: %w", sub.queue, e)
					}
				default:
				}
				return fmt.Errorf("the broker cancelled the consumer of %s (queue deleted?)", sub.queue)
			}
			if !sub.handOver(d, acks, stop) {
				return nil
			}
		case <-stop.due():
			if err := stop.cancel(); err != nil {
				return sub.drain(acks)
			}
		case <-redeclare:
			if err := s.cfg.Declare(ch, sub.topic); err != nil {
				// The channel is closed now; its deliveries end, and the loop consumes again.
				s.cfg.Logger.Warn("could not declare the queues of a consumer again", "queue", sub.queue, "error", err.Error())
			}
		case <-s.closing:
			return nil
		}
	}
}

// canceller cancels a subscription's consumer once, on Stop. No ack goes out until the broker
// confirmed the cancel: each would free a slot of the prefetch window for a delivery that could
// arrive after the confirmation, which amqp091-go drops, and which would then come back to the
// queue counted as a delivery. Deliveries sent before the cancel still arrive and are handed over
// until the delivery channel closes.
type canceller struct {
	ch       *amqp.Channel
	tag      string
	acks     *acker
	stopping <-chan struct{}
	done     bool
}

// due is closed when the consumer is to be cancelled, nil once it was.
func (c *canceller) due() <-chan struct{} {
	if c.done {
		return nil
	}
	return c.stopping
}

func (c *canceller) cancel() error {
	c.done = true
	c.acks.hold()
	defer c.acks.release()
	return c.ch.Cancel(c.tag, false)
}

// handOver gives d to the router and has its settlement acknowledged; false when the
// subscriber closed first. A Stop while it waits for the router cancels the consumer first.
func (sub *subscription) handOver(d amqp.Delivery, acks *acker, stop *canceller) bool {
	msg, _ := Marshaler{}.Unmarshal(d)
	msg.SetContext(context.WithValue(sub.ctx, deliveryKey{}, &d))
	acks.delivered()
	closing := sub.s.closing
	go func() {
		select {
		case <-msg.Acked():
			acks.settle(d.DeliveryTag, true)
		case <-msg.Nacked():
			acks.settle(d.DeliveryTag, false)
		case <-closing:
		}
	}()
	for {
		select {
		case sub.out <- msg:
			return true
		case <-stop.due():
			_ = stop.cancel() // a failed cancel closes the channel: its deliveries end
		case <-closing:
			return false
		}
	}
}

// drain waits, after Stop, for the messages handed over to be settled and acknowledged.
func (sub *subscription) drain(acks *acker) error {
	select {
	case <-acks.idleChan():
	case <-sub.s.closing:
	}
	return acks.firstErr()
}

type deliveryKey struct{}

// DeliveryOf returns the AMQP delivery a Subscriber made msg of, as RabbitMQ sent it.
func DeliveryOf(msg *message.Message) (*amqp.Delivery, bool) {
	d, ok := msg.Context().Value(deliveryKey{}).(*amqp.Delivery)
	return d, ok
}

// consumerTag names a consumer in the management UI: the worker's consumer, host and process.
func consumerTag(topic string) string {
	host, _ := os.Hostname()
	return fmt.Sprintf("eventworker-%s-%s-%d-%d", topic, host, os.Getpid(), tagSeq.Add(1))
}

var tagSeq atomic.Uint64

// redact removes the passwords of rawURL, one URL or a list of them, from msg.
func redact(msg, rawURL string) string {
	for _, part := range strings.Split(rawURL, ",") {
		if u, err := url.Parse(strings.TrimSpace(part)); err == nil {
			if pw, ok := u.User.Password(); ok && pw != "" {
				msg = strings.ReplaceAll(msg, pw, "xxxxx")
			}
		}
	}
	return msg
}
