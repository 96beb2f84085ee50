package redisclient_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/eventworker/eventworker/internal/redisclient"
	"github.com/eventworker/eventworker/internal/testenv"
)

func TestWaitOptions(t *testing.T) {
	for _, tc := range []struct {
		raw, rest string
		replicas  int
		timeout   time.Duration
		err       string
	}{
		{raw: "redis://h:6379/0", rest: "redis://h:6379/0", timeout: 500 * time.Millisecond},
		{raw: "redis://h/0?wait_replicas=1", rest: "redis://h/0", replicas: 1, timeout: 500 * time.Millisecond},
		{raw: "redis+cluster://a,b?pool_size=5&wait_replicas=2&wait_timeout=2s", rest: "redis+cluster://a,b?pool_size=5", replicas: 2, timeout: 2 * time.Second},
		{raw: "redis+sentinel://s1/m?wait_timeout=1s&wait_replicas=1&dial_timeout=1s", rest: "redis+sentinel://s1/m?dial_timeout=1s", replicas: 1, timeout: time.Second},
		{raw: "redis://h?wait_replicas=-1", err: "wait_replicas"},
		{raw: "redis://h?wait_replicas=x", err: "wait_replicas"},
		{raw: "redis://h?wait_replicas=1&wait_timeout=5", err: "wait_timeout"},
		{raw: "redis://h?wait_timeout=1s", err: "without wait_replicas"},
	} {
		rest, n, d, err := redisclient.WaitOptions(tc.raw)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want one naming %s", tc.raw, err, tc.err)
			}
			continue
		}
		if err != nil || rest != tc.rest || n != tc.replicas || d != tc.timeout {
			t.Errorf("%s: %q, %d, %s, %v; want %q, %d, %s", tc.raw, rest, n, d, err, tc.rest, tc.replicas, tc.timeout)
		}
	}
	if _, err := redisclient.New("redis://h?wait_replicas=x&password=s3cret", ""); !errors.Is(err, redisclient.ErrInvalidURL) {
		t.Errorf("New with a bad wait_replicas: %v, want ErrInvalidURL", err)
	}
}

// TestWaitReplicas writes through a client with wait_replicas=1: with a replica, a script's
// write and a pipeline's are on the replica when the call returns; without one, they fail
// with ErrNotReplicated, which counts as Redis being unavailable.
func TestWaitReplicas(t *testing.T) {
	ctx := context.Background()
	script := redis.NewScript(`redis.call('SET', KEYS[1], ARGV[1]) return 1`)

	master := testenv.StartRedisServer(t)
	replica := testenv.StartRedisServer(t, "--replicaof", "127.0.0.1", fmt.Sprint(master.Port))
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(master.Info(ctx, "replication")["slave0"], "state=online") {
		if time.Now().After(deadline) {
			t.Fatal("the replica did not come online")
		}
		time.Sleep(50 * time.Millisecond)
	}
	rdb, err := redisclient.New("redis://"+master.Addr+"?wait_replicas=1&wait_timeout=2s", "")
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	for i := range 50 {
		k, v := fmt.Sprintf("k%d", i), fmt.Sprintf("v%d", i)
		if err := script.Run(ctx, rdb, []string{k}, v).Err(); err != nil {
			t.Fatalf("script: %v", err)
		}
		if got, _ := replica.Client().Get(ctx, k).Result(); got != v {
			t.Fatalf("the replica has %s = %q right after the script returned, want %q", k, got, v)
		}
	}
	if _, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, "p1", "x", 0)
		p.Incr(ctx, "p2")
		return nil
	}); err != nil {
		t.Fatalf("pipeline: %v", err)
	}
	if n, _ := replica.Client().Exists(ctx, "p1", "p2").Result(); n != 2 {
		t.Errorf("the replica has %d of the pipeline's 2 keys right after it returned", n)
	}
	if got, err := rdb.Get(ctx, "k1").Result(); err != nil || got != "v1" {
		t.Errorf("a read: %q, %v", got, err)
	}

	alone := testenv.StartRedisServer(t)
	lone, err := redisclient.New("redis://"+alone.Addr+"?wait_replicas=1&wait_timeout=50ms", "")
	if err != nil {
		t.Fatal(err)
	}
	defer lone.Close()
	err = script.Run(ctx, lone, []string{"k"}, "v").Err()
	if !errors.Is(err, redisclient.ErrNotReplicated) || !redisclient.IsUnavailable(err) {
		t.Errorf("a script's write with no replica: %v; want ErrNotReplicated, counted as unavailable", err)
	}
	if err := lone.Set(ctx, "k", "v", 0).Err(); !errors.Is(err, redisclient.ErrNotReplicated) {
		t.Errorf("SET with no replica: %v; want ErrNotReplicated", err)
	}
	if err := lone.Get(ctx, "k").Err(); err != nil {
		t.Errorf("a read with no replica: %v; reads do not wait", err)
	}
}
