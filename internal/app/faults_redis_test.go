//go:build faults

package app

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/eventworker/eventworker/internal/testenv"
)

// faultRedisDown is how long Redis stays dead, between its SIGKILL and its restart.
const faultRedisDown = 5 * time.Second

// TestFaultRedisRestartMidStream kills a Redis of the test's own with SIGKILL after about a
// third of the emails of 5,000 mixed events went out, keeps it dead for faultRedisDown, starts
// it again on its append-only file (appendfsync always, as a production Redis that must not
// lose an acknowledged write), and counts the effects under two worker processes.
func TestFaultRedisRestartMidStream(t *testing.T) {
	addr, up, down := privateRedis(t, "--appendonly", "yes", "--appendfsync", "always", "--dir", t.TempDir())
	f := startFaultEnv(t, testenv.AMQPURL(t))
	f.redisAddr = addr
	f.rdb = redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { f.rdb.Close() })
	f.start()
	f.start()
	f.runFault("Redis killed and restarted", func() int {
		down()
		time.Sleep(faultRedisDown)
		up()
		return len(f.sink.Messages())
	})
}
