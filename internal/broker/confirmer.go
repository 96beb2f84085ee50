package broker

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/eventworker/eventworker/publisher/amqpnodes"
)

// Errors of Confirmer.Publish.
var (
	// ErrUnroutable: the broker returned the message because no queue matched its routing key.
	ErrUnroutable = errors.New("message unroutable: no queue is bound for its routing key")
	// ErrNacked: the broker refused the message.
	ErrNacked = errors.New("broker nacked the message")
)

// Confirmer publishes on its own connection and waits for the broker's confirm of every
// message, so a retry or dead letter is safely stored before the original is acknowledged. It
// reconnects lazily after a connection loss, to the next node of a list of nodes. Publishes
// are serialised: they are rare.
type Confirmer struct {
	url     string
	name    string
	timeout time.Duration
	tls     *tls.Config
	log     *slog.Logger
	observe func(node string, connected bool)
	dialer  *amqpnodes.Dialer

	mu      sync.Mutex
	conn    *amqp.Connection
	ch      *amqp.Channel
	returns chan amqp.Return
}

// ConfirmerOption sets an optional part of a Confirmer.
type ConfirmerOption func(*Confirmer)

// WithConfirmerLogger logs a move to another node of the list to log.
func WithConfirmerLogger(log *slog.Logger) ConfirmerOption {
	return func(c *Confirmer) { c.log = log }
}

// WithConfirmerObserve tells observe the node (host:port) of each connection that opens (true)
// and closes (false).
func WithConfirmerObserve(observe func(node string, connected bool)) ConfirmerOption {
	return func(c *Confirmer) { c.observe = observe }
}

// NewConfirmer returns a Confirmer for the broker at url, one URL or a comma-separated list of
// nodes (amqpnodes.Parse) tried in turn; name is the connection name the management UI shows,
// and tlsConf, when not nil, is used for amqps:// (see TLSConfig). It connects on first use.
func NewConfirmer(url, name string, timeout time.Duration, tlsConf *tls.Config, opts ...ConfirmerOption) *Confirmer {
	c := &Confirmer{url: url, name: name, timeout: timeout, tls: tlsConf}
	for _, o := range opts {
		o(c)
	}
	return c
}

// dial connects to the next node that answers; the dialer is made at the first.
func (c *Confirmer) dial() (*amqp.Connection, error) {
	if c.dialer == nil {
		nodes, err := amqpnodes.Parse(c.url)
		if err != nil {
			return nil, err
		}
		c.dialer, err = amqpnodes.NewDialer(amqpnodes.DialerConfig{
			Nodes: nodes, Client: c.name, Logger: c.log, Observe: c.observe,
			AMQP: amqp.Config{Properties: amqp.Table{"connection_name": c.name}, Dial: amqp.DefaultDial(10 * time.Second), TLSClientConfig: c.tls},
		})
		if err != nil {
			return nil, err
		}
	}
	conn, _, err := c.dialer.Dial()
	return conn, err
}

// Node returns the node (host:port) of the open connection, and false when there is none.
func (c *Confirmer) Node() (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dialer == nil {
		return "", false
	}
	return c.dialer.Current()
}

func (c *Confirmer) connect() error {
	if c.ch != nil && !c.ch.IsClosed() && c.conn != nil && !c.conn.IsClosed() {
		return nil
	}
	c.closeLocked()
	conn, err := c.dial()
	if err != nil {
		return fmt.Errorf("connect to RabbitMQ: %w", err)
	}
	ch, err := conn.Channel()
	if err != nil {
		_ = conn.Close()
		return fmt.Errorf("open channel: %w", err)
	}
	if err := ch.Confirm(false); err != nil {
		_ = conn.Close()
		return fmt.Errorf("enable publisher confirms: %w", err)
	}
	c.conn, c.ch = conn, ch
	c.returns = ch.NotifyReturn(make(chan amqp.Return, 1))
	return nil
}

// Publish sends p and waits for its confirm. mandatory makes an unroutable message an error.
func (c *Confirmer) Publish(ctx context.Context, exchange, key string, p amqp.Publishing) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var err error
	for try := 0; try < 2; try++ {
		if err = c.connect(); err != nil {
			continue
		}
		if err = c.publishLocked(ctx, exchange, key, p); err == nil || errors.Is(err, ErrUnroutable) || errors.Is(err, ErrNacked) || ctx.Err() != nil {
			return err
		}
		// The connection may have died under us: reconnect once and publish again; a
		// duplicate is harmless, consumers dedupe by event_id.
		c.closeLocked()
	}
	return err
}

func (c *Confirmer) publishLocked(ctx context.Context, exchange, key string, p amqp.Publishing) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	dc, err := c.ch.PublishWithDeferredConfirmWithContext(ctx, exchange, key, true, false, p)
	if err != nil {
		return fmt.Errorf("publish to %q with key %q: %w", exchange, key, err)
	}
	ok, err := dc.WaitContext(ctx)
	if err != nil {
		return fmt.Errorf("wait for confirm of %q: %w", key, err)
	}
	// The broker sends basic.return before the ack, and the client hands it over before the
	// confirm, so the return of this message, if any, is already there.
	select {
	case r := <-c.returns:
		return fmt.Errorf("publish to %q with key %q: %w (%s)", exchange, key, ErrUnroutable, r.ReplyText)
	default:
	}
	if !ok {
		return fmt.Errorf("publish to %q with key %q: %w", exchange, key, ErrNacked)
	}
	return nil
}

// Inspect returns a queue's message and consumer counts without declaring it.
func (c *Confirmer) Inspect(queue string) (amqp.Queue, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.connect(); err != nil {
		return amqp.Queue{}, err
	}
	// A passive declare of a missing queue closes its channel: use a throwaway one.
	ch, err := c.conn.Channel()
	if err != nil {
		return amqp.Queue{}, fmt.Errorf("open channel: %w", err)
	}
	defer ch.Close()
	q, err := ch.QueueDeclarePassive(queue, true, false, false, false, nil)
	if err != nil {
		return amqp.Queue{}, fmt.Errorf("inspect queue %s: %w", queue, err)
	}
	return q, nil
}

// Declare runs declare on a channel of its own, on the confirmer's connection: a declaration
// that fails closes its channel, not the one that publishes.
func (c *Confirmer) Declare(declare func(ch *amqp.Channel) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.connect(); err != nil {
		return err
	}
	ch, err := c.conn.Channel()
	if err != nil {
		return fmt.Errorf("open channel: %w", err)
	}
	defer ch.Close()
	return declare(ch)
}

// Connection returns the underlying connection, connecting if needed, for tools that need
// their own channels (the dlq command).
func (c *Confirmer) Connection() (*amqp.Connection, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.connect(); err != nil {
		return nil, err
	}
	return c.conn, nil
}

// Close closes the connection.
func (c *Confirmer) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closeLocked()
	return nil
}

func (c *Confirmer) closeLocked() {
	if c.conn != nil {
		_ = c.conn.Close()
	}
	c.conn, c.ch, c.returns = nil, nil, nil
}
