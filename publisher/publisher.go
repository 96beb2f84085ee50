package publisher

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/eventworker/eventworker/registry"
)

// Publisher validates events and sends them. It is safe for concurrent use.
type Publisher struct {
	cfg    Config
	log    *slog.Logger
	sender sender

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

// sender moves a validated body to the bus.
type sender interface {
	send(ctx context.Context, env envelope) error
	close() error
}

// errNoURL is part of New's error when Config.URL is empty.
var errNoURL = errors.New("url: empty, New needs the broker's AMQP URL")

// New connects to the broker at cfg.URL, declares the exchange with Kombu's flags for a topic
// exchange, and opens cfg.Channels confirm-mode channels. ctx bounds the dial and the setup.
func New(ctx context.Context, cfg Config) (*Publisher, error) {
	cfg.setDefaults()
	var problems []error
	if cfg.URL == "" {
		problems = append(problems, fmt.Errorf("%w: %w", ErrInvalidConfig, errNoURL))
	}
	if err := cfg.Validate(); err != nil {
		problems = append(problems, err)
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("new publisher: %w", errors.Join(problems...))
	}
	s, err := newAMQPSender(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("new publisher: %w", err)
	}
	return &Publisher{cfg: cfg, log: cfg.Logger, sender: s}, nil
}

// Sender carries validated events to a transport other than RabbitMQ's (see NewWithSender);
// package watermillbus has one for any Watermill publisher, such as gochannel's.
type Sender interface {
	// Send hands over ev, validated and with its envelope filled, and body, the JSON that goes
	// on the wire.
	Send(ctx context.Context, ev *registry.Event, body []byte) error
	// Close releases the transport.
	Close() error
}

// NewWithSender publishes through s, for in-process use and tests: every event is validated and
// its envelope filled as New's are; cfg.URL is ignored. Close closes s.
func NewWithSender(s Sender, cfg Config) (*Publisher, error) {
	if s == nil {
		return nil, fmt.Errorf("new publisher: %w: sender is nil", ErrInvalidConfig)
	}
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("new publisher: %w", err)
	}
	return &Publisher{cfg: cfg, log: cfg.Logger, sender: customSender{s}}, nil
}

// customSender adapts a Sender to the publisher's own sender.
type customSender struct{ s Sender }

func (c customSender) send(ctx context.Context, env envelope) error {
	return c.s.Send(ctx, env.event, env.body)
}

func (c customSender) close() error { return c.s.Close() }

// Publish fills ev's envelope, validates it and sends it, and returns the event as sent. An
// invalid event is an error matching registry.ErrInvalid that names every failure, and nothing
// is sent. A send that failed after the envelope was built (ErrUnroutable, ErrNacked,
// ErrConfirmTimeout, ErrConnectionLost, ctx done) still returns the event, so that the caller
// can publish it again under the same event_id.
func (p *Publisher) Publish(ctx context.Context, ev Event) (*registry.Event, error) {
	if p.closed.Load() {
		return nil, ErrClosed
	}
	env, err := buildEnvelope(ctx, p.cfg.Registry, p.cfg.Producer, ev)
	if err != nil {
		return nil, err
	}
	ctx, span := p.startSend(ctx, env.event)
	err = p.sender.send(ctx, env)
	endSend(span, err)
	if err != nil {
		return env.event, fmt.Errorf("publish %s event %s: %w", env.event.Type, env.event.ID, err)
	}
	return env.event, nil
}

// PublishPayload publishes d as the data of a new event of d's type for tenantID and returns its
// event_id (also on a send failure, as Publish does).
func (p *Publisher) PublishPayload(ctx context.Context, tenantID string, d registry.Payload) (string, error) {
	ev, err := p.Publish(ctx, Event{TenantID: tenantID, Data: d})
	if ev == nil {
		return "", err
	}
	return ev.ID, err
}

// Close stops the publisher: Publish fails with ErrClosed from then on, and the AMQP channels
// and connection (or the Sender) are closed. Calling it again returns the first
// result.
func (p *Publisher) Close() error {
	p.closeOnce.Do(func() {
		p.closed.Store(true)
		if err := p.sender.close(); err != nil {
			p.closeErr = fmt.Errorf("close publisher: %w", err)
		}
	})
	return p.closeErr
}
