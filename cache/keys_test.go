package cache_test

import (
	"testing"

	"github.com/eventworker/eventworker/cache"
)

func TestKeysAndPatterns(t *testing.T) {
	tests := []struct {
		prefix                   string
		parts                    []string
		key, pattern, prefixGlob string
	}{
		{"", []string{"tenant", "acme"}, "tenant:acme", "tenant:acme", `tenant:acme:*`},
		{"shop:", []string{"tenant", "acme", "user", "u1"}, "shop:tenant:acme:user:u1", "shop:tenant:acme:user:u1", `shop:tenant:acme:user:u1:*`},
		{"", []string{"tenant", "a*"}, "tenant:a*", `tenant:a\*`, `tenant:a\*:*`},
		{"", []string{"tenant", "a?"}, "tenant:a?", `tenant:a\?`, `tenant:a\?:*`},
		{"", []string{"tenant", "[ab]"}, "tenant:[ab]", `tenant:\[ab\]`, `tenant:\[ab\]:*`},
		{"", []string{"tenant", `a\`}, `tenant:a\`, `tenant:a\\`, `tenant:a\\:*`},
		{"", []string{"tenant", "é*ü"}, "tenant:é*ü", `tenant:é\*ü`, `tenant:é\*ü:*`},
		{"p[1]*:", []string{"tenant", "x"}, "p[1]*:tenant:x", `p\[1\]\*:tenant:x`, `p\[1\]\*:tenant:x:*`},
		{"p?:", nil, "p?:", `p\?:`, `p\?:*`},
	}
	for _, tt := range tests {
		c, err := cache.New(cacheClientStub(t), cache.Config{Prefix: tt.prefix})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		if got := c.Key(tt.parts...); got != tt.key {
			t.Errorf("Key(%q) with prefix %q = %q, want %q", tt.parts, tt.prefix, got, tt.key)
		}
		if got := c.Pattern(tt.parts...); got != tt.pattern {
			t.Errorf("Pattern(%q) with prefix %q = %q, want %q", tt.parts, tt.prefix, got, tt.pattern)
		}
		if got := c.PatternPrefix(tt.parts...); got != tt.prefixGlob {
			t.Errorf("PatternPrefix(%q) with prefix %q = %q, want %q", tt.parts, tt.prefix, got, tt.prefixGlob)
		}
	}
}

func TestHashTag(t *testing.T) {
	tests := []struct{ key, want string }{
		{"tenant:acme:product:p1", "tenant:acme:product:p1"},
		{"{shop}:tenant:acme", "shop"},
		{"a{b}c{d}", "b"},
		{"a{}b{c}", "a{}b{c}"}, // an empty first tag: the whole key
		{"a{b", "a{b"},
		{"a}b{c}", "c"},
	}
	for _, tt := range tests {
		if got := cache.HashTag(tt.key); got != tt.want {
			t.Errorf("HashTag(%q) = %q, want %q", tt.key, got, tt.want)
		}
	}
}

// TestVersionKeySharesTheProductSlot checks that a product key and its version record hash to
// one Redis Cluster slot, that the record is outside tenant: and that records differ per key.
func TestVersionKeySharesTheProductSlot(t *testing.T) {
	tests := []struct {
		prefix, tenant, product, want string
	}{
		{"", "acme", "p1", "eventworker:cache:product-version:{tenant:acme:product:p1}"},
		{"shop:", "acme", "p1", "shop:eventworker:cache:product-version:{shop:tenant:acme:product:p1}"},
		{"{shop}:", "acme", "p1", "{shop}:eventworker:cache:product-version:{shop}:{shop}:tenant:acme:product:p1"},
		{"{shop}:", "acme", "p2", "{shop}:eventworker:cache:product-version:{shop}:{shop}:tenant:acme:product:p2"},
		{"", "{acme}", "p1", "eventworker:cache:product-version:{acme}:tenant:{acme}:product:p1"},
	}
	for _, tt := range tests {
		c, err := cache.New(cacheClientStub(t), cache.Config{Prefix: tt.prefix})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		pk := c.Key("tenant", tt.tenant, "product", tt.product)
		got := c.VersionKey(pk)
		if got != tt.want {
			t.Errorf("VersionKey(%q) = %q, want %q", pk, got, tt.want)
		}
		if cache.HashTag(got) != cache.HashTag(pk) {
			t.Errorf("%q and %q hash to different slots", got, pk)
		}
	}
}
