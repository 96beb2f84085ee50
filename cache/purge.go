package cache

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"

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
// untouched, whatever characters the ID holds. It returns its errors; running it again is
// safe and increments the generation once more.
//
// A tenant ID that extends another with ":" ("acme:eu" and "acme") shares its key space: a
// purge of "acme" also removes acme:eu's cached keys, though never its generation. Readers
// rebuild such keys; only a contract change could tell the two apart.
func (c *Cache) PurgeTenant(ctx context.Context, tenantID string) (int64, error) {
	if tenantID == "" {
		c.metrics.failed(OpPurgeTenant)
		return 0, fmt.Errorf("purge tenant: empty tenant ID: %w", ErrInvalidID)
	}
	n, err := c.purge(ctx, c.PatternPrefix("tenant", tenantID), nil)
	if err != nil {
		c.metrics.failed(OpPurgeTenant)
		return n, fmt.Errorf("purge tenant %s: %w", tenantID, err)
	}
	if err := c.rdb.Incr(ctx, c.generationKey(tenantID)).Err(); err != nil {
		c.metrics.failed(OpPurgeTenant)
		return n, fmt.Errorf("purge tenant %s: increment the product generation: %w", tenantID, err)
	}
	return n, nil
}

// DropUser removes the tenant's cached profile of the user (P tenant:{t}:user:{u}), on
// user.updated. It returns its errors, so the handler retries.
func (c *Cache) DropUser(ctx context.Context, tenantID, userID string) error {
	if tenantID == "" || userID == "" {
		c.metrics.failed(OpDropUser)
		return fmt.Errorf("drop user %q of tenant %q: %w", userID, tenantID, ErrInvalidID)
	}
	if err := c.rdb.Unlink(ctx, c.userKey(tenantID, userID)).Err(); err != nil {
		c.metrics.failed(OpDropUser)
		return fmt.Errorf("drop user %s/%s: %w", tenantID, userID, err)
	}
	return nil
}
