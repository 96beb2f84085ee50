package config

import (
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/eventworker/eventworker/publisher/amqpnodes"
)

// Config is the worker's effective configuration.
type Config struct {
	AMQPURL string
	// AMQPCAFile, when set, is the PEM file of the CAs trusted for an amqps:// RabbitMQ.
	AMQPCAFile string
	RedisURL   string
	// RedisCAFile, when set, is the PEM file of the CAs trusted for a rediss:// Redis.
	RedisCAFile string
	HTTPAddr    string
	// OutboxDSN is the PostgreSQL URL of the producers' outbox that `eventworker relay` sends
	// from; the worker itself does not use it.
	OutboxDSN string
	// DebugAddr, when set, is the listen address of the debug listener (profiles and the
	// worker's state); empty: no debug listener.
	DebugAddr    string
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
	// BacklogInterval is how often the queues' depth is read from RabbitMQ; 0 turns it off.
	BacklogInterval time.Duration

	// MailURL chooses how emails leave: smtp://, smtps://, file://DIR or log://.
	MailURL string
	// MailFrom is the platform's sender, "Name <address>" or a bare address; the display
	// name signs owner emails, and becomes the shop's name in customer emails once its profile
	// is known.
	MailFrom string
	// PlatformName signs owner emails; empty: MailFrom's display name.
	PlatformName string
	// PlatformSupportEmail is where shop owners write to the platform: the Reply-To and footer
	// contact of owner emails. Empty: none.
	PlatformSupportEmail string
	// MailBounce is the envelope sender; MailRedirect the one recipient of every email
	// (staging). Empty: off.
	MailBounce, MailRedirect string
	// MailHeaders are extra header fields, "Name=value;..." (see ParseMailHeaders).
	MailHeaders string
	// MailDisable lists emails not to send (see ParseMailDisable).
	MailDisable string
	MailRate    float64
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

// Validate returns every problem of the settings that no component checks for itself,
// joined, or nil: the services' URLs, the log level, the HTTP address, the mail settings, the
// stores' TTLs, the shortest durable retry delay, and how the timeouts of the worker and the
// mailer nest. The worker validates its own configuration (worker.Config.Validate); app.Check
// runs both and names every problem by its setting.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	c.validateServices(bad)
	c.validateMail(bad)
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		bad("EVENTWORKER_LOG_LEVEL: %q is not one of debug, info, warn, error", c.LogLevel)
	}
	if c.HTTPAddr == "" {
		bad("EVENTWORKER_HTTP_ADDR: must not be empty (example: :9090)")
	}
	c.validateDebugAddr(bad)
	positive := map[string]time.Duration{
		"EVENTWORKER_IDEMPOTENCY_TTL": c.IdempotencyTTL,
		"EVENTWORKER_LEASE_TTL":       c.LeaseTTL,
		"EVENTWORKER_MAIL_TIMEOUT":    c.MailTimeout,
		"EVENTWORKER_CACHE_TTL":       c.CacheTTL,
	}
	for _, name := range sortedKeys(positive) {
		if positive[name] <= 0 {
			bad("%s: %s must be positive", name, positive[name])
		}
	}
	if c.LeaseTTL > 0 && c.LeaseTTL < MinLeaseTTL {
		bad("EVENTWORKER_LEASE_TTL: %s is shorter than %s: the lease is renewed every third of it, and a renewal needs time to reach Redis", c.LeaseTTL, MinLeaseTTL)
	}
	if c.BacklogInterval < 0 || (c.BacklogInterval > 0 && c.BacklogInterval < time.Second) {
		bad("EVENTWORKER_BACKLOG_INTERVAL: %s must be 0 (off) or at least 1s", c.BacklogInterval)
	}
	for _, d := range c.RetryDelays {
		if d < time.Second {
			bad("EVENTWORKER_RETRY_DELAYS: %s is shorter than 1s; use EVENTWORKER_RETRY_QUICK for fast retries", d)
		}
	}
	// A send runs within its handler's run (the worker nests the handler in the shutdown).
	if c.MailTimeout > 0 && c.HandlerTimeout > 0 && c.MailTimeout > c.HandlerTimeout {
		bad("EVENTWORKER_MAIL_TIMEOUT: %s must be at most EVENTWORKER_HANDLER_TIMEOUT (%s): an SMTP send runs within its handler", c.MailTimeout, c.HandlerTimeout)
	}
	return errors.Join(errs...)
}

// validateServices checks the URLs of RabbitMQ and Redis.
func (c *Config) validateServices(bad func(string, ...any)) {
	nodes, err := amqpnodes.Parse(c.AMQPURL)
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range joined.Unwrap() {
			bad("EVENTWORKER_AMQP_URL: %w", e)
		}
	}
	if c.AMQPCAFile != "" {
		for i, n := range nodes {
			if n.URI.Scheme != "amqps" {
				bad("EVENTWORKER_AMQP_CA_FILE is set but node %d of EVENTWORKER_AMQP_URL (%s) uses %s://, where it would be ignored: use amqps://", i+1, n.Addr, n.URI.Scheme)
			}
		}
	}
	redisSchemes := []string{"redis", "rediss", "unix", "redis+sentinel", "rediss+sentinel", "redis+cluster", "rediss+cluster"}
	if u, err := url.Parse(c.RedisURL); err != nil || !slices.Contains(redisSchemes, u.Scheme) || (u.Host == "" && u.Scheme != "unix") {
		bad("EVENTWORKER_REDIS_URL: %q is not redis://host:6379/0, rediss://, unix:///path, redis+sentinel://h1,h2/MASTER or redis+cluster://h1,h2", redactURL(c.RedisURL))
	}
}

// validateMail checks the mail settings the mailer does not.
func (c *Config) validateMail(bad func(string, ...any)) {
	if u, err := url.Parse(c.MailURL); err != nil || !slices.Contains([]string{"smtp", "smtps", "file", "log"}, u.Scheme) {
		bad("EVENTWORKER_MAIL_URL: %q is not smtp://user:pass@host:587, smtps://user:pass@host:465, file://DIR or log://", redactURL(c.MailURL))
	}
	if a, err := mail.ParseAddress(c.MailFrom); err != nil || strings.ContainsAny(c.MailFrom, "\r\n") {
		bad("EVENTWORKER_MAIL_FROM: %q is not an address like \"Shop <noreply@example.com>\"", c.MailFrom)
	} else if !strings.Contains(a.Address, "@") {
		bad("EVENTWORKER_MAIL_FROM: %q has no domain", c.MailFrom)
	}
	for name, v := range map[string]string{"EVENTWORKER_MAIL_BOUNCE": c.MailBounce, "EVENTWORKER_MAIL_REDIRECT": c.MailRedirect} {
		if v == "" {
			continue
		}
		if a, err := mail.ParseAddress(v); err != nil || a.Name != "" || a.Address != v {
			bad("%s: %q is not a bare address like bounces@platform.example", name, v)
		}
	}
	if _, err := ParseMailHeaders(c.MailHeaders); err != nil {
		bad("EVENTWORKER_MAIL_HEADERS: %v", err)
	}
	if _, err := ParseMailDisable(c.MailDisable); err != nil {
		bad("EVENTWORKER_MAIL_DISABLE: %v", err)
	}
	if c.PlatformSupportEmail != "" {
		if a, err := mail.ParseAddress(c.PlatformSupportEmail); err != nil || a.Name != "" || a.Address != c.PlatformSupportEmail {
			bad("EVENTWORKER_PLATFORM_SUPPORT_EMAIL: %q is not a bare address like support@platform.example", c.PlatformSupportEmail)
		}
	}
	if c.MailConnections < 1 || c.MailConnections > 64 {
		bad("EVENTWORKER_MAIL_CONNECTIONS: %d must be between 1 and 64", c.MailConnections)
	}
	if c.MailRate < 0 {
		bad("EVENTWORKER_MAIL_RATE: %g must not be negative (0 means no limit)", c.MailRate)
	}
}

// redactURL removes the passwords from a URL, for messages, `eventworker config` and the
// debug listener: the userinfo's, and the value of every query option whose name holds
// "password" (Redis's sentinel_password). A URL without one is returned as it is.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	changed := false
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
		changed = true
	}
	if u.RawQuery != "" {
		params := strings.Split(u.RawQuery, "&")
		for i, kv := range params {
			if k, _, _ := strings.Cut(kv, "="); strings.Contains(strings.ToLower(k), "password") {
				params[i] = k + "=xxxxx"
				changed = true
			}
		}
		u.RawQuery = strings.Join(params, "&")
	}
	if !changed {
		return raw
	}
	return u.String()
}
