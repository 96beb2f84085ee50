package cache_test

import (
	"context"
	"net"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/eventworker/eventworker/cache"
	"github.com/eventworker/eventworker/internal/testenv"
)

// newRedis connects to the test Redis and returns a prefix unique to this test, whose keys
// are removed when the test ends.
func newRedis(t testing.TB) (*redis.Client, string) {
	t.Helper()
	return testenv.Redis(t, "cachetest")
}

// newCache returns a Cache on rdb with prefix and fresh metrics; tweak adjusts the config.
func newCache(t testing.TB, rdb redis.UniversalClient, prefix string, tweak func(*cache.Config)) (*cache.Cache, *cache.Metrics) {
	t.Helper()
	m := cache.NewMetrics(prometheus.NewRegistry())
	cfg := cache.Config{Prefix: prefix, Metrics: m}
	if tweak != nil {
		tweak(&cfg)
	}
	c, err := cache.New(rdb, cfg)
	if err != nil {
		t.Fatalf("cache.New: %v", err)
	}
	return c, m
}

// closedAddr returns a loopback address where nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// mustGet returns the value at key, failing the test on any error including absence.
func mustGet(t *testing.T, rdb *redis.Client, key string) string {
	t.Helper()
	v, err := rdb.Get(context.Background(), key).Result()
	if err != nil {
		t.Fatalf("GET %s: %v", key, err)
	}
	return v
}

// exists reports whether key exists.
func exists(t *testing.T, rdb *redis.Client, key string) bool {
	t.Helper()
	n, err := rdb.Exists(context.Background(), key).Result()
	if err != nil {
		t.Fatalf("EXISTS %s: %v", key, err)
	}
	return n == 1
}

// mustSet writes value at key without expiry (the test's cleanup removes it).
func mustSet(t *testing.T, rdb *redis.Client, key string, value any) {
	t.Helper()
	if err := rdb.Set(context.Background(), key, value, 0).Err(); err != nil {
		t.Fatalf("SET %s: %v", key, err)
	}
}

// cacheClientStub returns a client for tests that never reach Redis.
func cacheClientStub(t testing.TB) redis.UniversalClient {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}
