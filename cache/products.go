package cache

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/redis/go-redis/v9"
)

// ProductInfo is what an email shows of a cached product.
type ProductInfo struct {
	Name string `json:"name"`
	SKU  string `json:"sku"`
}

// Products reads the cached entries of the tenant's products ids (P tenant:{t}:product:{p}, as
// the cache consumer writes them) in one round trip, for the names and SKUs an email shows. Like
// GetJSON it degrades to misses: an id without a readable entry is absent from the result, and
// a Redis error leaves it empty, counted in the errors metric with op "get".
func (c *Cache) Products(ctx context.Context, tenantID string, ids []string) map[string]ProductInfo {
	out := make(map[string]ProductInfo, len(ids))
	if len(ids) == 0 {
		return out
	}
	// GETs in a pipeline rather than one MGET: on a Cluster the keys lie in different slots.
	cmds := make([]*redis.StringCmd, len(ids))
	_, err := c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.Get(ctx, c.productKey(tenantID, id))
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		c.metrics.failed(OpGet)
	}
	for i, cmd := range cmds {
		var info ProductInfo
		b, err := cmd.Bytes()
		if err != nil || json.Unmarshal(b, &info) != nil || info.Name == "" && info.SKU == "" {
			c.metrics.miss()
			continue
		}
		c.metrics.hit()
		out[ids[i]] = info
	}
	return out
}
