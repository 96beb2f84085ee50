package publisher

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/eventworker/eventworker/publisher/amqpnodes"
	"github.com/eventworker/eventworker/registry"
)

// Defaults applied by Config.setDefaults.
const (
	DefaultConfirmTimeout = 5 * time.Second
	DefaultChannels       = 4
	DefaultConnectionName = "eventworker-publisher"
)

// maxProducer is the envelope schema's limit for producer, which is also sent as AMQP's app_id
// (a short string of at most 255 bytes).
const maxProducer = 128

// Config configures a Publisher. Zero values take the defaults noted on each field.
type Config struct {
	// URL is the AMQP URL of the broker, e.g. amqp://user:pass@host:5672/vhost, or the
	// comma-separated URLs of the nodes of one cluster, with the same vhost
	// (amqp://u:p@rabbit-1:5672/shop,amqp://u:p@rabbit-2:5672/shop; see package amqpnodes).
	// The publisher connects to the first node that answers; when its connection dies, the
	// next publish connects to the next node, round robin. New requires it; NewWithSender
	// ignores it.
	URL string
	// TLSConfig, when set, is used for amqps:// URLs instead of one built from each URL's
	// cacertfile, certfile and keyfile parameters (system CAs when there are none). Its
	// ServerName, when empty, is each node's server_name_indication parameter, or else its host.
	TLSConfig *tls.Config
	// NodeObserver, when set, is told the node of each connection that opens and closes: for
	// a metric or a log of the node the publisher is on.
	NodeObserver NodeObserver
	// Exchange is the topic exchange to publish to; default: the registry's Exchange(), "events".
	Exchange string
	// Producer is the name of the producing service, sent as the envelope's producer and as the
	// AMQP app_id; empty leaves both out.
	Producer string
	// Registry validates every event before it is sent; default: registry.Default().
	Registry *registry.Registry
	// ConfirmTimeout bounds the wait for the broker's publisher confirm; default 5s.
	ConfirmTimeout time.Duration
	// Channels is the size of the pool of confirm-mode channels, the number of publishes in
	// flight at once; default 4.
	Channels int
	// ConnectionName is the connection_name client property, shown by the broker's tools;
	// default: Producer, or "eventworker-publisher" when that is empty too.
	ConnectionName string
	// Logger receives connection events (close, redial, retry); default: discard.
	Logger *slog.Logger
	// TracerProvider makes the "send" span of every publish, a child of the caller's span;
	// default: the provider of the span in the caller's context (the program's, when it
	// traces), and none without one. Whatever the provider, the caller's trace context travels
	// in the traceparent and tracestate headers, so consumers continue the caller's trace.
	TracerProvider trace.TracerProvider
}

// NodeObserver follows the RabbitMQ node a publisher is connected to.
type NodeObserver interface {
	// ObserveNode is called with a node's host:port (never credentials) and true when a
	// connection to it opens, and false when that connection closes.
	ObserveNode(node string, connected bool)
}

// setDefaults fills the zero fields. A default registry that fails to load is left nil for
// Validate to report.
func (c *Config) setDefaults() {
	if c.Registry == nil {
		if r, err := registry.Default(); err == nil {
			c.Registry = r
		}
	}
	if c.Exchange == "" && c.Registry != nil {
		c.Exchange = c.Registry.Exchange()
	}
	if c.ConfirmTimeout == 0 {
		c.ConfirmTimeout = DefaultConfirmTimeout
	}
	if c.Channels == 0 {
		c.Channels = DefaultChannels
	}
	if c.ConnectionName == "" {
		c.ConnectionName = c.Producer
	}
	if c.ConnectionName == "" {
		c.ConnectionName = DefaultConnectionName
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate reports every problem of the config at once; the error matches ErrInvalidConfig. An
// empty URL is New's concern, not Validate's, since NewWithSender needs none.
func (c Config) Validate() error {
	var problems []error
	if c.URL != "" {
		if _, err := amqpnodes.Parse(c.URL); err != nil {
			problems = append(problems, fmt.Errorf("url: %w", err))
		}
	}
	if c.Registry == nil {
		_, err := registry.Default()
		problems = append(problems, fmt.Errorf("registry: none given and the embedded one does not load: %w", err))
	}
	if c.Exchange == "" {
		problems = append(problems, errors.New("exchange: empty"))
	}
	if len(c.Producer) > maxProducer {
		problems = append(problems, fmt.Errorf("producer: %d bytes, the envelope allows at most %d", len(c.Producer), maxProducer))
	}
	if c.ConfirmTimeout <= 0 {
		problems = append(problems, fmt.Errorf("confirm timeout: %s, must be positive", c.ConfirmTimeout))
	}
	if c.Channels < 1 {
		problems = append(problems, fmt.Errorf("channels: %d, the pool needs at least 1", c.Channels))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, errors.Join(problems...))
	}
	return nil
}

// redactURL renders an AMQP URL or list of them for logs and errors, passwords masked.
func redactURL(raw string) string { return amqpnodes.Redact(raw) }
