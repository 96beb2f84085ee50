package config

import (
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Config is the worker's effective configuration.
type Config struct {
	AMQPURL string
	// AMQPCAFile, when set, is the PEM file of the CAs trusted for an amqps:// RabbitMQ.
	AMQPCAFile string
	RedisURL   string
	// RedisCAFile, when set, is the PEM file of the CAs trusted for a rediss:// Redis.
	RedisCAFile  string
	HTTPAddr     string
	QueuePrefix  string
	QueueType    string
	LogLevel     string
	RegistryFile string
	CachePrefix  string
	// CacheTTL is the lifetime of the product entries the worker writes.
	CacheTTL time.Duration

	// Concurrency is how many messages of one consumer's queue are handled at once, unless
	// ConsumerConcurrency names that consumer.
	Concurrency         int
	ConsumerConcurrency map[string]int
	Prefetch            int

	HandlerTimeout  time.Duration
	QuickRetries    int
	QuickBackoff    time.Duration
	RetryDelays     []time.Duration
	DeliveryLimit   int
	IdempotencyTTL  time.Duration
	LeaseTTL        time.Duration
	ShutdownTimeout time.Duration
	MaxBodyBytes    int
	// PauseAfter is how many "service unavailable" outcomes in a row pause a consumer (0: never);
	// PauseMax caps the interval between its probes while paused.
	PauseAfter int
	PauseMax   time.Duration

	// MailURL chooses how emails leave: smtp://, smtps://, file://DIR or log://.
	MailURL string
	// MailFrom is the platform's sender, "Name <address>" or a bare address; the display
	// name becomes the shop's name once its profile is known.
	MailFrom string
	MailRate float64
	// MailConnections is how many SMTP connections are kept open and reused.
	MailConnections int
	MailTimeout     time.Duration
	TemplateDir     string
}

// ExitMargin is how long after EVENTWORKER_SHUTDOWN_TIMEOUT the process exits at the latest,
// whatever the services it talks to do; a container's grace period must be longer than both.
const ExitMargin = 2 * time.Second

// MinLeaseTTL is the shortest EVENTWORKER_LEASE_TTL.
const MinLeaseTTL = 3 * time.Second

// Queue types.
const (
	QueueQuorum  = "quorum"
	QueueClassic = "classic"
)

// ConcurrencyOf returns how many messages of a consumer's queue are handled at once.
func (c *Config) ConcurrencyOf(consumer string) int {
	if n, ok := c.ConsumerConcurrency[consumer]; ok {
		return n
	}
	return c.Concurrency
}

// maxConcurrency is the highest concurrency of any consumer.
func (c *Config) maxConcurrency() int {
	most := c.Concurrency
	for _, n := range c.ConsumerConcurrency {
		most = max(most, n)
	}
	return most
}

// MaxAttempts is how many times a transiently failing event is tried before it is dead-lettered:
// the quick in-process tries, once per durable delay, and once more after the last delay.
func (c *Config) MaxAttempts() int { return len(c.RetryDelays) + 1 }

// setDefaults sets every setting to its default; Load then applies the environment and flags.
func (c *Config) setDefaults() {
	for _, s := range settings {
		if s.def != "" {
			if err := s.set(c, s.def); err != nil {
				panic(fmt.Sprintf("config: default of %s: %v", s.env, err))
			}
		}
	}
}

// Default returns the configuration with every default applied.
func Default() *Config {
	c := &Config{}
	c.setDefaults()
	return c
}

// Validate returns every problem of the configuration joined, or nil.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	checkURL := func(name, raw string, schemes ...string) {
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			bad("%s: %q is not a URL with a host (example: %s://host:port/)", name, redactURL(raw), schemes[0])
			return
		}
		for _, s := range schemes {
			if u.Scheme == s {
				return
			}
		}
		bad("%s: scheme %q is not one of %s", name, u.Scheme, strings.Join(schemes, ", "))
	}
	checkURL("EVENTWORKER_AMQP_URL", c.AMQPURL, "amqp", "amqps")
	if u, err := url.Parse(c.AMQPURL); err == nil && c.AMQPCAFile != "" && u.Scheme != "amqps" {
		bad("EVENTWORKER_AMQP_CA_FILE is set but EVENTWORKER_AMQP_URL uses %s://, where it would be ignored: use amqps://", u.Scheme)
	}
	redisSchemes := []string{"redis", "rediss", "unix", "redis+sentinel", "rediss+sentinel", "redis+cluster", "rediss+cluster"}
	if u, err := url.Parse(c.RedisURL); err != nil || !slices.Contains(redisSchemes, u.Scheme) || (u.Host == "" && u.Scheme != "unix") {
		bad("EVENTWORKER_REDIS_URL: %q is not redis://host:6379/0, rediss://, unix:///path, redis+sentinel://h1,h2/MASTER or redis+cluster://h1,h2", redactURL(c.RedisURL))
	}
	if c.QueuePrefix == "" || strings.ContainsAny(c.QueuePrefix, " *#") {
		bad("EVENTWORKER_QUEUE_PREFIX: %q must be non-empty, without spaces, * or #", c.QueuePrefix)
	}
	if c.QueueType != QueueQuorum && c.QueueType != QueueClassic {
		bad("EVENTWORKER_QUEUE_TYPE: %q is neither %s nor %s", c.QueueType, QueueQuorum, QueueClassic)
	}
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		bad("EVENTWORKER_LOG_LEVEL: %q is not one of debug, info, warn, error", c.LogLevel)
	}
	if c.Concurrency < 1 {
		bad("EVENTWORKER_CONCURRENCY: %d must be at least 1", c.Concurrency)
	}
	for name, n := range c.ConsumerConcurrency {
		if n < 1 {
			bad("EVENTWORKER_CONSUMER_CONCURRENCY: %s=%d must be at least 1", name, n)
		}
	}
	if c.Prefetch < 1 {
		bad("EVENTWORKER_PREFETCH: %d must be at least 1", c.Prefetch)
	}
	if most := c.maxConcurrency(); c.Prefetch >= 1 && most > c.Prefetch {
		bad("EVENTWORKER_PREFETCH: %d is below the concurrency %d: the handlers beyond it would never get a message; raise it to at least %d (twice is better: finished messages are acknowledged in batches)", c.Prefetch, most, most)
	}
	positive := map[string]time.Duration{
		"EVENTWORKER_HANDLER_TIMEOUT":  c.HandlerTimeout,
		"EVENTWORKER_IDEMPOTENCY_TTL":  c.IdempotencyTTL,
		"EVENTWORKER_LEASE_TTL":        c.LeaseTTL,
		"EVENTWORKER_SHUTDOWN_TIMEOUT": c.ShutdownTimeout,
		"EVENTWORKER_MAIL_TIMEOUT":     c.MailTimeout,
		"EVENTWORKER_CACHE_TTL":        c.CacheTTL,
	}
	for _, name := range sortedKeys(positive) {
		if positive[name] <= 0 {
			bad("%s: %s must be positive", name, positive[name])
		}
	}
	// The timeouts nest, so a shutdown's deadline is one: a send ends within its handler's run,
	// and a handler within the shutdown (whose grace period, in the manifests, is longer still).
	if c.HandlerTimeout > 0 && c.ShutdownTimeout > 0 && c.HandlerTimeout >= c.ShutdownTimeout {
		bad("EVENTWORKER_HANDLER_TIMEOUT: %s must be shorter than EVENTWORKER_SHUTDOWN_TIMEOUT (%s), or a handler outlives the shutdown's deadline", c.HandlerTimeout, c.ShutdownTimeout)
	}
	if c.MailTimeout > 0 && c.HandlerTimeout > 0 && c.MailTimeout > c.HandlerTimeout {
		bad("EVENTWORKER_MAIL_TIMEOUT: %s must be at most EVENTWORKER_HANDLER_TIMEOUT (%s): an SMTP send runs within its handler", c.MailTimeout, c.HandlerTimeout)
	}
	if c.LeaseTTL > 0 && c.LeaseTTL < MinLeaseTTL {
		bad("EVENTWORKER_LEASE_TTL: %s is shorter than %s: the lease is renewed every third of it, and a renewal needs time to reach Redis", c.LeaseTTL, MinLeaseTTL)
	}
	if c.QuickRetries < 0 {
		bad("EVENTWORKER_RETRY_QUICK: %d must not be negative", c.QuickRetries)
	}
	if c.QuickBackoff < 0 {
		bad("EVENTWORKER_RETRY_BACKOFF: %s must not be negative", c.QuickBackoff)
	}
	for _, d := range c.RetryDelays {
		if d < time.Second {
			bad("EVENTWORKER_RETRY_DELAYS: %s is shorter than 1s; use EVENTWORKER_RETRY_QUICK for fast retries", d)
		}
	}
	if c.DeliveryLimit < 1 {
		bad("EVENTWORKER_DELIVERY_LIMIT: %d must be at least 1", c.DeliveryLimit)
	}
	if c.PauseAfter < 0 {
		bad("EVENTWORKER_PAUSE_AFTER: %d must not be negative (0 never pauses)", c.PauseAfter)
	}
	if c.PauseMax < time.Second {
		bad("EVENTWORKER_PAUSE_MAX: %s is shorter than 1s, the first interval between probes", c.PauseMax)
	}
	if c.MaxBodyBytes < 1024 {
		bad("EVENTWORKER_MAX_BODY_BYTES: %d must be at least 1024", c.MaxBodyBytes)
	}
	if u, err := url.Parse(c.MailURL); err != nil || !slices.Contains([]string{"smtp", "smtps", "file", "log"}, u.Scheme) {
		bad("EVENTWORKER_MAIL_URL: %q is not smtp://user:pass@host:587, smtps://user:pass@host:465, file://DIR or log://", redactURL(c.MailURL))
	}
	if a, err := mail.ParseAddress(c.MailFrom); err != nil || strings.ContainsAny(c.MailFrom, "\r\n") {
		bad("EVENTWORKER_MAIL_FROM: %q is not an address like \"Shop <noreply@example.com>\"", c.MailFrom)
	} else if !strings.Contains(a.Address, "@") {
		bad("EVENTWORKER_MAIL_FROM: %q has no domain", c.MailFrom)
	}
	if c.MailConnections < 1 || c.MailConnections > 64 {
		bad("EVENTWORKER_MAIL_CONNECTIONS: %d must be between 1 and 64", c.MailConnections)
	}
	if c.MailRate < 0 {
		bad("EVENTWORKER_MAIL_RATE: %g must not be negative (0 means no limit)", c.MailRate)
	}
	if c.HTTPAddr == "" {
		bad("EVENTWORKER_HTTP_ADDR: must not be empty (example: :9090)")
	}
	return errors.Join(errs...)
}

// redactURL removes the password from a URL, for messages and `eventworker config`.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
