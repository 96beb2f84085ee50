package publisher

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/eventworker/eventworker/publisher/amqpnodes"
)

// Exchange flags of Kombu's Exchange(name, type="topic"); whoever declares first wins, so any
// difference is a PRECONDITION_FAILED channel error for the other side.
const (
	exchangeKind       = amqp.ExchangeTopic
	exchangeDurable    = true
	exchangeAutoDelete = false
	exchangeInternal   = false
)

const (
	// dialTimeout bounds the TCP connect and the AMQP handshake of one dial.
	dialTimeout = 10 * time.Second
	// returnBuffer holds basic.returns until the publish that caused them reads them; one
	// publish at a time per channel causes at most one.
	returnBuffer = 4
)

// session is one AMQP connection and its pool of confirm-mode channels.
type session struct {
	// node is the host:port of the connection's node.
	node string
	conn *amqp.Connection
	// idle holds the channels no publish is using; a publish takes one and gives it back.
	idle chan *confirmChannel
	// done is closed when the connection has closed, for whatever reason.
	done chan struct{}
	log  *slog.Logger
}

// confirmChannel is a channel in confirm mode with its basic.return and close listeners.
type confirmChannel struct {
	ch      *amqp.Channel
	returns chan amqp.Return
	closes  chan *amqp.Error
}

// newDialer returns the dialer of cfg.URL's nodes; Validate has checked the URL.
func newDialer(cfg Config) (*amqpnodes.Dialer, error) {
	nodes, err := amqpnodes.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("%w: url: %w", ErrInvalidConfig, err)
	}
	var observe func(string, bool)
	if cfg.NodeObserver != nil {
		observe = cfg.NodeObserver.ObserveNode
	}
	props := amqp.NewConnectionProperties()
	props.SetClientConnectionName(cfg.ConnectionName)
	// The dialer clones the TLS configuration for each node: amqp091 fills an empty ServerName.
	return amqpnodes.NewDialer(amqpnodes.DialerConfig{
		Nodes: nodes, Client: cfg.ConnectionName, Logger: cfg.Logger, Observe: observe,
		AMQP: amqp.Config{Properties: props, TLSClientConfig: cfg.TLSConfig},
	})
}

// dialSession connects to the next node that answers, declares the exchange and fills the
// channel pool.
func dialSession(ctx context.Context, cfg Config, dialer *amqpnodes.Dialer) (*session, error) {
	conn, node, err := dialer.DialUsing(contextDial(ctx))
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", redactURL(cfg.URL), err)
	}
	s := &session{
		node: node.Addr,
		conn: conn,
		idle: make(chan *confirmChannel, cfg.Channels),
		done: make(chan struct{}),
		log:  cfg.Logger,
	}
	go s.watch(conn.NotifyClose(make(chan *amqp.Error, 1)))
	if err := declareExchange(conn, cfg.Exchange); err != nil {
		_ = conn.Close()
		return nil, err
	}
	for range cfg.Channels {
		cc, err := openConfirmChannel(conn)
		if err != nil {
			_ = conn.Close()
			return nil, fmt.Errorf("fill channel pool: %w", err)
		}
		s.idle <- cc
	}
	return s, nil
}

// contextDial dials TCP bounded by ctx and dialTimeout; the deadline it sets also bounds the
// AMQP handshake, and amqp091 clears it once the connection is open.
func contextDial(ctx context.Context) func(network, addr string) (net.Conn, error) {
	return func(network, addr string) (net.Conn, error) {
		deadline := time.Now().Add(dialTimeout)
		if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
			deadline = d
		}
		d := net.Dialer{Deadline: deadline}
		conn, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		if err := conn.SetDeadline(deadline); err != nil {
			_ = conn.Close()
			return nil, err
		}
		return conn, nil
	}
}

// declareExchange declares the exchange on a channel of its own: a flag mismatch closes the
// channel it happens on, which must not be one of the pool's.
func declareExchange(conn *amqp.Connection, name string) error {
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("open channel to declare exchange %q: %w", name, err)
	}
	if err := ch.ExchangeDeclare(name, exchangeKind, exchangeDurable, exchangeAutoDelete, exchangeInternal, false, nil); err != nil {
		return fmt.Errorf("declare exchange %q (topic, durable, not auto-delete: Kombu's flags; "+
			"PRECONDITION_FAILED means it exists with other flags): %w", name, err)
	}
	_ = ch.Close()
	return nil
}

func openConfirmChannel(conn *amqp.Connection) (*confirmChannel, error) {
	ch, err := conn.Channel()
	if err != nil {
		return nil, fmt.Errorf("open channel: %w", err)
	}
	if err := ch.Confirm(false); err != nil {
		_ = ch.Close()
		return nil, fmt.Errorf("put channel in confirm mode: %w", err)
	}
	return &confirmChannel{
		ch:      ch,
		returns: ch.NotifyReturn(make(chan amqp.Return, returnBuffer)),
		closes:  ch.NotifyClose(make(chan *amqp.Error, 1)),
	}, nil
}

// watch logs why the connection closed and marks the session dead.
func (s *session) watch(closes chan *amqp.Error) {
	if err, ok := <-closes; ok && err != nil {
		s.log.Warn("AMQP connection closed; the next publish reconnects",
			"code", err.Code, "reason", err.Reason, "server", err.Server)
	}
	close(s.done)
}

// alive reports whether the connection is still open. IsClosed is set before any channel of the
// connection is shut down, so it is exact even before watch has run.
func (s *session) alive() bool {
	select {
	case <-s.done:
		return false
	default:
		return !s.conn.IsClosed()
	}
}

// acquire takes an idle channel, waiting for one while every channel is busy.
func (s *session) acquire(ctx context.Context) (*confirmChannel, error) {
	select {
	case cc := <-s.idle:
		return cc, nil
	case <-s.done:
		return nil, connLost("connection closed while waiting for a free channel")
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for a free channel: %w", ctx.Err())
	}
}

// release gives a channel back to the pool. A channel that the broker closed, or that may still
// receive a late confirm or return for an abandoned publish, is replaced by a new one in the
// background, so that the pool keeps its size and the caller does not wait for the broker.
func (s *session) release(cc *confirmChannel, reusable bool) {
	if reusable && !cc.ch.IsClosed() {
		s.idle <- cc // never blocks: the pool never holds more than its capacity
		return
	}
	go func() {
		if !cc.ch.IsClosed() {
			_ = cc.ch.Close()
		}
		if !s.alive() {
			return
		}
		fresh, err := openConfirmChannel(s.conn)
		if err != nil {
			// A connection that cannot open channels is of no use: closing it makes the next
			// publish dial a new one.
			s.log.Warn("AMQP channel could not be replaced; closing the connection", "err", err)
			_ = s.conn.Close()
			return
		}
		s.idle <- fresh
	}()
}

// close closes the connection and with it every channel.
func (s *session) close() error {
	if s.conn.IsClosed() {
		return nil
	}
	if err := s.conn.Close(); err != nil {
		return fmt.Errorf("close AMQP connection: %w", err)
	}
	return nil
}
