package cache_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/eventworker/eventworker/cache"
)

type profile struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

func TestGetJSON(t *testing.T) {
	rdb, prefix := newRedis(t)
	c, m := newCache(t, rdb, prefix, nil)
	ctx := context.Background()
	mustSet(t, rdb, c.Key("hit"), `{"name":"Alice","email":"alice@example.com"}`)
	mustSet(t, rdb, c.Key("garbage"), `{"name":`)
	mustSet(t, rdb, c.Key("wrong-shape"), `{"name":42}`)
	tests := []struct {
		name      string
		key       string
		wantFound bool
		want      profile
		wantErrs  float64 // errors{op=get} added
	}{
		{"hit", c.Key("hit"), true, profile{"Alice", "alice@example.com"}, 0},
		{"absent", c.Key("absent"), false, profile{Name: "untouched"}, 0},
		{"undecodable JSON is a miss", c.Key("garbage"), false, profile{Name: "untouched"}, 1},
		{"JSON of another shape is a miss, v untouched", c.Key("wrong-shape"), false, profile{Name: "untouched"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errsBefore := testutil.ToFloat64(m.Errors.WithLabelValues(cache.OpGet))
			got := profile{Name: "untouched"}
			found, err := c.GetJSON(ctx, tt.key, &got)
			if err != nil || found != tt.wantFound || got != tt.want {
				t.Errorf("GetJSON = %v, %v, %+v; want %v, nil, %+v", found, err, got, tt.wantFound, tt.want)
			}
			if d := testutil.ToFloat64(m.Errors.WithLabelValues(cache.OpGet)) - errsBefore; d != tt.wantErrs {
				t.Errorf("errors{op=get} grew by %v, want %v", d, tt.wantErrs)
			}
		})
	}
	if h, mi := testutil.ToFloat64(m.Hits), testutil.ToFloat64(m.Misses); h != 1 || mi != 3 {
		t.Errorf("hits, misses = %v, %v; want 1, 3", h, mi)
	}
}

func TestGetJSONRejectsNonPointers(t *testing.T) {
	rdb, prefix := newRedis(t)
	c, m := newCache(t, rdb, prefix, nil)
	var nilPtr *profile
	for _, v := range []any{nil, profile{}, nilPtr} {
		if found, err := c.GetJSON(context.Background(), c.Key("k"), v); found || !errors.Is(err, cache.ErrInvalidTarget) {
			t.Errorf("GetJSON(%T) = %v, %v; want false, ErrInvalidTarget", v, found, err)
		}
	}
	if mi := testutil.ToFloat64(m.Misses); mi != 0 {
		t.Errorf("misses = %v, want 0: a caller bug is no miss", mi)
	}
}

func TestSetJSONAndDelete(t *testing.T) {
	rdb, prefix := newRedis(t)
	c, m := newCache(t, rdb, prefix, func(cfg *cache.Config) { cfg.TTL = 20 * time.Minute })
	ctx := context.Background()
	alice := profile{"Alice", "alice@example.com"}

	if err := c.SetJSON(ctx, c.Key("default-ttl"), alice, 0); err != nil {
		t.Fatalf("SetJSON: %v", err)
	}
	checkTTL(t, rdb, c.Key("default-ttl"), 0, 20*time.Minute)
	if err := c.SetJSON(ctx, c.Key("short"), alice, 90*time.Second); err != nil {
		t.Fatalf("SetJSON: %v", err)
	}
	checkTTL(t, rdb, c.Key("short"), 0, 90*time.Second)
	var got profile
	if found, err := c.GetJSON(ctx, c.Key("short"), &got); !found || err != nil || got != alice {
		t.Errorf("GetJSON after SetJSON = %v, %v, %+v", found, err, got)
	}

	if err := c.SetJSON(ctx, c.Key("bad"), make(chan int), 0); err == nil {
		t.Error("SetJSON of a channel = nil, want an encoding error")
	}
	if err := c.SetJSON(ctx, c.Key("bad"), alice, -time.Second); err == nil {
		t.Error("SetJSON with a negative TTL = nil, want an error")
	}
	if exists(t, rdb, c.Key("bad")) {
		t.Error("a failed SetJSON wrote its key")
	}
	if got := testutil.ToFloat64(m.Errors.WithLabelValues(cache.OpSet)); got != 2 {
		t.Errorf("errors{op=set} = %v, want 2", got)
	}

	if err := c.Delete(ctx, c.Key("default-ttl"), c.Key("short"), c.Key("never-existed")); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if exists(t, rdb, c.Key("default-ttl")) || exists(t, rdb, c.Key("short")) {
		t.Error("Delete left keys behind")
	}
	if err := c.Delete(ctx); err != nil {
		t.Errorf("Delete of no key = %v, want nil", err)
	}
}

func TestDropUser(t *testing.T) {
	rdb, prefix := newRedis(t)
	c, _ := newCache(t, rdb, prefix, nil)
	ctx := context.Background()
	u1, u2 := c.Key("tenant", "acme", "user", "u1"), c.Key("tenant", "acme", "user", "u2")
	mustSet(t, rdb, u1, `{}`)
	mustSet(t, rdb, u2, `{}`)
	if _, err := c.DropUser(ctx, cache.Once{}, "acme", "u1"); err != nil {
		t.Fatalf("DropUser: %v", err)
	}
	if exists(t, rdb, u1) || !exists(t, rdb, u2) {
		t.Error("DropUser(u1) must remove u1's profile and only it")
	}
	if _, err := c.DropUser(ctx, cache.Once{}, "acme", "u1"); err != nil {
		t.Errorf("DropUser of an absent profile = %v, want nil", err)
	}
	if _, err := c.DropUser(ctx, cache.Once{}, "acme", ""); !errors.Is(err, cache.ErrInvalidID) {
		t.Errorf("DropUser with an empty user = %v, want ErrInvalidID", err)
	}
}

// TestRedisDown checks every operation against a closed client and an address where nothing
// listens: reads degrade to counted misses, writes and invalidations return errors.
func TestRedisDown(t *testing.T) {
	clients := map[string]func(t *testing.T) *redis.Client{
		"unreachable": func(t *testing.T) *redis.Client {
			rdb := redis.NewClient(&redis.Options{Addr: closedAddr(t), MaxRetries: -1, DialTimeout: time.Second, DialerRetries: 1})
			t.Cleanup(func() { _ = rdb.Close() })
			return rdb
		},
		"closed": func(t *testing.T) *redis.Client {
			rdb := redis.NewClient(&redis.Options{Addr: closedAddr(t)})
			_ = rdb.Close()
			return rdb
		},
	}
	for name, newClient := range clients {
		t.Run(name, func(t *testing.T) {
			c, m := newCache(t, newClient(t), "p:", nil)
			ctx := context.Background()
			var v profile
			if found, err := c.GetJSON(ctx, c.Key("k"), &v); found || err != nil {
				t.Errorf("GetJSON = %v, %v; want false, nil", found, err)
			}
			writes := map[string]func() error{
				cache.OpSet:    func() error { return c.SetJSON(ctx, c.Key("k"), v, 0) },
				cache.OpDelete: func() error { return c.Delete(ctx, c.Key("k")) },
				cache.OpPurge: func() error {
					_, err := c.Purge(ctx, c.PatternPrefix("tenant", "acme"), nil)
					return err
				},
				cache.OpRefreshProduct: func() error {
					_, err := c.RefreshProduct(ctx, cache.Once{}, "acme", "p1", 1, []byte(`{"version":1}`))
					return err
				},
				cache.OpPurgeTenant: func() error { _, _, err := c.PurgeTenant(ctx, cache.Once{}, "acme"); return err },
				cache.OpDropUser:    func() error { _, err := c.DropUser(ctx, cache.Once{}, "acme", "u1"); return err },
				cache.OpProductGeneration: func() error {
					_, err := c.ProductGeneration(ctx, "acme")
					return err
				},
			}
			for op, f := range writes {
				if err := f(); err == nil {
					t.Errorf("%s with Redis down = nil, want an error", op)
				}
			}
			for _, op := range cache.AllOps() {
				if got := testutil.ToFloat64(m.Errors.WithLabelValues(op)); got != 1 {
					t.Errorf("errors{op=%s} = %v, want 1", op, got)
				}
			}
			if got := testutil.ToFloat64(m.Misses); got != 1 {
				t.Errorf("misses = %v, want 1", got)
			}
		})
	}
}
