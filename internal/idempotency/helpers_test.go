package idempotency_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/eventworker/eventworker/internal/testenv"
)

// newRedis connects to the test Redis and returns a prefix unique to this test, whose keys are
// deleted when the test ends.
func newRedis(t testing.TB) (*redis.Client, string) {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: testenv.RedisAddr(t)})
	prefix := testenv.Name("idemtest") + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		deleteByPrefix(ctx, t, rdb, prefix)
		_ = rdb.Close()
	})
	return rdb, prefix
}

// deleteByPrefix removes every key under prefix with SCAN, which never blocks Redis as KEYS does.
func deleteByPrefix(ctx context.Context, t testing.TB, rdb *redis.Client, prefix string) {
	t.Helper()
	iter := rdb.Scan(ctx, 0, prefix+"*", 500).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Errorf("scan %s*: %v", prefix, err)
		return
	}
	for len(keys) > 0 {
		n := min(len(keys), 500)
		if err := rdb.Del(ctx, keys[:n]...).Err(); err != nil {
			t.Errorf("delete test keys: %v", err)
			return
		}
		keys = keys[n:]
	}
}

// waitUntil polls cond every 20ms until it holds or the bound passes.
func waitUntil(t *testing.T, bound time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", bound, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
