//go:build redisha

package testenv_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/eventworker/eventworker/internal/redisclient"
	"github.com/eventworker/eventworker/internal/testenv"
)

// TestRedisHAClusterKillMaster checks the private Cluster: keys written through a
// redis+cluster:// client on every master are still there after one master is killed and its
// replica promoted, and the client writes to the promoted replica.
func TestRedisHAClusterKillMaster(t *testing.T) {
	c := testenv.StartRedisCluster(t)
	ctx := context.Background()
	rdb := client(t, c.URL())
	keys := writeKeys(t, rdb, 300)

	victim := c.MasterOf(ctx, keys[0])
	if victim == nil {
		t.Fatal("no master serves the first key")
	}
	promoted, took := c.KillMaster(victim)
	t.Logf("figures: master %s killed, replica %s promoted, cluster ok after %s", victim.Addr, promoted.Addr, took)
	if got := c.MasterOf(ctx, keys[0]); got != promoted {
		t.Errorf("the first key's slot is served by %v, want the promoted replica %s", got, promoted.Addr)
	}
	if n := len(c.Masters(ctx)); n != 3 {
		t.Errorf("%d masters serve slots after the failover, want 3", n)
	}
	checkKeys(t, rdb, keys)
	if err := rdb.Set(ctx, keys[0], "after", 0).Err(); err != nil {
		t.Errorf("write after the failover: %v", err)
	}
}

// TestRedisHASentinelKillMaster checks the private Sentinel deployment: a redis+sentinel://
// client follows the promoted replica after the master is killed, with every key written
// before.
func TestRedisHASentinelKillMaster(t *testing.T) {
	s := testenv.StartRedisSentinel(t)
	ctx := context.Background()
	rdb := client(t, s.URL())
	keys := writeKeys(t, rdb, 300)
	old := s.Master(ctx)
	// WAIT: the replica has every key before the master dies (replication is asynchronous).
	if n, err := old.Client().Wait(ctx, 1, 5000).Result(); err != nil || n != 1 {
		t.Fatalf("WAIT 1: %d, %v", n, err)
	}
	promoted, took := s.KillMaster()
	t.Logf("figures: master %s killed, %s promoted and named by every sentinel after %s", old.Addr, promoted.Addr, took)
	if promoted == old {
		t.Fatal("the killed master is still named")
	}
	checkKeys(t, rdb, keys)
	if err := rdb.Set(ctx, keys[0], "after", 0).Err(); err != nil {
		t.Errorf("write after the failover: %v", err)
	}
	if v, _ := promoted.Client().Get(ctx, keys[0]).Result(); v != "after" {
		t.Errorf("the promoted master holds %q, want the write made after the failover", v)
	}
}

func client(t *testing.T, url string) redis.UniversalClient {
	t.Helper()
	rdb, err := redisclient.New(url, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("PING through %s: %v", url, err)
	}
	return rdb
}

func writeKeys(t *testing.T, rdb redis.UniversalClient, n int) []string {
	t.Helper()
	var keys []string
	for i := range n {
		k := fmt.Sprintf("k%d", i)
		if err := rdb.Set(context.Background(), k, k, 0).Err(); err != nil {
			t.Fatalf("SET %s: %v", k, err)
		}
		keys = append(keys, k)
	}
	return keys
}

func checkKeys(t *testing.T, rdb redis.UniversalClient, keys []string) {
	t.Helper()
	missing := 0
	for _, k := range keys {
		if v, err := rdb.Get(context.Background(), k).Result(); err != nil || v != k {
			missing++
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d keys lost or changed in the failover", missing, len(keys))
	}
}
