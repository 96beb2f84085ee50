package cache_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/eventworker/eventworker/cache"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  cache.Config
		want []string // every problem the error must mention; none for a valid config
	}{
		{"zero value takes the defaults", cache.Config{}, nil},
		{"explicit values", cache.Config{Prefix: "shop:", TTL: time.Minute, VersionTTL: time.Hour, PurgeBatch: 10_000}, nil},
		{"negative TTL", cache.Config{TTL: -time.Second}, []string{"TTL -1s"}},
		{"sub-millisecond TTL", cache.Config{TTL: time.Microsecond}, []string{"TTL 1µs"}},
		{"version record shorter than the product", cache.Config{TTL: 2 * time.Hour, VersionTTL: time.Hour}, []string{"VersionTTL 1h0m0s is below TTL 2h0m0s"}},
		{"default version TTL below a long TTL", cache.Config{TTL: 1000 * time.Hour}, []string{"VersionTTL 720h0m0s"}},
		{"every problem at once", cache.Config{TTL: -1, VersionTTL: -1, PurgeBatch: -5}, []string{"TTL -1ns", "VersionTTL -1ns", "PurgeBatch -5"}},
		{"batch too large", cache.Config{PurgeBatch: 10_001}, []string{"PurgeBatch 10001"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Errorf("Validate = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, cache.ErrInvalidConfig) {
				t.Fatalf("Validate = %v, want ErrInvalidConfig", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate = %q, want it to mention %q", err, w)
				}
			}
		})
	}
}

func TestNewRejects(t *testing.T) {
	if _, err := cache.New(nil, cache.Config{}); !errors.Is(err, cache.ErrInvalidConfig) {
		t.Errorf("New(nil client) = %v, want ErrInvalidConfig", err)
	}
	if _, err := cache.New(cacheClientStub(t), cache.Config{PurgeBatch: -1}); !errors.Is(err, cache.ErrInvalidConfig) {
		t.Errorf("New(bad config) = %v, want ErrInvalidConfig", err)
	}
	// On a Cluster, a prefix whose braces are no complete hash tag would split every product
	// from its version record; a complete tag puts everything in one slot, which is fine.
	cluster := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}})
	defer cluster.Close()
	for prefix, ok := range map[string]bool{"a{b:": false, "a}b:": false, "{shop}:": true, "shop:": true} {
		_, err := cache.New(cluster, cache.Config{Prefix: prefix})
		if ok != (err == nil) {
			t.Errorf("New(cluster, prefix %q) = %v, want ok=%v", prefix, err, ok)
		}
	}
}
