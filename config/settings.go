package config

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/eventworker/eventworker/publisher/amqpnodes"
)

// setting is one configuration item: its variable, flag, default and how to read and print it.
type setting struct {
	env    string
	flag   string
	def    string
	help   string
	secret bool // may come from env+"_FILE"; printed redacted
	set    func(*Config, string) error
	get    func(*Config) string
	// redact, when set, is how the value is printed instead of as it is (a secret's
	// otherwise: redactURL).
	redact func(string) string
}

func str(field func(*Config) *string) (func(*Config, string) error, func(*Config) string) {
	return func(c *Config, v string) error { *field(c) = v; return nil },
		func(c *Config) string { return *field(c) }
}

func integer(field func(*Config) *int) (func(*Config, string) error, func(*Config) string) {
	return func(c *Config, v string) error {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("%q is not a whole number", v)
			}
			*field(c) = n
			return nil
		}, func(c *Config) string {
			if *field(c) == 0 {
				return ""
			}
			return strconv.Itoa(*field(c))
		}
}

func duration(field func(*Config) *time.Duration) (func(*Config, string) error, func(*Config) string) {
	return func(c *Config, v string) error {
			d, err := time.ParseDuration(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("%q is not a duration (examples: 500ms, 30s, 5m, 168h)", v)
			}
			*field(c) = d
			return nil
		}, func(c *Config) string {
			if *field(c) == 0 {
				return ""
			}
			return field(c).String()
		}
}

func mk(env, flag, def, help string, secret bool, set func(*Config, string) error, get func(*Config) string) setting {
	return setting{env: env, flag: flag, def: def, help: help, secret: secret, set: set, get: get}
}

var settings = func() []setting {
	var s []setting
	add := func(st setting) { s = append(s, st) }
	set, get := str(func(c *Config) *string { return &c.AMQPURL })
	amqpURL := mk("EVENTWORKER_AMQP_URL", "amqp-url", "amqp://guest:guest@localhost:5672/", "RabbitMQ URL (amqp:// or amqps://), or the comma-separated URLs of several nodes of one cluster (same vhost): the worker connects to the first that answers and moves to the next when its connection dies", true, set, get)
	amqpURL.redact = amqpnodes.Redact
	add(amqpURL)
	set, get = str(func(c *Config) *string { return &c.AMQPCAFile })
	add(mk("EVENTWORKER_AMQP_CA_FILE", "amqp-ca-file", "", "PEM file of the CAs trusted for amqps:// instead of the system's", false, set, get))
	set, get = str(func(c *Config) *string { return &c.RedisURL })
	add(mk("EVENTWORKER_REDIS_URL", "redis-url", "redis://localhost:6379/0", "Redis URL: redis://, rediss://, unix://, redis+sentinel://h1,h2/MASTER or redis+cluster://h1,h2; with replicas, ?wait_replicas=1 makes every write wait for one, so a failover loses no acknowledged effect", true, set, get))
	set, get = str(func(c *Config) *string { return &c.RedisCAFile })
	add(mk("EVENTWORKER_REDIS_CA_FILE", "redis-ca-file", "", "PEM file of the CAs trusted for rediss:// instead of the system's", false, set, get))
	set, get = str(func(c *Config) *string { return &c.HTTPAddr })
	add(mk("EVENTWORKER_HTTP_ADDR", "http-addr", ":9090", "listen address of /metrics, /healthz and /readyz", false, set, get))
	set, get = str(func(c *Config) *string { return &c.DebugAddr })
	add(mk("EVENTWORKER_DEBUG_ADDR", "debug-addr", "", "listen address of the debug listener: /debug/pprof/ profiles and /debug/state, which eventworker inspect prints; e.g. 127.0.0.1:6060, never the port of EVENTWORKER_HTTP_ADDR, and never reachable from outside the host or pod; empty: off", false, set, get))
	set, get = str(func(c *Config) *string { return &c.QueuePrefix })
	add(mk("EVENTWORKER_QUEUE_PREFIX", "queue-prefix", "eventworker", "prefix of every queue name: <prefix>.<consumer>", false, set, get))
	set, get = str(func(c *Config) *string { return &c.QueueType })
	add(mk("EVENTWORKER_QUEUE_TYPE", "queue-type", QueueQuorum, "type of the work queues: quorum or classic", false, set, get))
	set, get = str(func(c *Config) *string { return &c.LogLevel })
	add(mk("EVENTWORKER_LOG_LEVEL", "log-level", "info", "debug, info, warn or error", false, set, get))
	set, get = str(func(c *Config) *string { return &c.RegistryFile })
	add(mk("EVENTWORKER_REGISTRY_FILE", "registry", "", "registry.yaml to use instead of the embedded one", false, set, get))
	set, get = str(func(c *Config) *string { return &c.CachePrefix })
	add(mk("EVENTWORKER_CACHE_PREFIX", "cache-prefix", "", "prefix P of every Redis key the worker reads or writes", false, set, get))
	dset, dget := duration(func(c *Config) *time.Duration { return &c.CacheTTL })
	add(mk("EVENTWORKER_CACHE_TTL", "cache-ttl", "1h", "TTL of the product entries the cache consumer writes", false, dset, dget))
	iset, iget := integer(func(c *Config) *int { return &c.Concurrency })
	add(mk("EVENTWORKER_CONCURRENCY", "concurrency", "8", "messages of one consumer's queue handled at once", false, iset, iget))
	add(mk("EVENTWORKER_CONSUMER_CONCURRENCY", "consumer-concurrency", "", "per-consumer override, e.g. notifications=2,cache=16", false, setConsumerConcurrency, getConsumerConcurrency))
	iset, iget = integer(func(c *Config) *int { return &c.Prefetch })
	add(mk("EVENTWORKER_PREFETCH", "prefetch", "32", "unacknowledged messages RabbitMQ sends each consumer's subscription; at least the concurrency", false, iset, iget))
	dset, dget = duration(func(c *Config) *time.Duration { return &c.HandlerTimeout })
	add(mk("EVENTWORKER_HANDLER_TIMEOUT", "handler-timeout", "20s", "deadline of one handler run; below the shutdown timeout", false, dset, dget))
	iset, iget = integer(func(c *Config) *int { return &c.QuickRetries })
	add(mk("EVENTWORKER_RETRY_QUICK", "retry-quick", "3", "in-process retries of a transient failure before a durable retry", false, iset, iget))
	dset, dget = duration(func(c *Config) *time.Duration { return &c.QuickBackoff })
	add(mk("EVENTWORKER_RETRY_BACKOFF", "retry-backoff", "200ms", "first in-process backoff; doubles per try, with jitter", false, dset, dget))
	add(mk("EVENTWORKER_RETRY_DELAYS", "retry-delays", "10s,1m,10m,1h", "durable retry delays (TTL retry queues); then the dead-letter queue", false, setRetryDelays, getRetryDelays))
	iset, iget = integer(func(c *Config) *int { return &c.DeliveryLimit })
	add(mk("EVENTWORKER_DELIVERY_LIMIT", "delivery-limit", "20", "quorum x-delivery-limit: redeliveries (crashes) before RabbitMQ dead-letters", false, iset, iget))
	iset, iget = integer(func(c *Config) *int { return &c.PauseAfter })
	add(mk("EVENTWORKER_PAUSE_AFTER", "pause-after", "5", "a consumer whose handlers find a service they need unavailable (Redis, the mail server) this many times in a row pauses, and tries one message at growing intervals until it gets through; 0 never pauses", false, iset, iget))
	dset, dget = duration(func(c *Config) *time.Duration { return &c.PauseMax })
	add(mk("EVENTWORKER_PAUSE_MAX", "pause-max", "30s", "longest interval between the tries of a paused consumer", false, dset, dget))
	dset, dget = duration(func(c *Config) *time.Duration { return &c.IdempotencyTTL })
	add(mk("EVENTWORKER_IDEMPOTENCY_TTL", "idempotency-ttl", "168h", "how long a handled event_id is remembered per consumer", false, dset, dget))
	dset, dget = duration(func(c *Config) *time.Duration { return &c.LeaseTTL })
	add(mk("EVENTWORKER_LEASE_TTL", "lease-ttl", "15s", "processing lease of an event whose effect is outside Redis (an email); renewed every third of it while the handler runs, so the events of a killed worker are handled again soon after it expires", false, dset, dget))
	dset, dget = duration(func(c *Config) *time.Duration { return &c.ShutdownTimeout })
	add(mk("EVENTWORKER_SHUTDOWN_TIMEOUT", "shutdown-timeout", "25s", "deadline of a graceful shutdown on SIGTERM or SIGINT; the process exits at most 2s after it (a second signal exits at once)", false, dset, dget))
	iset, iget = integer(func(c *Config) *int { return &c.MaxBodyBytes })
	add(mk("EVENTWORKER_MAX_BODY_BYTES", "max-body-bytes", "1048576", "larger bodies are dead-lettered unparsed", false, iset, iget))
	// Printed as 0s when off, where the other durations print nothing for zero.
	dset, _ = duration(func(c *Config) *time.Duration { return &c.BacklogInterval })
	dget = func(c *Config) string { return c.BacklogInterval.String() }
	add(mk("EVENTWORKER_BACKLOG_INTERVAL", "backlog-interval", "15s", "how often the depth and consumers of every work, retry and dead-letter queue are read from RabbitMQ (passive declares, which change nothing) for the eventworker_queue_* metrics; 0 turns it off", false, dset, dget))
	set, get = str(func(c *Config) *string { return &c.MailURL })
	add(mk("EVENTWORKER_MAIL_URL", "mail-url", "log://", "where emails go: smtp://user:pass@host:587?starttls=required, smtps://user:pass@host:465, file://DIR or log:// (see the README's Emails section)", true, set, get))
	set, get = str(func(c *Config) *string { return &c.MailFrom })
	add(mk("EVENTWORKER_MAIL_FROM", "mail-from", "Shop <noreply@localhost>", "the platform's sender address: its name signs the emails to shop owners, and customer emails carry the shop's name instead once it is known", false, set, get))
	set, get = str(func(c *Config) *string { return &c.MailBounce })
	add(mk("EVENTWORKER_MAIL_BOUNCE", "mail-bounce", "", "envelope sender (Return-Path) where bounces go, apart from the From address; empty: the From address", false, set, get))
	set, get = str(func(c *Config) *string { return &c.MailRedirect })
	add(mk("EVENTWORKER_MAIL_REDIRECT", "mail-redirect", "", "staging: send every email to this one address instead (X-Eventworker-Original-To says whom it was for); empty: off", false, set, get))
	set, get = str(func(c *Config) *string { return &c.MailHeaders })
	headers := mk("EVENTWORKER_MAIL_HEADERS", "mail-headers", "", "extra header fields of every email, Name=value;Name=value; a value may hold {template}, {tenant}, {event_type} and {event_id}, e.g. Feedback-ID={template}:{tenant}:shop", false, set, get)
	// A relay's API key may travel in a header: only the names are printed.
	headers.redact = redactHeaderValues
	add(headers)
	set, get = str(func(c *Config) *string { return &c.MailDisable })
	add(mk("EVENTWORKER_MAIL_DISABLE", "mail-disable", "", "emails not to send, comma-separated: TEMPLATE for every tenant, TENANT/TEMPLATE or TENANT/* for one (templates: order_received, payment_reminder, order_confirmed, order_cancelled, welcome, tenant_welcome, low_stock)", false, set, get))
	set, get = str(func(c *Config) *string { return &c.PlatformName })
	add(mk("EVENTWORKER_PLATFORM_NAME", "platform-name", "", "the platform's name, which signs the emails to shop owners; empty: EVENTWORKER_MAIL_FROM's display name", false, set, get))
	set, get = str(func(c *Config) *string { return &c.PlatformSupportEmail })
	add(mk("EVENTWORKER_PLATFORM_SUPPORT_EMAIL", "platform-support-email", "", "the platform's support address: Reply-To and the contact in the footer of the emails to shop owners (welcome, low stock); empty: none", false, set, get))
	fset, fget := float(func(c *Config) *float64 { return &c.MailRate })
	add(mk("EVENTWORKER_MAIL_RATE", "mail-rate", "10", "emails per second across the process; 0 means no limit", false, fset, fget))
	iset, iget = integer(func(c *Config) *int { return &c.MailConnections })
	add(mk("EVENTWORKER_MAIL_CONNECTIONS", "mail-connections", "8", "SMTP connections kept open and reused; each carries one email at a time", false, iset, iget))
	dset, dget = duration(func(c *Config) *time.Duration { return &c.MailTimeout })
	add(mk("EVENTWORKER_MAIL_TIMEOUT", "mail-timeout", "15s", "deadline of one SMTP send; at most the handler timeout", false, dset, dget))
	set, get = str(func(c *Config) *string { return &c.TemplateDir })
	add(mk("EVENTWORKER_TEMPLATE_DIR", "template-dir", "", "directory of email template and catalog overrides, global and per tenant", false, set, get))
	set, get = str(func(c *Config) *string { return &c.OutboxDSN })
	add(mk("EVENTWORKER_OUTBOX_DSN", "outbox-dsn", "", "eventworker relay only: PostgreSQL URL of the producers' transactional outbox, e.g. postgres://relay:pass@db:5432/shop?search_path=orders (the schema of the eventworker_outbox table)", true, set, get))
	return s
}()

func float(field func(*Config) *float64) (func(*Config, string) error, func(*Config) string) {
	return func(c *Config, v string) error {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return fmt.Errorf("%q is not a number", v)
			}
			*field(c) = f
			return nil
		}, func(c *Config) string {
			return strconv.FormatFloat(*field(c), 'g', -1, 64)
		}
}

func setConsumerConcurrency(c *Config, v string) error {
	m := map[string]int{}
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, num, ok := strings.Cut(part, "=")
		n, err := strconv.Atoi(strings.TrimSpace(num))
		if !ok || err != nil || strings.TrimSpace(name) == "" {
			return fmt.Errorf("%q is not consumer=number", part)
		}
		m[strings.TrimSpace(name)] = n
	}
	c.ConsumerConcurrency = m
	return nil
}

func getConsumerConcurrency(c *Config) string {
	var parts []string
	for _, k := range sortedKeys(c.ConsumerConcurrency) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, c.ConsumerConcurrency[k]))
	}
	return strings.Join(parts, ",")
}

func setRetryDelays(c *Config, v string) error {
	var ds []time.Duration
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		d, err := time.ParseDuration(part)
		if err != nil {
			return fmt.Errorf("%q is not a duration (example: 10s,1m,10m)", part)
		}
		ds = append(ds, d)
	}
	c.RetryDelays = ds
	return nil
}

func getRetryDelays(c *Config) string {
	parts := make([]string, len(c.RetryDelays))
	for i, d := range c.RetryDelays {
		parts[i] = d.String()
	}
	return strings.Join(parts, ",")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
