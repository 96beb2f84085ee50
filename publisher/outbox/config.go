package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/eventworker/eventworker/publisher"
	"github.com/eventworker/eventworker/registry"
)

// Defaults applied by Config.setDefaults.
const (
	DefaultBatchSize       = 100
	DefaultTenants         = 16
	DefaultPollInterval    = 5 * time.Second
	DefaultMinBackoff      = 200 * time.Millisecond
	DefaultMaxBackoff      = 30 * time.Second
	DefaultRetention       = 24 * time.Hour
	DefaultCleanupInterval = time.Minute
)

// Config configures a Relay. Zero values take the defaults noted on each field.
type Config struct {
	// DSN is the PostgreSQL connection string of the producer's database, e.g.
	// postgres://relay@db:5432/shop?search_path=orders; the outbox table is found through the
	// search_path. Required.
	DSN string
	// Publisher configures the AMQP publisher the rows are sent with; its URL is required.
	Publisher publisher.Config
	// BatchSize is the most rows one transaction of the relay sends; default 100.
	BatchSize int
	// Tenants is the most tenants one transaction takes; default 16. A tenant is served by one
	// relay at a time.
	Tenants int
	// PollInterval is how often the relay looks for rows without a notification, which
	// covers notifications lost while its listening connection was down; default 5s.
	PollInterval time.Duration
	// MinBackoff and MaxBackoff bound the exponential wait after a failure (the broker or the
	// database down); defaults 200ms and 30s.
	MinBackoff, MaxBackoff time.Duration
	// Retention is how long sent rows are kept before they are deleted; default 24h.
	Retention time.Duration
	// CleanupInterval is how often sent rows older than Retention are deleted; default 1m.
	CleanupInterval time.Duration
	// Registerer receives the relay's metrics; default: none registered.
	Registerer prometheus.Registerer
	// Logger receives the relay's progress and failures; default: discard.
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.Tenants == 0 {
		c.Tenants = DefaultTenants
	}
	if c.PollInterval == 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.MinBackoff == 0 {
		c.MinBackoff = DefaultMinBackoff
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	if c.Retention == 0 {
		c.Retention = DefaultRetention
	}
	if c.CleanupInterval == 0 {
		c.CleanupInterval = DefaultCleanupInterval
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Publisher.Logger == nil {
		c.Publisher.Logger = c.Logger
	}
}

// Validate reports every problem of the config at once; the error matches ErrInvalidConfig.
func (c Config) Validate() error {
	var problems []error
	if c.DSN == "" {
		problems = append(problems, errors.New("dsn: empty, the relay needs the PostgreSQL database of the outbox"))
	} else if _, err := pgx.ParseConfig(c.DSN); err != nil {
		problems = append(problems, fmt.Errorf("dsn: %w", err))
	}
	if c.Publisher.URL == "" {
		problems = append(problems, errors.New("publisher url: empty, the relay needs the broker's AMQP URL"))
	}
	// NewWithSender applies the publisher's defaults and validates the rest, URL included.
	if p, err := publisher.NewWithSender(nopSender{}, c.Publisher); err != nil {
		problems = append(problems, fmt.Errorf("publisher: %w", err))
	} else {
		_ = p.Close()
	}
	positive := []struct {
		name string
		v    int64
	}{
		{"batch size", int64(c.BatchSize)}, {"tenants", int64(c.Tenants)},
		{"poll interval", int64(c.PollInterval)}, {"min backoff", int64(c.MinBackoff)},
		{"max backoff", int64(c.MaxBackoff)}, {"retention", int64(c.Retention)},
		{"cleanup interval", int64(c.CleanupInterval)},
	}
	for _, p := range positive {
		if p.v <= 0 {
			problems = append(problems, fmt.Errorf("%s: %d, must be positive", p.name, p.v))
		}
	}
	if c.MaxBackoff < c.MinBackoff {
		problems = append(problems, fmt.Errorf("max backoff %s is below min backoff %s", c.MaxBackoff, c.MinBackoff))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, errors.Join(problems...))
	}
	return nil
}

// nopSender lets Validate check a publisher config without connecting.
type nopSender struct{}

func (nopSender) Send(context.Context, *registry.Event, []byte) error { return nil }
func (nopSender) Close() error                                        { return nil }
