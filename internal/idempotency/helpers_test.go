package idempotency_test

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/eventworker/eventworker/internal/testenv"
)

// newRedis connects to the test Redis and returns a prefix unique to this test, whose keys are
// deleted when the test ends.
func newRedis(t testing.TB) (*redis.Client, string) {
	t.Helper()
	return testenv.Redis(t, "idemtest")
}

// waitUntil polls cond every 20ms until it holds or the bound passes.
func waitUntil(t *testing.T, bound time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", bound, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
