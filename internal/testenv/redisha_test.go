//go:build redisha

package testenv_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

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
	caughtUp(t, victim)
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
	caughtUp(t, old)
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

// checkKeys checks that every key holds its value, giving the client up to 10 s to find the
// promoted master (a Cluster client reloads its map of slots every second).
func checkKeys(t *testing.T, rdb redis.UniversalClient, keys []string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		missing, unreadable := 0, 0
		for _, k := range keys {
			v, err := rdb.Get(context.Background(), k).Result()
			switch {
			case err != nil && err != redis.Nil:
				unreadable++
			case v != k:
				missing++
			}
		}
		if unreadable == 0 || time.Now().After(deadline) {
			if missing+unreadable > 0 {
				t.Errorf("%d of %d keys lost or changed in the failover, %d unreadable", missing, len(keys), unreadable)
			}
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// caughtUp waits until master's replica has every write master has: replication is
// asynchronous, and WAIT on another connection than the writes' would not wait for them.
func caughtUp(t *testing.T, master *testenv.RedisNode) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		repl := master.Info(context.Background(), "replication")
		if strings.Contains(repl["slave0"], "offset="+repl["master_repl_offset"]+",") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the replica of %s did not catch up: %v", master.Addr, repl)
		}
	}
}
