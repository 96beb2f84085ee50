package cache_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/eventworker/eventworker/cache"
)

const tenant, product = "acme", "prod-7"

// productJSON is the cached data of version v, with its "version" as the contract has it.
func productJSON(v int64) []byte {
	return fmt.Appendf(nil, `{"product_id":%q,"name":"Blue mug v%d","price":19.99,"version":%d}`, product, v, v)
}

// modes runs f on the single-server path and on the Cluster path (forced on the test server).
func modes(t *testing.T, f func(t *testing.T, cluster bool)) {
	for _, m := range []struct {
		name    string
		cluster bool
	}{{"single", false}, {"cluster-path", true}} {
		t.Run(m.name, func(t *testing.T) { f(t, m.cluster) })
	}
}

func newProductCache(t *testing.T, cluster bool) (*cache.Cache, *cache.Metrics, *redis.Client) {
	rdb, prefix := newRedis(t)
	c, m := newCache(t, rdb, prefix, nil)
	if cluster {
		cache.ForceClusterPath(c)
	}
	return c, m, rdb
}

// cachedVersion returns the "version" of the cached product, 0 when the key is absent.
func cachedVersion(t *testing.T, c *cache.Cache, rdb *redis.Client) int64 {
	t.Helper()
	raw, err := rdb.Get(context.Background(), c.Key("tenant", tenant, "product", product)).Bytes()
	if errors.Is(err, redis.Nil) {
		return 0
	}
	if err != nil {
		t.Fatalf("GET product: %v", err)
	}
	var doc struct{ Version int64 }
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("cached product %s: %v", raw, err)
	}
	return doc.Version
}

func generation(t *testing.T, c *cache.Cache) int64 {
	t.Helper()
	g, err := c.ProductGeneration(context.Background(), tenant)
	if err != nil {
		t.Fatalf("ProductGeneration: %v", err)
	}
	return g
}

// guardStep is one step of a version-guard scenario.
type guardStep struct {
	do      string // refresh, drop-product (as if expired), drop-record, purge-tenant, set-product
	version int64  // refresh: the version
	raw     string // set-product: the value, as written before the worker existed
	written bool   // refresh: the expected result
}

func refresh(v int64, written bool) guardStep {
	return guardStep{do: "refresh", version: v, written: written}
}

func TestRefreshProductVersionGuard(t *testing.T) {
	dropProduct := guardStep{do: "drop-product"}
	dropRecord := guardStep{do: "drop-record"}
	purge := guardStep{do: "purge-tenant"}
	legacy := func(raw string) guardStep { return guardStep{do: "set-product", raw: raw} }
	tests := []struct {
		name        string
		steps       []guardStep
		wantVersion int64 // cached at the end; 0 for absent
		wantGen     int64
	}{
		{"in order", []guardStep{refresh(1, true), refresh(2, true), refresh(3, true)}, 3, 3},
		{"out of order: v3 then v2", []guardStep{refresh(3, true), refresh(2, false)}, 3, 1},
		{"same version repeated", []guardStep{refresh(2, true), refresh(2, false), refresh(2, false)}, 2, 1},
		{"more digits is newer", []guardStep{refresh(9, true), refresh(10, true), refresh(9, false)}, 10, 2},
		{"beyond 2^53, exactly", []guardStep{
			// As doubles, 2^53 and 2^53+1 are equal.
			refresh(1<<53, true), refresh(1<<53+1, true), refresh(1<<53, false), refresh(1<<53+1, false),
		}, 1<<53 + 1, 2},
		{"product key expired: older and equal refused, newer written", []guardStep{
			refresh(3, true), dropProduct, refresh(2, false), refresh(3, false), refresh(4, true),
		}, 4, 2},
		{"tenant purged: older refused, newer written", []guardStep{
			refresh(3, true), purge, refresh(2, false), refresh(3, false), refresh(4, true),
		}, 4, 3}, // 1 write, 1 purge, 1 write
		{"record expired: the cached product's version guards", []guardStep{
			refresh(3, true), dropRecord, refresh(2, false), refresh(4, true), refresh(4, false),
		}, 4, 2},
		{"product cached before the worker", []guardStep{
			legacy(`{"product_id":"prod-7","version":5}`), refresh(4, false), refresh(5, false), refresh(6, true),
		}, 6, 1},
		{"product cached before the worker without version: it is 1", []guardStep{
			legacy(`{"product_id":"prod-7"}`), refresh(1, false), refresh(2, true),
		}, 2, 1},
		{"undecodable cached value is replaced", []guardStep{legacy(`not json`), refresh(1, true)}, 1, 1},
		// Nothing newer is known once both are gone: the accepted case of the package doc.
		{"product and record both expired: an older version is written", []guardStep{
			refresh(3, true), dropProduct, dropRecord, refresh(2, true),
		}, 2, 2},
	}
	modes(t, func(t *testing.T, cluster bool) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c, _, rdb := newProductCache(t, cluster)
				ctx := context.Background()
				pk := c.Key("tenant", tenant, "product", product)
				for i, s := range tt.steps {
					var err error
					switch s.do {
					case "refresh":
						var out cache.Outcome
						out, err = c.RefreshProduct(ctx, cache.Once{}, tenant, product, s.version, productJSON(s.version))
						if written := out == cache.Written; err == nil && written != s.written {
							t.Fatalf("step %d: RefreshProduct(v%d) = %s, want written %v", i, s.version, out, s.written)
						}
					case "drop-product":
						err = rdb.Del(ctx, pk).Err()
					case "drop-record":
						err = rdb.Del(ctx, c.VersionKey(pk)).Err()
					case "purge-tenant":
						_, _, err = c.PurgeTenant(ctx, cache.Once{}, tenant)
					case "set-product":
						err = rdb.Set(ctx, pk, s.raw, time.Hour).Err()
					}
					if err != nil {
						t.Fatalf("step %d (%s): %v", i, s.do, err)
					}
				}
				if got := cachedVersion(t, c, rdb); got != tt.wantVersion {
					t.Errorf("cached version = %d, want %d", got, tt.wantVersion)
				}
				if got := generation(t, c); got != tt.wantGen {
					t.Errorf("generation = %d, want %d", got, tt.wantGen)
				}
				// The record holds the cached version, with no increment left owed.
				if got := mustGet(t, rdb, c.VersionKey(pk)); got != strconv.FormatInt(tt.wantVersion, 10) {
					t.Errorf("version record = %q, want %d", got, tt.wantVersion)
				}
			})
		}
	})
}

func TestRefreshProductKeysAndTTLs(t *testing.T) {
	modes(t, func(t *testing.T, cluster bool) {
		rdb, prefix := newRedis(t)
		c, _ := newCache(t, rdb, prefix, func(cfg *cache.Config) {
			cfg.TTL = 10 * time.Minute
			cfg.VersionTTL = 48 * time.Hour
		})
		if cluster {
			cache.ForceClusterPath(c)
		}
		ctx := context.Background()
		if _, err := c.RefreshProduct(ctx, cache.Once{}, tenant, product, 2, productJSON(2)); err != nil {
			t.Fatalf("RefreshProduct: %v", err)
		}
		pk := prefix + "tenant:acme:product:prod-7"
		vk := prefix + "eventworker:cache:product-version:{" + pk + "}"
		if got := c.VersionKey(pk); got != vk {
			t.Errorf("version record key = %q, want %q", got, vk)
		}
		if got := mustGet(t, rdb, pk); got != string(productJSON(2)) {
			t.Errorf("product = %s, want %s", got, productJSON(2))
		}
		if got := mustGet(t, rdb, prefix+"tenant:acme:products:gen"); got != "1" {
			t.Errorf("generation = %s, want 1", got)
		}
		checkTTL(t, rdb, pk, 0, 10*time.Minute)
		checkTTL(t, rdb, vk, 10*time.Minute, 48*time.Hour)
		// The generation is a counter, never expiring: readers key lists by it.
		if ttl := rdb.PTTL(ctx, prefix+"tenant:acme:products:gen").Val(); ttl != -1 {
			t.Errorf("generation PTTL = %s, want none (-1)", ttl)
		}
	})
}

// checkTTL asserts that key's TTL is in (lo, hi].
func checkTTL(t *testing.T, rdb *redis.Client, key string, lo, hi time.Duration) {
	t.Helper()
	ttl, err := rdb.PTTL(context.Background(), key).Result()
	if err != nil {
		t.Fatalf("PTTL %s: %v", key, err)
	}
	if ttl <= lo || ttl > hi {
		t.Errorf("PTTL %s = %s, want in (%s, %s]", key, ttl, lo, hi)
	}
}

func TestRefreshProductRejectsBadArguments(t *testing.T) {
	c, m, rdb := newProductCache(t, false)
	ctx := context.Background()
	tests := []struct {
		name            string
		tenant, product string
		version         int64
		json            string
		want            error
	}{
		{"version 0", tenant, product, 0, `{"version":0}`, cache.ErrInvalidProduct},
		{"negative version", tenant, product, -3, `{}`, cache.ErrInvalidProduct},
		{"JSON array", tenant, product, 1, `[1]`, cache.ErrInvalidProduct},
		{"JSON null", tenant, product, 1, `null`, cache.ErrInvalidProduct},
		{"empty", tenant, product, 1, ``, cache.ErrInvalidProduct},
		{"truncated", tenant, product, 1, `{"version":1`, cache.ErrInvalidProduct},
		{"version differs", tenant, product, 3, `{"version":2}`, cache.ErrInvalidProduct},
		{"version not a number", tenant, product, 3, `{"version":"three"}`, cache.ErrInvalidProduct},
		{"empty tenant", "", product, 1, `{}`, cache.ErrInvalidID},
		{"empty product", tenant, "", 1, `{}`, cache.ErrInvalidID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			written, err := c.RefreshProduct(ctx, cache.Once{}, tt.tenant, tt.product, tt.version, []byte(tt.json))
			if !errors.Is(err, tt.want) || written != 0 {
				t.Errorf("RefreshProduct = %v, %v; want false, %v", written, err, tt.want)
			}
		})
	}
	if got := testutil.ToFloat64(m.Errors.WithLabelValues(cache.OpRefreshProduct)); got != float64(len(tests)) {
		t.Errorf("errors{op=refresh_product} = %v, want %d", got, len(tests))
	}
	for _, k := range []string{c.Key("tenant", tenant, "product", product), c.Key("tenant", tenant, "products", "gen")} {
		if exists(t, rdb, k) {
			t.Errorf("a rejected refresh wrote %s", k)
		}
	}
}

func TestRefreshProductAcceptsContractVersions(t *testing.T) {
	c, _, _ := newProductCache(t, false)
	ctx := context.Background()
	// 2.0 is the integer 2 (the contract accepts 42.0 for an integer); a product.created
	// without version is version 1 and its data may lack the field.
	for i, tt := range []struct {
		version int64
		json    string
	}{{1, `{"name":"no version field"}`}, {2, `{"version":2.0}`}, {3, ` {"version":"3"}`}} {
		written, err := c.RefreshProduct(ctx, cache.Once{}, tenant, product, tt.version, []byte(tt.json))
		if err != nil || written != cache.Written {
			t.Errorf("%d: RefreshProduct(%d, %s) = %v, %v; want written, nil", i, tt.version, tt.json, written, err)
		}
	}
}

// TestRefreshProductOwedIncrement makes the generation's INCR fail (the key holds no
// integer) and checks that the handler's retry of the same version repairs it.
func TestRefreshProductOwedIncrement(t *testing.T) {
	modes(t, func(t *testing.T, cluster bool) {
		c, _, rdb := newProductCache(t, cluster)
		ctx := context.Background()
		pk, gk := c.Key("tenant", tenant, "product", product), c.Key("tenant", tenant, "products", "gen")
		mustSet(t, rdb, gk, "not a number")
		if written, err := c.RefreshProduct(ctx, cache.Once{}, tenant, product, 1, productJSON(1)); err == nil || written != 0 {
			t.Fatalf("RefreshProduct with a broken generation = %v, %v; want false, an error", written, err)
		}
		if cluster {
			// The product is written and the record says the increment is owed.
			if got := mustGet(t, rdb, c.VersionKey(pk)); got != "1"+cache.PendingSuffix {
				t.Errorf("version record = %q, want the owed mark", got)
			}
		} else if exists(t, rdb, pk) || exists(t, rdb, c.VersionKey(pk)) {
			// The script failed before writing anything.
			t.Error("a failed script left the product or its record written")
		}
		if err := rdb.Del(ctx, gk).Err(); err != nil {
			t.Fatal(err)
		}
		for i, want := range []bool{true, false} { // the retry, then a redelivery
			written, err := c.RefreshProduct(ctx, cache.Once{}, tenant, product, 1, productJSON(1))
			if err != nil || (written == cache.Written) != want {
				t.Fatalf("attempt %d: RefreshProduct = %v, %v; want %v, nil", i, written, err, want)
			}
		}
		if got := generation(t, c); got != 1 {
			t.Errorf("generation = %d, want 1", got)
		}
		if got := mustGet(t, rdb, c.VersionKey(pk)); got != "1" {
			t.Errorf("version record = %q, want 1", got)
		}
	})
}

// TestRefreshProductRace has two workers (two clients, two Caches), each with two goroutines,
// all writing versions 1..n of one product in their own random order. On one server each
// version is written once; on the Cluster path a version may also be reported by a call that
// paid its owed generation increment, and the generation counts every report.
func TestRefreshProductRace(t *testing.T) {
	modes(t, func(t *testing.T, cluster bool) {
		rdb1, prefix := newRedis(t)
		rdb2 := redis.NewClient(&redis.Options{Addr: rdb1.Options().Addr})
		t.Cleanup(func() { _ = rdb2.Close() })
		workers := make([]*cache.Cache, 2)
		for i, rdb := range []*redis.Client{rdb1, rdb2} {
			workers[i], _ = newCache(t, rdb, prefix, nil)
			if cluster {
				cache.ForceClusterPath(workers[i])
			}
		}
		const n = 150
		var (
			writes   atomic.Int64
			wg       sync.WaitGroup
			start    = make(chan struct{})
			failures = make(chan error, 4*n)
			seen     sync.Map // version -> true once written, to catch a version written twice
		)
		for g := range 4 {
			c := workers[g%2]
			wg.Go(func() {
				<-start
				for _, i := range rand.Perm(n) {
					v := int64(i + 1)
					written, err := c.RefreshProduct(context.Background(), cache.Once{}, tenant, product, v, productJSON(v))
					if err != nil {
						failures <- err
						return
					}
					if written == cache.Written {
						writes.Add(1)
						// On the Cluster path a call that finds the increment of its version
						// still owed (another call wrote it and has not settled yet) pays it
						// again and reports written: an extra generation bump, one cache miss
						// of the lists, by design, so that a crash never leaves one unpaid.
						if _, dup := seen.LoadOrStore(v, true); dup && !cluster {
							failures <- fmt.Errorf("version %d written twice", v)
						}
					}
				}
			})
		}
		close(start)
		wg.Wait()
		close(failures)
		for err := range failures {
			t.Error(err)
		}
		if got := cachedVersion(t, workers[0], rdb1); got != n {
			t.Errorf("cached version = %d, want the highest, %d", got, n)
		}
		if got, w := generation(t, workers[1]), writes.Load(); got != w || w < 1 {
			t.Errorf("generation = %d, versions written = %d: want equal and at least 1", got, w)
		}
	})
}

func TestProductGeneration(t *testing.T) {
	c, _, rdb := newProductCache(t, false)
	ctx := context.Background()
	if got := generation(t, c); got != 0 {
		t.Errorf("absent generation = %d, want 0", got)
	}
	mustSet(t, rdb, c.Key("tenant", tenant, "products", "gen"), 41)
	if got := generation(t, c); got != 41 {
		t.Errorf("generation = %d, want 41", got)
	}
	if _, err := c.ProductGeneration(ctx, ""); !errors.Is(err, cache.ErrInvalidID) {
		t.Errorf("ProductGeneration(\"\") = %v, want ErrInvalidID", err)
	}
}
