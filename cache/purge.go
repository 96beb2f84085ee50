package cache

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Purge removes every key matching the SCAN MATCH pattern, except those for which keep
// returns true (keep may be nil), and returns how many it removed. Build pattern with Pattern
// or PatternPrefix, which escape IDs; it must lie under the prefix (ErrInvalidPattern).
//
// It walks the keyspace with SCAN and removes keys with UNLINK, both PurgeBatch keys at a
// time, so Redis serves other clients between batches: never KEYS. On a Cluster it runs on
// every master at once, calling keep from one goroutine per master, and sums. Keys written
// while it runs may survive it, as SCAN guarantees only the keys present throughout.
//
// It never removes the worker's own state (P eventworker:*) nor a product-list generation
// (keys ending in ":products:gen"): a cache invalidation may not erase worker state, and a
// generation number is never reused. On an error it returns the keys removed so far.
func (c *Cache) Purge(ctx context.Context, pattern string, keep func(key string) bool) (int64, error) {
	n, err := c.purge(ctx, pattern, keep)
	if err != nil {
		c.metrics.failed(OpPurge)
		return n, fmt.Errorf("purge %q: %w", pattern, err)
	}
	return n, nil
}

func (c *Cache) purge(ctx context.Context, pattern string, keep func(key string) bool) (int64, error) {
	if pattern == "" || !strings.HasPrefix(pattern, escapeGlob(c.prefix)) {
		return 0, fmt.Errorf("pattern outside the prefix %q: %w", c.prefix, ErrInvalidPattern)
	}
	remove := func(key string) bool {
		return !c.isProtected(key) && (keep == nil || !keep(key))
	}
	cc, ok := c.rdb.(*redis.ClusterClient)
	if !ok {
		return c.purgeNode(ctx, c.rdb, pattern, remove)
	}
	var total atomic.Int64
	err := cc.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
		n, err := c.purgeNode(ctx, node, pattern, remove)
		total.Add(n)
		if err != nil {
			return fmt.Errorf("master %s: %w", node.Options().Addr, err)
		}
		return nil
	})
	return total.Load(), err
}

// purgeNode purges one server: SCAN a batch, UNLINK what it found in batches, until the
// cursor is back at 0. Removing keys between SCAN calls is safe; it holds at most about two
// batches of keys.
func (c *Cache) purgeNode(ctx context.Context, r redis.Cmdable, pattern string, remove func(string) bool) (int64, error) {
	var (
		removed int64
		cursor  uint64
		pending = make([]string, 0, 2*c.batch)
	)
	// flush unlinks full batches, and with all the remainder too.
	flush := func(all bool) error {
		for len(pending) >= c.batch || (all && len(pending) > 0) {
			chunk := pending[:min(c.batch, len(pending))]
			n, err := c.unlink(ctx, r, chunk)
			removed += n
			c.metrics.purged(n)
			if err != nil {
				return fmt.Errorf("unlink: %w", err)
			}
			pending = append(pending[:0], pending[len(chunk):]...)
		}
		return nil
	}
	for {
		keys, next, err := r.Scan(ctx, cursor, pattern, int64(c.batch)).Result()
		if err != nil {
			return removed, fmt.Errorf("scan: %w", err)
		}
		for _, k := range keys {
			if remove(k) {
				pending = append(pending, k)
			}
		}
		if err := flush(false); err != nil {
			return removed, err
		}
		if cursor = next; cursor == 0 {
			break
		}
	}
	return removed, flush(true)
}

// PurgeTenant removes everything cached for the tenant (P tenant:{t}:*), on tenant.suspended,
// and returns how many keys it removed. The tenant's product-list generation is not removed
// but incremented, after the purge, so a list a reader cached under the old generation
// while the purge ran is unreachable. Other tenants' keys and the worker's own keys are
// untouched, whatever characters the ID holds. It returns its errors. Given a Once whose
// record is found, it changes nothing and returns Duplicate; otherwise it writes the record
// last, so an interrupted purge is done again in full by the event's retry. Without a Once,
// running it again is safe and increments the generation once more.
//
// A tenant ID that extends another with ":" ("acme:eu" and "acme") shares its key space: a
// purge of "acme" also removes acme:eu's cached keys, though never its generation. Readers
// rebuild such keys; only a contract change could tell the two apart.
func (c *Cache) PurgeTenant(ctx context.Context, once Once, tenantID string) (int64, Outcome, error) {
	n, out, err := c.purgeTenant(ctx, once, tenantID)
	if err != nil {
		c.metrics.failed(OpPurgeTenant)
		return n, 0, fmt.Errorf("purge tenant %s: %w", tenantID, err)
	}
	return n, out, nil
}

func (c *Cache) purgeTenant(ctx context.Context, once Once, tenantID string) (int64, Outcome, error) {
	if tenantID == "" {
		return 0, 0, fmt.Errorf("empty tenant ID: %w", ErrInvalidID)
	}
	gk := c.generationKey(tenantID)
	rk, err := c.recordKey(once, gk)
	if err != nil {
		return 0, 0, err
	}
	if rk != "" {
		found, err := c.rdb.Exists(ctx, rk).Result()
		if err != nil {
			return 0, 0, err
		}
		if found == 1 {
			return 0, Duplicate, nil
		}
	}
	n, err := c.purge(ctx, c.PatternPrefix("tenant", tenantID), nil)
	if err != nil {
		return n, 0, err
	}
	if err := c.rdb.Incr(ctx, gk).Err(); err != nil {
		return n, 0, fmt.Errorf("increment the product generation: %w", err)
	}
	if rk != "" {
		if err := c.rdb.Set(ctx, rk, doneRecord, time.Duration(c.records.TTLMillis())*time.Millisecond).Err(); err != nil {
			return n, 0, fmt.Errorf("purged, but the event's record was not written: %w", err)
		}
	}
	return n, Written, nil
}

// DropUser removes the tenant's cached profile of the user (P tenant:{t}:user:{u}), on
// user.updated, and with a Once writes the event's record in the same script (Duplicate when
// it was there). It returns its errors, so the handler retries.
func (c *Cache) DropUser(ctx context.Context, once Once, tenantID, userID string) (Outcome, error) {
	out, err := c.dropUser(ctx, once, tenantID, userID)
	if err != nil {
		c.metrics.failed(OpDropUser)
		return 0, fmt.Errorf("drop user %q of tenant %q: %w", userID, tenantID, err)
	}
	return out, nil
}

func (c *Cache) dropUser(ctx context.Context, once Once, tenantID, userID string) (Outcome, error) {
	if tenantID == "" || userID == "" {
		return 0, fmt.Errorf("empty tenant or user ID: %w", ErrInvalidID)
	}
	uk := c.userKey(tenantID, userID)
	rk, err := c.recordKey(once, uk)
	if err != nil {
		return 0, err
	}
	if rk == "" {
		if err := c.rdb.Unlink(ctx, uk).Err(); err != nil {
			return 0, err
		}
		return Written, nil
	}
	n, err := dropUserScript.Run(ctx, c.rdb, []string{uk, rk}, c.records.TTLMillis()).Int()
	if err != nil {
		return 0, err
	}
	if n == 0 {
		return Duplicate, nil
	}
	return Written, nil
}
