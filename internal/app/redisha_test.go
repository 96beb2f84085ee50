//go:build redisha

// Redis Cluster and Sentinel tests: the worker on a Cluster of three masters and three
// replicas, and on a master with a replica and three sentinels, all redis-server processes of
// the test's own (internal/testenv). They run in their own CI step:
//
//	go test -tags redisha -count=1 -timeout 600s -v -run RedisHA ./internal/testenv/ ./internal/app/

package app

import (
	"context"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/eventworker/eventworker/internal/redisclient"
	"github.com/eventworker/eventworker/internal/testenv"
)

// haClient is the client the worker builds from url, for the test's own reads.
func haClient(t *testing.T, url string) redis.UniversalClient {
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

// TestRedisHAClusterConsumersEndToEnd runs TestConsumersEndToEnd's scenario (every consumer:
// tenant profiles, product versions out of order, a stock fall and its derived event, orders
// with redeliveries, a tenant suspension purging its caches) on a Redis Cluster: every Lua
// script runs there without CROSSSLOT, nothing is dead-lettered, and the purge reaches keys on
// every master.
func TestRedisHAClusterConsumersEndToEnd(t *testing.T) {
	c := testenv.StartRedisCluster(t)
	e := startE2EOn(t, c.URL(), haClient(t, c.URL()))
	e.consumersEndToEnd(nil, nil)

	// The purged keys of TestConsumersEndToEnd lie on more than one master, or the purge's
	// SCAN on every master would be shown by nothing.
	ctx := context.Background()
	masters := map[string]bool{}
	for _, k := range []string{"p:tenant:t2:products:0:all", "p:tenant:t2:user:u9", "p:tenant:t2:product:x"} {
		if m := c.MasterOf(ctx, k); m != nil {
			masters[m.Addr] = true
		}
	}
	if len(masters) < 2 {
		t.Errorf("the purged keys lie on %d master(s); the test needs them spread", len(masters))
	}
	e.stop()
	for _, line := range strings.Split(e.log.String(), "\n") {
		if strings.Contains(line, "CROSSSLOT") || strings.Contains(line, `"level":"ERROR"`) {
			t.Errorf("worker log: %s", line)
		}
	}
}

// haWait is what the workers add to a Cluster or Sentinel URL: each write waits for one
// replica (Redis replicates asynchronously; without it a failover can lose a write the master
// acknowledged, and a test without it lost one count of 5,000 events).
const haWait = "wait_replicas=1&wait_timeout=500ms"

// TestRedisHAClusterMasterKilledMidStream kills, with SIGKILL, the Cluster master holding
// product p0's cache entry after about a third of the emails of 5,000 mixed events went out;
// its replica takes over and two worker processes carry on, then the killed node is started
// again and rejoins as a replica. Nothing lost, effects once.
func TestRedisHAClusterMasterKilledMidStream(t *testing.T) {
	c := testenv.StartRedisCluster(t)
	f := startFaultEnvOn(t, testenv.AMQPURL(t), c.URL()+"?"+haWait, haClient(t, c.URL()))
	f.start()
	f.start()
	f.runFault("Cluster master killed", func() int {
		victim := c.MasterOf(context.Background(), f.cachePrefix+"tenant:t1:product:p0")
		if victim == nil {
			t.Fatal("no master serves product p0's slot")
		}
		floor := len(f.sink.Messages())
		promoted, took := c.KillMaster(victim)
		back := c.Rejoin(victim)
		t.Logf("figures: master %s killed, replica %s promoted, cluster_state:ok on every node %.1fs after the kill; "+
			"the killed node restarted and in sync as its replica %.1fs later", victim.Addr, promoted.Addr, took.Seconds(), back.Seconds())
		return floor
	})
}

// TestRedisHASentinelFailoverMidStream kills, with SIGKILL, the master of a Sentinel deployment
// after about a third of the emails of 5,000 mixed events went out; the sentinels promote the
// replica and two worker processes, on a redis+sentinel:// URL, follow it without losing an
// event; the killed server is started again and rejoins as a replica.
func TestRedisHASentinelFailoverMidStream(t *testing.T) {
	s := testenv.StartRedisSentinel(t)
	f := startFaultEnvOn(t, testenv.AMQPURL(t), s.URL()+"?"+haWait, haClient(t, s.URL()))
	f.start()
	f.start()
	f.runFault("Sentinel master killed", func() int {
		old := s.Master(context.Background())
		floor := len(f.sink.Messages())
		promoted, took := s.KillMaster()
		back := s.Rejoin(old)
		t.Logf("figures: master %s killed, %s promoted and named by every sentinel %.1fs after the kill; "+
			"the killed server restarted and in sync as its replica %.1fs later", old.Addr, promoted.Addr, took.Seconds(), back.Seconds())
		return floor
	})
}
