package cache_test

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/eventworker/eventworker/cache"
)

// TestProductsReadsWhatTheCacheConsumerWrote: the names and SKUs of cached products come back
// in one call; an unknown product, or any product while Redis is unreachable, is a miss.
func TestProductsReadsWhatTheCacheConsumerWrote(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := newRedis(t)
	c, m := newCache(t, rdb, prefix, nil)
	if _, err := c.RefreshProduct(ctx, cache.Once{}, "acme", "p-1", 1, []byte(`{"product_id":"p-1","name":"Trail Tent","sku":"TENT-2P","version":1}`)); err != nil {
		t.Fatal(err)
	}
	got := c.Products(ctx, "acme", []string{"p-1", "p-unknown"})
	if len(got) != 1 || got["p-1"] != (cache.ProductInfo{Name: "Trail Tent", SKU: "TENT-2P"}) {
		t.Errorf("Products = %+v, want only p-1 named Trail Tent (TENT-2P)", got)
	}
	if other := c.Products(ctx, "globex", []string{"p-1"}); len(other) != 0 {
		t.Errorf("another tenant's Products = %+v, want none", other)
	}
	if h, miss := testutil.ToFloat64(m.Hits), testutil.ToFloat64(m.Misses); h != 1 || miss != 2 {
		t.Errorf("hits %v, misses %v; want 1 and 2", h, miss)
	}

	down, _ := newCache(t, redis.NewClient(&redis.Options{Addr: closedAddr(t), MaxRetries: -1}), prefix, nil)
	if got := down.Products(ctx, "acme", []string{"p-1"}); len(got) != 0 {
		t.Errorf("Products with Redis down = %+v, want none", got)
	}
}
