//go:build cluster

package bench_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eventworker/eventworker/internal/testenv"
)

// TestClusterBenchReplicas prints the figures of BENCHMARKS.md's replicas section: `eventworker
// bench --replicas N` for 1, 2 and 4 replicas, three runs each, on a private single node and
// then on a private three-node cluster (the URL list from node 1). It asserts nothing about
// the figures, only that every run handled every event, and runs only when asked:
//
//	EVENTWORKER_BENCH_REPLICAS=1 go test -tags cluster -count=1 -timeout 60m -v -run ClusterBenchReplicas ./internal/bench/
func TestClusterBenchReplicas(t *testing.T) {
	if os.Getenv("EVENTWORKER_BENCH_REPLICAS") == "" {
		t.Skip("a benchmark: set EVENTWORKER_BENCH_REPLICAS=1 to run it")
	}
	events := "10000"
	if n := os.Getenv("EVENTWORKER_BENCH_EVENTS"); n != "" {
		events = n
	}
	bin := filepath.Join(t.TempDir(), "eventworker")
	build := exec.Command("go", "build", "-o", bin, "./cmd/eventworker")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	run := func(t *testing.T, url string) {
		for _, replicas := range []int{1, 2, 4} {
			for i := 1; i <= 3; i++ {
				cmd := exec.Command(bin, "bench", "--events", events, "--mix", "mixed", "--replicas", fmt.Sprint(replicas))
				cmd.Env = append(os.Environ(), "EVENTWORKER_AMQP_URL="+url, "EVENTWORKER_REDIS_URL=redis://"+testenv.RedisAddr(t)+"/0")
				out, err := cmd.Output()
				if err != nil {
					t.Fatalf("bench --replicas %d: %v\n%s", replicas, err, out)
				}
				t.Logf("replicas %d, run %d:\n%s", replicas, i, out)
				if strings.Contains(string(out), "timed out") {
					t.Errorf("replicas %d, run %d: the worker did not handle every event", replicas, i)
				}
			}
		}
	}
	t.Run("OneNode", func(t *testing.T) {
		n := testenv.StartRabbitNode(t)
		run(t, n.URL)
	})
	t.Run("ThreeNodes", func(t *testing.T) {
		c := testenv.StartRabbitCluster(t, 3)
		run(t, c.URLs(0))
	})
}
