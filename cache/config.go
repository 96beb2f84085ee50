package cache

import (
	"errors"
	"fmt"
	"time"
)

// Defaults of the zero fields of Config.
const (
	// DefaultTTL is the contract's lifetime of a cached product.
	DefaultTTL = 3600 * time.Second
	// DefaultVersionTTL keeps a product's version record a month after its last write: long
	// enough to refuse an old version replayed from a dead-letter queue weeks later.
	DefaultVersionTTL = 30 * 24 * time.Hour
	// DefaultRecordTTL is how long the idempotency record of a write given a Once is kept:
	// the worker's default dedupe window.
	DefaultRecordTTL = 7 * 24 * time.Hour
	// DefaultPurgeBatch is the number of keys per SCAN COUNT and per UNLINK.
	DefaultPurgeBatch = 500
	// maxPurgeBatch bounds the work of one SCAN or UNLINK, so a purge never blocks Redis.
	maxPurgeBatch = 10_000
)

// Config configures a Cache. The zero value of a field means its default.
type Config struct {
	// Prefix is P, the contract's prefix of every key; empty by default. On a Redis Cluster it
	// may hold a complete hash tag such as "{shop}:" but no other brace.
	Prefix string
	// TTL is the lifetime of a product written by RefreshProduct and of a value written by
	// SetJSON with a zero TTL; DefaultTTL by default, at least a millisecond.
	TTL time.Duration
	// VersionTTL is how long the version record of a product outlives its last write
	// (DefaultVersionTTL by default); at least TTL, so the record outlives what it guards.
	VersionTTL time.Duration
	// RecordTTL is how long the idempotency record of a write given a Once is kept
	// (DefaultRecordTTL by default): a redelivery within it changes nothing.
	RecordTTL time.Duration
	// PurgeBatch is the number of keys per SCAN COUNT and per UNLINK of a purge;
	// DefaultPurgeBatch by default, at most 10,000.
	PurgeBatch int
	// Metrics receives the cache's counters; nil counts nothing.
	Metrics *Metrics
}

func (c *Config) setDefaults() {
	if c.TTL == 0 {
		c.TTL = DefaultTTL
	}
	if c.VersionTTL == 0 {
		c.VersionTTL = DefaultVersionTTL
	}
	if c.RecordTTL == 0 {
		c.RecordTTL = DefaultRecordTTL
	}
	if c.PurgeBatch == 0 {
		c.PurgeBatch = DefaultPurgeBatch
	}
}

// Validate reports every problem of c at once (errors.Join), each wrapping ErrInvalidConfig.
// Zero fields are valid: they take their defaults.
func (c Config) Validate() error {
	c.setDefaults()
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...))
	}
	if c.TTL < time.Millisecond {
		bad("TTL %s is below 1ms", c.TTL)
	}
	if c.VersionTTL < time.Millisecond {
		bad("VersionTTL %s is below 1ms", c.VersionTTL)
	} else if c.VersionTTL < c.TTL {
		bad("VersionTTL %s is below TTL %s: a version record must outlive the product it guards", c.VersionTTL, c.TTL)
	}
	if c.RecordTTL < time.Millisecond {
		bad("RecordTTL %s is below 1ms", c.RecordTTL)
	}
	if c.PurgeBatch < 1 || c.PurgeBatch > maxPurgeBatch {
		bad("PurgeBatch %d is not in 1..%d", c.PurgeBatch, maxPurgeBatch)
	}
	return errors.Join(errs...)
}
