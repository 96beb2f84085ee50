package worker

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/eventworker/eventworker/internal/field"
)

// Queue types of Config.QueueType.
const (
	QueueQuorum  = "quorum"
	QueueClassic = "classic"
)

// Config configures a Worker. A zero field takes its default (setDefaults) where zero is not a
// meaningful value; Validate reports every problem at once, each an *field.Error naming the
// field.
type Config struct {
	// AMQPURL is RabbitMQ's URL (amqp:// or amqps://), or the comma-separated URLs of the nodes
	// of one cluster (amqpnodes.Parse); a worker with another Transport does not use it.
	AMQPURL string
	// QueuePrefix names the queues: <prefix>.<consumer>, its retry and dead-letter queues;
	// "eventworker" by default.
	QueuePrefix string
	// QueueType is the type of the work queues, QueueQuorum (default) or QueueClassic.
	QueueType string
	// DeliveryLimit is a quorum work queue's x-delivery-limit, and how many runs of a handler
	// may die with their process before the event is dead-lettered; 20 by default.
	DeliveryLimit int
	// RetryDelays are the durable retry delays, one TTL queue each; none means a transient
	// failure is dead-lettered once the quick retries are spent.
	RetryDelays []time.Duration
	// Concurrency is how many messages of one consumer's queue are handled at once, unless
	// ConsumerConcurrency names the consumer; 8 by default.
	Concurrency         int
	ConsumerConcurrency map[string]int
	// Prefetch is how many unacknowledged messages RabbitMQ sends each consumer's
	// subscription, at least the concurrency; four times the concurrency by default.
	Prefetch int
	// HandlerTimeout bounds one handler run; 20 s by default, below ShutdownTimeout.
	HandlerTimeout time.Duration
	// QuickRetries are in-process retries of a transient failure before a durable one; 0 means
	// none. QuickBackoff is the first one's backoff (doubling, with jitter); 200 ms by default.
	QuickRetries int
	QuickBackoff time.Duration
	// ShutdownTimeout is the deadline of a graceful shutdown; 25 s by default.
	ShutdownTimeout time.Duration
	// MaxBodyBytes: larger bodies are dead-lettered unparsed; 1 MiB by default.
	MaxBodyBytes int
	// PauseAfter unavailable outcomes in a row pause a consumer (0: never); PauseMax caps the
	// interval between its probes, 30 s by default.
	PauseAfter int
	PauseMax   time.Duration
}

func (c *Config) setDefaults() {
	if c.QueuePrefix == "" {
		c.QueuePrefix = "eventworker"
	}
	if c.QueueType == "" {
		c.QueueType = QueueQuorum
	}
	if c.DeliveryLimit == 0 {
		c.DeliveryLimit = 20
	}
	if c.Concurrency == 0 {
		c.Concurrency = 8
	}
	if c.Prefetch == 0 {
		c.Prefetch = 4 * c.maxConcurrency()
	}
	if c.HandlerTimeout == 0 {
		c.HandlerTimeout = 20 * time.Second
	}
	if c.QuickBackoff == 0 {
		c.QuickBackoff = 200 * time.Millisecond
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = 25 * time.Second
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = 1 << 20
	}
	if c.PauseMax == 0 {
		c.PauseMax = breakerMaxPause
	}
}

// Validate reports every problem of c at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(f, format string, args ...any) { errs = append(errs, field.Errorf(f, format, args...)) }
	if c.QueuePrefix == "" || strings.ContainsAny(c.QueuePrefix, " *#") {
		bad("QueuePrefix", "%q must be non-empty, without spaces, * or #", c.QueuePrefix)
	}
	if c.QueueType != QueueQuorum && c.QueueType != QueueClassic {
		bad("QueueType", "%q is neither %s nor %s", c.QueueType, QueueQuorum, QueueClassic)
	}
	if c.DeliveryLimit < 1 {
		bad("DeliveryLimit", "%d must be at least 1", c.DeliveryLimit)
	}
	for _, d := range c.RetryDelays {
		if d <= 0 {
			bad("RetryDelays", "%s must be positive", d)
		}
	}
	if c.Concurrency < 1 {
		bad("Concurrency", "%d must be at least 1", c.Concurrency)
	}
	for _, name := range slices.Sorted(maps.Keys(c.ConsumerConcurrency)) {
		if n := c.ConsumerConcurrency[name]; n < 1 {
			bad("ConsumerConcurrency", "%s=%d must be at least 1", name, n)
		}
	}
	if c.Prefetch < 1 {
		bad("Prefetch", "%d must be at least 1", c.Prefetch)
	} else if most := c.maxConcurrency(); most > c.Prefetch {
		bad("Prefetch", "%d is below the concurrency %d: the handlers beyond it would never get a message; raise it to at least %d (twice is better: finished messages are acknowledged in batches)", c.Prefetch, most, most)
	}
	if c.HandlerTimeout <= 0 {
		bad("HandlerTimeout", "%s must be positive", c.HandlerTimeout)
	}
	if c.ShutdownTimeout <= 0 {
		bad("ShutdownTimeout", "%s must be positive", c.ShutdownTimeout)
	}
	// The timeouts nest, so a shutdown's deadline is one.
	if c.HandlerTimeout > 0 && c.ShutdownTimeout > 0 && c.HandlerTimeout >= c.ShutdownTimeout {
		bad("HandlerTimeout", "%s must be shorter than {ShutdownTimeout} (%s), or a handler outlives the shutdown's deadline", c.HandlerTimeout, c.ShutdownTimeout)
	}
	if c.QuickRetries < 0 {
		bad("QuickRetries", "%d must not be negative", c.QuickRetries)
	}
	if c.QuickBackoff < 0 {
		bad("QuickBackoff", "%s must not be negative", c.QuickBackoff)
	}
	if c.MaxBodyBytes < 1024 {
		bad("MaxBodyBytes", "%d must be at least 1024", c.MaxBodyBytes)
	}
	if c.PauseAfter < 0 {
		bad("PauseAfter", "%d must not be negative (0 never pauses)", c.PauseAfter)
	}
	if c.PauseMax < time.Second {
		bad("PauseMax", "%s is shorter than 1s, the first interval between probes", c.PauseMax)
	}
	return errors.Join(errs...)
}

// ConcurrencyOf is the concurrency of consumer.
func (c Config) ConcurrencyOf(consumer string) int {
	if n, ok := c.ConsumerConcurrency[consumer]; ok {
		return n
	}
	return c.Concurrency
}

// maxConcurrency is the highest concurrency of any consumer.
func (c Config) maxConcurrency() int {
	most := c.Concurrency
	for _, n := range c.ConsumerConcurrency {
		most = max(most, n)
	}
	return most
}

// MaxAttempts is how many times a transiently failing event is tried before it is
// dead-lettered: once per durable delay, and once more after the last delay.
func (c Config) MaxAttempts() int { return len(c.RetryDelays) + 1 }
