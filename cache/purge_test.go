package cache_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/eventworker/eventworker/cache"
)

// seedTenant writes one key of each kind the contract lists for tenant, with generation gen
// (none when 0), and returns the keys a purge of the tenant must remove.
func seedTenant(t *testing.T, c *cache.Cache, rdb *redis.Client, tenant string, gen int) []string {
	t.Helper()
	removable := []string{
		c.Key("tenant", tenant, "product", "p1"),
		c.Key("tenant", tenant, "user", "u1"),
		c.Key("tenant", tenant, "products", "7", "page=1"),
		c.Key("tenant", tenant, "something", "else"),
	}
	for _, k := range removable {
		mustSet(t, rdb, k, `{"tenant":"`+tenant+`"}`)
	}
	if gen > 0 {
		mustSet(t, rdb, c.Key("tenant", tenant, "products", "gen"), gen)
	}
	return removable
}

// TestPurgeTenantEscapesGlobs purges a tenant whose ID holds a glob character next to
// tenants its unescaped pattern would match, and checks that only its keys go.
func TestPurgeTenantEscapesGlobs(t *testing.T) {
	tests := []struct {
		purged string
		others []string // tenants an unescaped pattern would (or might) also match
	}{
		{"a*", []string{"ab", "a", "a*b"}},
		{"a?", []string{"ab", "ax"}},
		{"[ab]", []string{"a", "b"}},
		{"[^x]", []string{"a", "^"}},
		{"a]", []string{"a"}},
		{`a\`, []string{"a", `a\b`}}, // unescaped, "a\:*" would match tenant a's "a:..."
		{`a\*`, []string{`a\b`, `a\`}},
		{"*", []string{"a", "*x"}},
		{"plain", []string{"plainer", "plai"}},
	}
	for _, tt := range tests {
		t.Run(tt.purged, func(t *testing.T) {
			rdb, prefix := newRedis(t)
			c, m := newCache(t, rdb, prefix, nil)
			ctx := context.Background()
			gone := seedTenant(t, c, rdb, tt.purged, 5)
			var kept []string
			for i, o := range tt.others {
				kept = append(kept, seedTenant(t, c, rdb, o, 10+i)...)
			}
			worker := c.Key("eventworker", "idem", "cache", tt.purged)
			mustSet(t, rdb, worker, "done")

			n, _, err := c.PurgeTenant(ctx, cache.Once{}, tt.purged)
			if err != nil {
				t.Fatalf("PurgeTenant: %v", err)
			}
			if n != int64(len(gone)) {
				t.Errorf("PurgeTenant removed %d keys, want %d", n, len(gone))
			}
			for _, k := range gone {
				if exists(t, rdb, k) {
					t.Errorf("%s survived the purge", k)
				}
			}
			for _, k := range append(kept, worker) {
				if !exists(t, rdb, k) {
					t.Errorf("%s was removed by the purge of tenant %q", k, tt.purged)
				}
			}
			for i, o := range tt.others {
				if got := mustGet(t, rdb, c.Key("tenant", o, "products", "gen")); got != fmt.Sprint(10+i) {
					t.Errorf("generation of tenant %q = %s, want %d untouched", o, got, 10+i)
				}
			}
			if got := mustGet(t, rdb, c.Key("tenant", tt.purged, "products", "gen")); got != "6" {
				t.Errorf("generation of the purged tenant = %s, want 6 (incremented)", got)
			}
			if got := testutil.ToFloat64(m.KeysPurged); got != float64(len(gone)) {
				t.Errorf("keys purged metric = %v, want %d", got, len(gone))
			}
		})
	}
}

// TestPurgeTenantEscapesThePrefix purges with a prefix holding glob characters, beside a
// cache whose prefix the unescaped pattern would match.
func TestPurgeTenantEscapesThePrefix(t *testing.T) {
	rdb, base := newRedis(t)
	globby, _ := newCache(t, rdb, base+"p*[?]\\:", nil)
	neighbour, _ := newCache(t, rdb, base+"pX[?]\\:", nil)
	seedTenant(t, globby, rdb, "acme", 0)
	kept := seedTenant(t, neighbour, rdb, "acme", 0)
	if _, _, err := globby.PurgeTenant(context.Background(), cache.Once{}, "acme"); err != nil {
		t.Fatalf("PurgeTenant: %v", err)
	}
	for _, k := range kept {
		if !exists(t, rdb, k) {
			t.Errorf("%s, under another prefix, was removed", k)
		}
	}
	if exists(t, rdb, globby.Key("tenant", "acme", "product", "p1")) {
		t.Error("the purged tenant's product survived")
	}
}

func TestPurgeTenantAbsentGenerationStartsAt1(t *testing.T) {
	rdb, prefix := newRedis(t)
	c, _ := newCache(t, rdb, prefix, nil)
	for want := int64(1); want <= 2; want++ {
		if _, _, err := c.PurgeTenant(context.Background(), cache.Once{}, "acme"); err != nil {
			t.Fatalf("PurgeTenant: %v", err)
		}
		if got, _ := c.ProductGeneration(context.Background(), "acme"); got != want {
			t.Errorf("generation after purge %d = %d, want %d: a generation is never reused", want, got, want)
		}
	}
	if _, _, err := c.PurgeTenant(context.Background(), cache.Once{}, ""); !errors.Is(err, cache.ErrInvalidID) {
		t.Errorf("PurgeTenant(\"\") = %v, want ErrInvalidID", err)
	}
}

// TestPurgeTenantManyBatches purges more keys than many batches hold, on both paths.
func TestPurgeTenantManyBatches(t *testing.T) {
	modes(t, func(t *testing.T, cluster bool) {
		rdb, prefix := newRedis(t)
		c, m := newCache(t, rdb, prefix, func(cfg *cache.Config) { cfg.PurgeBatch = 100 })
		if cluster {
			cache.ForceClusterPath(c)
		}
		ctx := context.Background()
		const n, others = 5000, 1000
		load(t, rdb, c, "acme", n)
		load(t, rdb, c, "acme2", others)
		removed, _, err := c.PurgeTenant(ctx, cache.Once{}, "acme")
		if err != nil {
			t.Fatalf("PurgeTenant: %v", err)
		}
		if removed != n || testutil.ToFloat64(m.KeysPurged) != n {
			t.Errorf("removed %d (metric %v), want %d", removed, testutil.ToFloat64(m.KeysPurged), n)
		}
		if got := countKeys(t, rdb, c.PatternPrefix("tenant", "acme")); got != 1 { // the generation
			t.Errorf("%d keys left under tenant acme, want 1 (the generation)", got)
		}
		if got := countKeys(t, rdb, c.PatternPrefix("tenant", "acme2")); got != others {
			t.Errorf("%d keys left under tenant acme2, want %d", got, others)
		}
	})
}

// load writes n product keys for tenant, pipelined in MSETs of 1,000.
func load(t testing.TB, rdb *redis.Client, c *cache.Cache, tenant string, n int) {
	t.Helper()
	ctx := context.Background()
	_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		kv := make([]any, 0, 2000)
		for i := range n {
			kv = append(kv, c.Key("tenant", tenant, "product", fmt.Sprint(i)), `{"version":1}`)
			if len(kv) == cap(kv) || i == n-1 {
				p.MSet(ctx, kv...)
				kv = make([]any, 0, 2000)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("load %d keys: %v", n, err)
	}
}

// countKeys counts the keys matching pattern with SCAN.
func countKeys(t *testing.T, rdb *redis.Client, pattern string) int {
	t.Helper()
	n := 0
	iter := rdb.Scan(context.Background(), 0, pattern, 1000).Iterator()
	for iter.Next(context.Background()) {
		n++
	}
	if err := iter.Err(); err != nil {
		t.Fatalf("scan %s: %v", pattern, err)
	}
	return n
}

func TestPurge(t *testing.T) {
	rdb, prefix := newRedis(t)
	c, _ := newCache(t, rdb, prefix, nil)
	ctx := context.Background()
	seedTenant(t, c, rdb, "acme", 3)
	seedTenant(t, c, rdb, "acme:eu", 4) // its generation ends in :products:gen too
	record := c.Key("eventworker", "cache", "product-version", "{x}")
	mustSet(t, rdb, record, "3")

	// keep spares the users; the protected keys survive whatever keep says.
	n, err := c.Purge(ctx, c.PatternPrefix(), func(k string) bool { return strings.Contains(k, ":user:") })
	if err != nil {
		t.Fatalf("Purge: %v", err)
	}
	if n != 6 { // product, list, something:else of each tenant
		t.Errorf("Purge removed %d keys, want 6", n)
	}
	for _, k := range []string{
		c.Key("tenant", "acme", "user", "u1"), c.Key("tenant", "acme:eu", "user", "u1"),
		c.Key("tenant", "acme", "products", "gen"), c.Key("tenant", "acme:eu", "products", "gen"), record,
	} {
		if !exists(t, rdb, k) {
			t.Errorf("%s was removed", k)
		}
	}
	if n, err := c.Purge(ctx, c.Pattern("tenant", "acme", "user", "u1"), nil); err != nil || n != 1 {
		t.Errorf("Purge of one exact key = %d, %v; want 1, nil", n, err)
	}
}

// TestPurgeTenantPrefixOfAnother documents the contract's limit: "acme:eu" lives under
// "acme"'s pattern, so its cache goes with acme's, but never its generation.
func TestPurgeTenantPrefixOfAnother(t *testing.T) {
	rdb, prefix := newRedis(t)
	c, _ := newCache(t, rdb, prefix, nil)
	seedTenant(t, c, rdb, "acme:eu", 4)
	if _, _, err := c.PurgeTenant(context.Background(), cache.Once{}, "acme"); err != nil {
		t.Fatalf("PurgeTenant: %v", err)
	}
	if got := mustGet(t, rdb, c.Key("tenant", "acme:eu", "products", "gen")); got != "4" {
		t.Errorf("generation of acme:eu = %s, want 4, kept", got)
	}
}

func TestPurgeRejectsPatternsOutsideThePrefix(t *testing.T) {
	rdb, prefix := newRedis(t)
	c, m := newCache(t, rdb, prefix, nil)
	for _, p := range []string{"", "*", "tenant:*", "other:" + prefix + "*"} {
		if _, err := c.Purge(context.Background(), p, nil); !errors.Is(err, cache.ErrInvalidPattern) {
			t.Errorf("Purge(%q) = %v, want ErrInvalidPattern", p, err)
		}
	}
	if got := testutil.ToFloat64(m.Errors.WithLabelValues(cache.OpPurge)); got != 4 {
		t.Errorf("errors{op=purge} = %v, want 4", got)
	}
}
