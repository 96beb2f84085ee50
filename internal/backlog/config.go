package backlog

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/eventworker/eventworker/publisher/amqpnodes"
)

// DefaultInterval is the time between two polls when Config.Interval is not set.
const DefaultInterval = 15 * time.Second

// DefaultTimeout bounds one poll when Config.Timeout is not set.
const DefaultTimeout = 10 * time.Second

// Config is what a Poller is built from.
type Config struct {
	// URL is the RabbitMQ URL (amqp:// or amqps://), or the comma-separated URLs of the nodes
	// of one cluster (amqpnodes.Parse), tried in turn.
	URL string
	// Observe, when set, is told the node (host:port) of each connection that opens (true)
	// and closes (false).
	Observe func(node string, connected bool)
	// TLS, when not nil, is the TLS configuration of an amqps:// URL (broker.TLSConfig).
	TLS *tls.Config
	// Interval is the time between two polls; DefaultInterval when zero.
	Interval time.Duration
	// Timeout bounds a poll: the dial and the declarations of every queue; DefaultTimeout when
	// zero. A broker that does not answer within it counts as unreachable.
	Timeout time.Duration
	// ConnectionName is the name the connection shows in RabbitMQ's management UI.
	ConnectionName string
	// Queues are the queues to read (QueuesOf).
	Queues []Queue
	// Metrics receive what is read; NewMetrics builds them.
	Metrics *Metrics
	// Logger logs a poll that fails (WARN once, until a poll succeeds again) and a missing
	// queue.
	Logger *slog.Logger
	// Consuming, when set, says whether the worker has declared its queues and consumes them:
	// Run's first poll waits for it, since the worker declares its queues only when it
	// connects. Nil: Run polls at once.
	Consuming func() bool
}

// ErrConfig marks a Config that Validate refuses.
var ErrConfig = errors.New("backlog configuration")

func (c *Config) setDefaults() {
	if c.Interval == 0 {
		c.Interval = DefaultInterval
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.ConnectionName == "" {
		c.ConnectionName = "eventworker-backlog"
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate returns every problem of the configuration, joined, or nil.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...))
	}
	if c.URL == "" {
		bad("URL: empty; want the RabbitMQ URL the worker consumes from")
	} else if _, err := amqpnodes.Parse(c.URL); err != nil {
		bad("URL: %v", err)
	}
	if c.Interval < 0 {
		bad("Interval: %s must not be negative", c.Interval)
	}
	if c.Timeout < 0 {
		bad("Timeout: %s must not be negative", c.Timeout)
	}
	if c.Metrics == nil {
		bad("Metrics: nil; build them with NewMetrics")
	}
	if len(c.Queues) == 0 {
		bad("Queues: none to watch")
	}
	seen := map[string]bool{}
	for _, q := range c.Queues {
		if q.Name == "" || q.Consumer == "" {
			bad("Queues: %+v needs a name and a consumer", q)
		}
		if !slices.Contains(AllKinds(), q.Kind) {
			bad("Queues: %s has kind %q, not one of %v", q.Name, q.Kind, AllKinds())
		}
		if seen[q.Name] {
			bad("Queues: %s listed twice", q.Name)
		}
		seen[q.Name] = true
	}
	return errors.Join(errs...)
}
