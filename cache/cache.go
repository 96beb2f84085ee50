package cache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/eventworker/eventworker/internal/idempotency"
)

// Cache reads and writes the cache keys the worker shares with the Python services. It is
// safe for concurrent use.
type Cache struct {
	rdb        redis.UniversalClient
	prefix     string
	ttl        time.Duration
	versionTTL time.Duration
	batch      int
	metrics    *Metrics
	records    idempotency.Records
	// split is true on a Redis Cluster, whose multi-key commands need their keys in one hash
	// slot: UNLINK goes one key at a time and RefreshProduct increments the generation, which
	// sits in another slot than the product, outside its script.
	split bool
}

// New returns a Cache on client. It returns an error
// wrapping ErrInvalidConfig for a nil client or a cfg that does not pass Validate.
func New(client redis.UniversalClient, cfg Config) (*Cache, error) {
	cfg.setDefaults()
	err := cfg.Validate()
	if client == nil {
		err = errors.Join(err, fmt.Errorf("%w: nil Redis client", ErrInvalidConfig))
	}
	_, split := client.(*redis.ClusterClient)
	c := &Cache{
		rdb: client, prefix: cfg.Prefix, ttl: cfg.TTL, versionTTL: cfg.VersionTTL,
		batch: cfg.PurgeBatch, metrics: cfg.Metrics, split: split,
	}
	if cfg.RecordTTL >= time.Millisecond {
		c.records = idempotency.NewRecords(cfg.Prefix, cfg.RecordTTL)
	}
	if split {
		// A prefix with a lone brace would put every product and its version record in
		// different slots; checking one pair checks them all, as the IDs add no brace here.
		pk := c.productKey("t", "p")
		if hashTag(pk) != hashTag(c.versionKey(pk)) {
			err = errors.Join(err, fmt.Errorf("%w: prefix %q: on a Redis Cluster a prefix may hold braces only as one complete hash tag such as {shop}", ErrInvalidConfig, cfg.Prefix))
		}
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// GetJSON reads key and decodes its JSON into v, which must be a non-nil pointer. Reads
// degrade gracefully, since the caller can always rebuild the value: a Redis error or an
// undecodable value is a miss (false, nil), counted in the errors metric with op "get". v is
// replaced, not merged into, and only on a hit; on a miss it is left untouched. The only
// error is ErrInvalidTarget, a caller bug.
func (c *Cache) GetJSON(ctx context.Context, key string, v any) (found bool, err error) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return false, fmt.Errorf("get %s into %T: %w", key, v, ErrInvalidTarget)
	}
	b, err := c.rdb.Get(ctx, key).Bytes()
	if err != nil {
		if !errors.Is(err, redis.Nil) {
			c.metrics.failed(OpGet)
		}
		c.metrics.miss()
		return false, nil
	}
	// Decoding into a fresh value keeps v untouched when the JSON turns out not to fit it.
	fresh := reflect.New(rv.Elem().Type())
	if err := json.Unmarshal(b, fresh.Interface()); err != nil {
		c.metrics.failed(OpGet)
		c.metrics.miss()
		return false, nil
	}
	rv.Elem().Set(fresh.Elem())
	c.metrics.hit()
	return true, nil
}

// SetJSON writes v as JSON at key for ttl, or for Config.TTL when ttl is 0. Unlike reads,
// writes return their errors, so the handler retries.
func (c *Cache) SetJSON(ctx context.Context, key string, v any, ttl time.Duration) error {
	if err := c.setJSON(ctx, key, v, ttl); err != nil {
		c.metrics.failed(OpSet)
		return err
	}
	return nil
}

func (c *Cache) setJSON(ctx context.Context, key string, v any, ttl time.Duration) error {
	if ttl == 0 {
		ttl = c.ttl
	}
	if ttl < time.Millisecond {
		// A negative TTL would mean "no expiry" to go-redis; every cache entry expires.
		return fmt.Errorf("set %s: TTL %s is below 1ms", key, ttl)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("set %s: encode %T: %w", key, v, err)
	}
	if err := c.rdb.Set(ctx, key, b, ttl).Err(); err != nil {
		return fmt.Errorf("set %s: %w", key, err)
	}
	return nil
}

// Delete removes keys with UNLINK, which frees their memory off Redis's main thread. It
// returns its errors, so the handler retries; absent keys are no error.
func (c *Cache) Delete(ctx context.Context, keys ...string) error {
	if _, err := c.unlink(ctx, c.rdb, keys); err != nil {
		c.metrics.failed(OpDelete)
		return fmt.Errorf("delete %d keys: %w", len(keys), err)
	}
	return nil
}

// recordKey is the key of once's record beside near; "" for the zero Once.
func (c *Cache) recordKey(once Once, near string) (string, error) {
	if !once.set() {
		return "", nil
	}
	k, err := c.records.Key(idempotency.Mark{Consumer: once.Consumer, EventID: once.EventID}, near)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalidID, err)
	}
	return k, nil
}

// unlink removes keys through r and returns how many existed. On a Cluster it sends one
// UNLINK per key in a pipeline, since a multi-key UNLINK needs all its keys in one slot.
func (c *Cache) unlink(ctx context.Context, r redis.Cmdable, keys []string) (int64, error) {
	if len(keys) == 0 {
		return 0, nil
	}
	if !c.split {
		return r.Unlink(ctx, keys...).Result()
	}
	cmds, err := r.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range keys {
			p.Unlink(ctx, k)
		}
		return nil
	})
	var n int64
	for _, cmd := range cmds {
		if ic, ok := cmd.(*redis.IntCmd); ok {
			n += ic.Val()
		}
	}
	return n, err
}
