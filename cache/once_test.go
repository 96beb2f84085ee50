package cache_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/eventworker/eventworker/cache"
	"github.com/eventworker/eventworker/internal/redisclient"
)

// recordKeys lists the idempotency records under the test's prefix.
func recordKeys(t *testing.T, rdb *redis.Client, prefix string) []string {
	t.Helper()
	keys, err := rdb.Keys(context.Background(), prefix+"eventworker:idem:*").Result()
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// TestRefreshProductOnce: given the event's Once, the first delivery writes (or refuses an
// older version) and records the event; a redelivery finds the record and changes nothing,
// not even the generation. One script, one round trip, on both paths; on the Cluster path the
// record is written after the generation's increment.
func TestRefreshProductOnce(t *testing.T) {
	modes(t, func(t *testing.T, cluster bool) {
		c, _, rdb := newProductCache(t, cluster)
		ctx := context.Background()
		e1 := cache.Once{Consumer: "cache", EventID: "e1"}
		e2 := cache.Once{Consumer: "cache", EventID: "e2"}
		for i, step := range []struct {
			once    cache.Once
			version int64
			want    cache.Outcome
		}{
			{e1, 2, cache.Written},
			{e1, 2, cache.Duplicate},
			{e2, 1, cache.Refused}, // older: refused, but handled
			{e2, 1, cache.Duplicate},
		} {
			got, err := c.RefreshProduct(ctx, step.once, tenant, product, step.version, productJSON(step.version))
			if err != nil || got != step.want {
				t.Fatalf("step %d: RefreshProduct(%s, v%d) = %s, %v; want %s", i, step.once.EventID, step.version, got, err, step.want)
			}
		}
		if g := generation(t, c); g != 1 {
			t.Errorf("generation = %d, want 1: a duplicate must not increment it", g)
		}
		recs := recordKeys(t, rdb, testPrefix(c))
		if len(recs) != 2 {
			t.Fatalf("records = %q, want one per event", recs)
		}
		pk := c.Key("tenant", tenant, "product", product)
		for _, k := range recs {
			if cache.HashTag(k) != cache.HashTag(pk) {
				t.Errorf("record %s is not in the product key's hash slot (tag %q, want %q)", k, cache.HashTag(k), cache.HashTag(pk))
			}
			if ttl := rdb.PTTL(ctx, k).Val(); ttl <= 0 || ttl > cache.DefaultRecordTTL {
				t.Errorf("record %s PTTL = %s, want up to %s", k, ttl, cache.DefaultRecordTTL)
			}
		}
	})
}

// TestRefreshProductOnceOwedIncrement: on the Cluster path, an increment that failed after the
// script wrote the product leaves the event unrecorded, so its retry is not a duplicate and
// pays the increment.
func TestRefreshProductOnceOwedIncrement(t *testing.T) {
	c, _, rdb := newProductCache(t, true)
	ctx := context.Background()
	gk := c.Key("tenant", tenant, "products", "gen")
	mustSet(t, rdb, gk, "not a number")
	once := cache.Once{Consumer: "cache", EventID: "e1"}
	if out, err := c.RefreshProduct(ctx, once, tenant, product, 1, productJSON(1)); err == nil {
		t.Fatalf("RefreshProduct with a broken generation = %s, want an error", out)
	}
	if err := rdb.Del(ctx, gk).Err(); err != nil {
		t.Fatal(err)
	}
	for i, want := range []cache.Outcome{cache.Written, cache.Duplicate} {
		if out, err := c.RefreshProduct(ctx, once, tenant, product, 1, productJSON(1)); err != nil || out != want {
			t.Fatalf("delivery %d: RefreshProduct = %s, %v; want %s", i, out, err, want)
		}
	}
	if g := generation(t, c); g != 1 {
		t.Errorf("generation = %d, want 1", g)
	}
}

func TestDropUserOnce(t *testing.T) {
	rdb, prefix := newRedis(t)
	c, _ := newCache(t, rdb, prefix, nil)
	ctx := context.Background()
	uk := c.Key("tenant", "acme", "user", "u1")
	once := cache.Once{Consumer: "cache", EventID: "e1"}
	mustSet(t, rdb, uk, `{"name":"old"}`)
	if out, err := c.DropUser(ctx, once, "acme", "u1"); err != nil || out != cache.Written || exists(t, rdb, uk) {
		t.Fatalf("DropUser = %s, %v (entry left: %v); want written and the entry gone", out, err, exists(t, rdb, uk))
	}
	// A reader caches the profile again; the redelivered event must not drop it.
	mustSet(t, rdb, uk, `{"name":"new"}`)
	if out, err := c.DropUser(ctx, once, "acme", "u1"); err != nil || out != cache.Duplicate || !exists(t, rdb, uk) {
		t.Fatalf("redelivered DropUser = %s, %v (entry kept: %v); want duplicate and the entry kept", out, err, exists(t, rdb, uk))
	}
}

func TestPurgeTenantOnce(t *testing.T) {
	rdb, prefix := newRedis(t)
	c, _ := newCache(t, rdb, prefix, nil)
	ctx := context.Background()
	once := cache.Once{Consumer: "cache", EventID: "e1"}
	mustSet(t, rdb, c.Key("tenant", "acme", "user", "u1"), "x")
	if n, out, err := c.PurgeTenant(ctx, once, "acme"); err != nil || out != cache.Written || n != 1 {
		t.Fatalf("PurgeTenant = %d, %s, %v; want 1 key, written", n, out, err)
	}
	mustSet(t, rdb, c.Key("tenant", "acme", "user", "u2"), "refilled")
	if n, out, err := c.PurgeTenant(ctx, once, "acme"); err != nil || out != cache.Duplicate || n != 0 {
		t.Fatalf("redelivered PurgeTenant = %d, %s, %v; want nothing removed, duplicate", n, out, err)
	}
	if g, _ := c.ProductGeneration(ctx, "acme"); g != 1 {
		t.Errorf("generation = %d, want 1: the redelivery must not increment it", g)
	}
}

func TestOnceRefusesAColonInTheConsumer(t *testing.T) {
	c, _, _ := newProductCache(t, false)
	_, err := c.RefreshProduct(context.Background(), cache.Once{Consumer: "a:b", EventID: "e"}, tenant, product, 1, productJSON(1))
	if !errors.Is(err, cache.ErrInvalidID) {
		t.Errorf("RefreshProduct = %v, want ErrInvalidID", err)
	}
}

func TestIsUnavailable(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"refused", fmt.Errorf("refresh: %w", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}), true},
		{"reset", fmt.Errorf("x: %w", syscall.ECONNRESET), true},
		{"EOF", fmt.Errorf("x: %w", io.EOF), true},
		{"pool timeout", fmt.Errorf("x: %w", redis.ErrPoolTimeout), true},
		{"timeout", &net.OpError{Op: "read", Err: timeoutErr{}}, true},
		{"loading", redisReply("LOADING Redis is loading the dataset in memory"), true},
		{"readonly", redisReply("READONLY You can't write against a read only replica."), true},
		{"wrong type", redisReply("WRONGTYPE Operation against a key holding the wrong kind of value"), false},
		{"script error", redisReply("ERR user_script:1: Script attempted to access nonexistent global variable"), false},
		{"crossslot", redis.ErrCrossSlot, false},
		{"other", errors.New("boom"), false},
	} {
		if got := redisclient.IsUnavailable(tc.err); got != tc.want {
			t.Errorf("%s: IsUnavailable(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
	// And from a real client whose server is gone.
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second})
	defer rdb.Close()
	if err := rdb.Ping(context.Background()).Err(); !redisclient.IsUnavailable(err) {
		t.Errorf("PING to a closed port: %v, want unavailable", err)
	}
}

// redisReply is an error reply as go-redis returns it.
type redisReply string

func (e redisReply) Error() string { return string(e) }
func (redisReply) RedisError()     {}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

// testPrefix is the cache's key prefix, read back from a key it builds.
func testPrefix(c *cache.Cache) string {
	k := c.Key("x")
	return k[:len(k)-1]
}
