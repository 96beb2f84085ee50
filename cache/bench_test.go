package cache_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/eventworker/eventworker/cache"
	"github.com/eventworker/eventworker/internal/bench"
	"github.com/eventworker/eventworker/internal/testenv"
)

// The benchmarks use database 15 of the test Redis, not 0, so the up to 1.1M keys they load
// neither slow the tests' SCANs nor show up in anyone's database 0. They never FLUSHDB, not
// even database 15: the instance is shared and another benchmark may use it too. Each loads
// its keys under a prefix of its own and removes exactly those, with SCAN and UNLINK batches.
//
//	go test -run '^$' -bench RefreshProduct -benchtime 2000x ./cache/
//	go test -run '^$' -bench PurgeTenant -benchtime 10x ./cache/
const benchDB = 15

// benchRedis connects to database 15 and returns a prefix of its own, removed at the end.
func benchRedis(b *testing.B) (*redis.Client, string) {
	b.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: testenv.RedisAddr(b), DB: benchDB})
	prefix := testenv.Name("cachebench") + ":"
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if err := testenv.DeletePrefix(ctx, rdb, prefix); err != nil {
			b.Error(err)
		}
		_ = rdb.Close()
	})
	return rdb, prefix
}

// loadKeys writes n small keys named prefix + i with bench.LoadKeys, and checks the last.
func loadKeys(b *testing.B, rdb *redis.Client, prefix string, n int) {
	b.Helper()
	ctx := context.Background()
	if err := bench.LoadKeys(ctx, rdb, prefix, n); err != nil {
		b.Fatalf("load keys %s*: %v", prefix, err)
	}
	if n > 0 && rdb.Exists(ctx, prefix+strconv.Itoa(n-1)).Val() != 1 {
		b.Fatalf("load keys %s*: the last key is missing", prefix)
	}
}

// BenchmarkRefreshProduct writes new versions of 100 products of one tenant, in a keyspace
// holding 0, 100k and 1M unrelated keys: the cost must not depend on the keyspace's size.
func BenchmarkRefreshProduct(b *testing.B) {
	for _, unrelated := range []int{0, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("unrelated=%d", unrelated), func(b *testing.B) {
			rdb, prefix := benchRedis(b)
			loadKeys(b, rdb, prefix+"filler:", unrelated)
			c, _ := newCache(b, rdb, prefix, nil)
			ctx := context.Background()
			var v int64
			// Warm up off the clock: the connection pool, and Redis's cache of the script.
			for range 100 {
				v++
				if _, err := c.RefreshProduct(ctx, cache.Once{}, "acme", "prod-"+strconv.FormatInt(v%100, 10), v, productJSON(v)); err != nil {
					b.Fatalf("warm-up: %v", err)
				}
			}
			for b.Loop() {
				v++
				written, err := c.RefreshProduct(ctx, cache.Once{}, "acme", "prod-"+strconv.FormatInt(v%100, 10), v, productJSON(v))
				if err != nil || written != cache.Written {
					b.Fatalf("RefreshProduct v%d = %v, %v", v, written, err)
				}
			}
		})
	}
}

// BenchmarkPurgeTenant purges a tenant of 10,000 keys per iteration, next to 100,000
// unrelated keys its SCAN walks too, and reports the tenant keys removed per second.
func BenchmarkPurgeTenant(b *testing.B) {
	const tenantKeys, unrelated = 10_000, 100_000
	rdb, prefix := benchRedis(b)
	loadKeys(b, rdb, prefix+"filler:", unrelated)
	c, _ := newCache(b, rdb, prefix, nil)
	ctx := context.Background()
	var (
		removed int64
		purging time.Duration
		i       int
	)
	for b.Loop() {
		b.StopTimer()
		i++
		tenant := "t" + strconv.Itoa(i)
		loadKeys(b, rdb, c.Key("tenant", tenant, "product")+":", tenantKeys)
		b.StartTimer()
		start := time.Now()
		n, _, err := c.PurgeTenant(ctx, cache.Once{}, tenant)
		purging += time.Since(start)
		if err != nil || n != tenantKeys {
			b.Fatalf("PurgeTenant(%s) = %d, %v; want %d", tenant, n, err, tenantKeys)
		}
		removed += n
	}
	b.ReportMetric(float64(removed)/purging.Seconds(), "keys/s")
}
