package backlog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/eventworker/eventworker/publisher/amqpnodes"
)

// ErrUnreachable marks a poll that could not reach the broker, or that the broker did not
// answer within the poll's timeout.
var ErrUnreachable = errors.New("RabbitMQ unreachable")

// Poller reads the depth and consumers of the worker's queues at an interval. It owns one
// connection and one channel, separate from the ones that consume and publish, so that a
// passive declare of a missing queue, which closes its channel, disturbs nothing else.
type Poller struct {
	cfg    Config
	dialer *amqpnodes.Dialer
	m      *Metrics
	log    *slog.Logger

	// mu guards conn and ch, which Poll opens and Close closes; the watchdog of a slow
	// poll closes the connection from its own goroutine.
	mu   sync.Mutex
	conn *amqp.Connection
	ch   *amqp.Channel

	// failing and missing remember what was logged, so that an outage or a missing queue is
	// logged when it begins and when it ends, not at every poll. Only Poll touches them.
	failing bool
	missing map[string]bool
}

// New checks cfg and returns a Poller; it connects at the first poll.
func New(cfg Config) (*Poller, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	nodes, _ := amqpnodes.Parse(cfg.URL) // Validate parsed it
	dialer, err := amqpnodes.NewDialer(amqpnodes.DialerConfig{
		Nodes: nodes, Client: cfg.ConnectionName, Logger: cfg.Logger, Observe: cfg.Observe,
		AMQP: amqp.Config{
			Properties:      amqp.Table{"connection_name": cfg.ConnectionName},
			Dial:            amqp.DefaultDial(cfg.Timeout),
			TLSClientConfig: cfg.TLS,
		},
	})
	if err != nil {
		return nil, err
	}
	return &Poller{cfg: cfg, dialer: dialer, m: cfg.Metrics, log: cfg.Logger, missing: map[string]bool{}}, nil
}

// consumingCheck is how often Run asks Config.Consuming before the first poll.
const consumingCheck = 250 * time.Millisecond

// Interval is the time between two polls.
func (p *Poller) Interval() time.Duration { return p.cfg.Interval }

// Run polls every interval until ctx ends, and closes the connection: at once, or, with
// Config.Consuming, once the worker consumes (it declares its queues when it connects, so an
// earlier poll would find them missing). A failed poll is logged and counted, never returned:
// the worker goes on without its queue gauges.
func (p *Poller) Run(ctx context.Context) {
	defer p.Close()
	if p.cfg.Consuming != nil {
		wait := time.NewTicker(consumingCheck)
		for !p.cfg.Consuming() {
			select {
			case <-ctx.Done():
				wait.Stop()
				return
			case <-wait.C:
			}
		}
		wait.Stop()
	}
	t := time.NewTicker(p.cfg.Interval)
	defer t.Stop()
	for {
		_ = p.Poll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Poll reads every queue once and updates the gauges. It returns an ErrUnreachable error when
// the broker could not be read (every queue's series are then removed), and nil otherwise,
// missing queues included (their series are removed and counted under ReasonMissing).
func (p *Poller) Poll(ctx context.Context) error {
	err := p.poll(ctx)
	if err != nil && ctx.Err() != nil {
		// Shutting down: the watchdog closed the connection; nothing failed.
		return err
	}
	if err != nil {
		p.m.PollErrors.WithLabelValues(ReasonUnreachable).Inc()
		p.m.dropAll()
		if !p.failing {
			p.log.Warn("cannot read the queues' depth from RabbitMQ; the queue gauges are absent until it answers", "error", err.Error())
		} else {
			p.log.Debug("queue depth poll failed", "error", err.Error())
		}
		p.failing = true
		return err
	}
	if p.failing {
		p.log.Info("reading the queues' depth from RabbitMQ again")
		p.failing = false
	}
	p.m.LastSuccess.SetToCurrentTime()
	return nil
}

// poll reads every queue, with a watchdog that closes the connection when the broker takes
// longer than the timeout (amqp091's calls take no context).
func (p *Poller) poll(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	deadline, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	stop := context.AfterFunc(deadline, p.Close)
	defer stop()

	for _, q := range p.cfg.Queues {
		ch, err := p.channel()
		if err != nil {
			return p.explain(deadline, err)
		}
		// Passive: the broker answers with the queue's counts, or closes the channel with
		// 404 when it does not exist; it never creates, consumes or changes anything.
		got, err := ch.QueueDeclarePassive(q.Name, false, false, false, false, nil)
		if err == nil {
			p.m.set(q, got.Messages, got.Consumers)
			if p.missing[q.Name] {
				p.log.Info("queue exists again", "queue", q.Name)
				delete(p.missing, q.Name)
			}
			continue
		}
		// A refusal for this queue closes the channel and leaves the connection open;
		// anything else (a closed connection, the watchdog) ends the poll.
		var ae *amqp.Error
		if !errors.As(err, &ae) || errors.Is(err, amqp.ErrClosed) || p.connClosed() {
			return p.explain(deadline, err)
		}
		p.dropChannel()
		p.m.drop(q)
		if ae.Code == amqp.NotFound {
			p.m.PollErrors.WithLabelValues(ReasonMissing).Inc()
			if !p.missing[q.Name] {
				p.log.Warn("a queue the worker declares does not exist; it is declared again when a consumer reconnects", "queue", q.Name, "consumer", q.Consumer, "kind", q.Kind)
				p.missing[q.Name] = true
			}
			continue
		}
		p.m.PollErrors.WithLabelValues(ReasonFailed).Inc()
		p.log.Warn("RabbitMQ refused to report a queue's depth", "queue", q.Name, "error", err.Error())
	}
	return nil
}

// explain wraps err as ErrUnreachable, naming the timeout when the watchdog closed the
// connection, and forgets the connection.
func (p *Poller) explain(deadline context.Context, err error) error {
	p.Close()
	if errors.Is(deadline.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w: no answer within %s: %v", ErrUnreachable, p.cfg.Timeout, err)
	}
	return fmt.Errorf("%w: %w", ErrUnreachable, err)
}

// channel returns the open channel, dialling and opening one when needed. The network calls
// run without the mutex, so that the watchdog's Close can cut them short when the broker
// freezes.
func (p *Poller) channel() (*amqp.Channel, error) {
	p.mu.Lock()
	conn, ch := p.conn, p.ch
	p.mu.Unlock()
	if conn == nil || conn.IsClosed() {
		var err error
		if conn, _, err = p.dialer.Dial(); err != nil {
			return nil, fmt.Errorf("connect: %w", err)
		}
		p.mu.Lock()
		p.conn, p.ch, ch = conn, nil, nil
		p.mu.Unlock()
	}
	if ch == nil || ch.IsClosed() {
		var err error
		if ch, err = conn.Channel(); err != nil {
			return nil, fmt.Errorf("open channel: %w", err)
		}
		p.mu.Lock()
		if p.conn == conn {
			p.ch = ch
		}
		p.mu.Unlock()
	}
	return ch, nil
}

func (p *Poller) connClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.conn == nil || p.conn.IsClosed()
}

// dropChannel forgets the channel the broker closed; the next queue opens another.
func (p *Poller) dropChannel() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ch = nil
}

// Close closes the connection; a later Poll opens a new one. It does not wait for the
// broker's close-ok beyond the poll's timeout: a broker that froze never sends it.
func (p *Poller) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conn != nil {
		_ = p.conn.CloseDeadline(time.Now().Add(min(p.cfg.Timeout, time.Second)))
	}
	p.conn, p.ch = nil, nil
}
