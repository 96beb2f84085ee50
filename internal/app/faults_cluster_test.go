//go:build cluster

// Cluster fault tests: a three-node RabbitMQ cluster of the test's own, the fault suite's
// workload and checks (faults_test.go), and a node killed, stopped or paused mid-stream. They
// run alone in CI, without -race (the workers are separate processes):
//
//	go test -tags cluster -count=1 -timeout 600s -v -run Cluster ./internal/app/

package app

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eventworker/eventworker/internal/broker"
	"github.com/eventworker/eventworker/internal/metrics"
	"github.com/eventworker/eventworker/internal/testenv"
)

const (
	// clusterDown is how long a killed or stopped node stays down before it is started again.
	clusterDown = 10 * time.Second
	// clusterPause is how long a paused node stays frozen: several Raft election timeouts, well
	// under the distribution's net_ticktime (60 s), so the peers elect new leaders and never
	// declare a partition.
	clusterPause = 15 * time.Second
)

// TestClusterFaults runs the fault suite's 5,000 mixed events through two workers on a
// three-node cluster, the first worker given the URL list from node 1, the second from node 2,
// the work queues quorum queues with a replica on every node. Each subtest is one fault a third
// of the way through: the node holding the queues' leaders killed with SIGKILL (and started
// again after clusterDown), a follower stopped cleanly and started again, the leaders' node
// frozen with SIGSTOP for clusterPause. Nothing may be lost, no email sent twice beyond the
// in-flight window of the fault suite, nothing dead-lettered.
func TestClusterFaults(t *testing.T) {
	c := testenv.StartRabbitCluster(t, 3)
	applyQueuePolicies(t, c)

	t.Run("LeaderNodeKilled", func(t *testing.T) {
		f, leader := startClusterFaultEnv(t, c)
		st := f.stallWatch()
		f.runFault("cluster: the leaders' node killed (SIGKILL), started again after 10 s", func() int {
			st.begin()
			c.Kill(leader)
			floor := len(f.sink.Messages())
			time.Sleep(clusterDown)
			c.Start(leader)
			return floor
		})
		f.clusterFigures(c, st, leader)
	})

	t.Run("FollowerStoppedAndStarted", func(t *testing.T) {
		f, leader := startClusterFaultEnv(t, c)
		follower := (leader + 1) % len(c.Nodes) // the second worker's node
		st := f.stallWatch()
		f.runFault("cluster: a follower stopped and started again after 10 s", func() int {
			st.begin()
			c.Stop(follower)
			time.Sleep(clusterDown)
			c.Start(follower)
			return len(f.sink.Messages())
		})
		f.clusterFigures(c, st, follower)
	})

	t.Run("LeaderNodePaused", func(t *testing.T) {
		f, leader := startClusterFaultEnv(t, c)
		st := f.stallWatch()
		f.runFault("cluster: the leaders' node paused (SIGSTOP) for 15 s", func() int {
			st.begin()
			c.Pause(leader, clusterPause)
			return len(f.sink.Messages())
		})
		f.clusterFigures(c, st, leader)
		moved := 0
		for _, q := range f.workQueues() {
			if r := c.Replicas(q); r.Leader != leader {
				moved++
			}
		}
		t.Logf("figures cluster pause: %d of %d work queues have their leader on another node than the paused one", moved, len(f.workQueues()))
		if moved == 0 {
			t.Errorf("no work queue's leader left the paused node: the pause triggered no election")
		}
	})
}

// applyQueuePolicies sets on the cluster the queue policies of deploy/rabbitmq/definitions.json,
// the ones an operator applies: the classic queues mirrored on every node.
func applyQueuePolicies(t *testing.T, c *testenv.RabbitCluster) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "deploy", "rabbitmq", "definitions.json"))
	if err != nil {
		t.Fatal(err)
	}
	var defs struct {
		Policies []struct {
			Name       string         `json:"name"`
			Pattern    string         `json:"pattern"`
			ApplyTo    string         `json:"apply-to"`
			Definition map[string]any `json:"definition"`
		} `json:"policies"`
	}
	if err := json.Unmarshal(b, &defs); err != nil {
		t.Fatal(err)
	}
	for _, p := range defs.Policies {
		if p.ApplyTo != "queues" {
			continue
		}
		def, err := json.Marshal(p.Definition)
		if err != nil {
			t.Fatal(err)
		}
		c.Ctl("set_policy", "--apply-to", "queues", p.Name, p.Pattern, string(def))
		t.Logf("policy %s: %s on queues matching %s", p.Name, def, p.Pattern)
	}
}

// startClusterFaultEnv prepares the fault suite's environment on cluster c with two workers, the
// first on the URL list from node 0, the second from node 1, and checks that every work queue
// has a replica on each node. It returns the node holding the most work queue leaders.
func startClusterFaultEnv(t *testing.T, c *testenv.RabbitCluster) (*faultEnv, int) {
	t.Helper()
	f := startFaultEnv(t, c.URLs(0))
	p1 := f.start()
	p2 := f.start("EVENTWORKER_AMQP_URL=" + c.URLs(1))
	for i, p := range []*workerProc{p1, p2} {
		if code, body := readyz("http://" + p.addr + "/readyz"); code != http.StatusOK || !strings.Contains(body, "consuming on node "+c.Nodes[i].Addr()) {
			t.Fatalf("worker %d: /readyz = %d %q, want ready on node %d (%s)", p.n, code, body, i, c.Nodes[i].Addr())
		}
	}
	count := make([]int, len(c.Nodes))
	for _, q := range f.workQueues() {
		r := c.Replicas(q)
		if len(r.Members) != len(c.Nodes) {
			t.Fatalf("quorum queue %s has replicas on nodes %v, want all %d", q, r.Members, len(c.Nodes))
		}
		if r.Leader < 0 {
			t.Fatalf("quorum queue %s has no leader", q)
		}
		count[r.Leader]++
	}
	leader := 0
	for i, n := range count {
		if n > count[leader] {
			leader = i
		}
	}
	t.Logf("work queue leaders per node: %v; the fault targets node %d (%s)", count, leader, c.Nodes[leader].Name)
	return f, leader
}

// workQueues are the names of every consumer's work queue.
func (f *faultEnv) workQueues() []string {
	var qs []string
	for _, c := range f.reg.Consumers() {
		qs = append(qs, broker.Names{Prefix: f.name, Consumer: c}.Work())
	}
	return qs
}

// stall measures the longest time after a fault began in which no new email reached the sink:
// how long the work stopped, until it resumed.
type stall struct {
	f     *faultEnv
	mu    sync.Mutex
	began time.Time
	stop  chan struct{}
	done  chan struct{}
	// longest is the longest time with no new email, from began until the sampling stopped;
	// longestFrom is when it began, after began.
	longest, longestFrom time.Duration
	// total is how many emails the workload sends: once they are all there, nothing stalls.
	total int
	// unready is each worker's longest time not ready (its /readyz), by worker number.
	unready map[int]time.Duration
}

// stallWatch returns a stall measure; begin starts sampling the sink every 50 ms.
func (f *faultEnv) stallWatch() *stall {
	w := newFaultWorkload()
	s := &stall{f: f, stop: make(chan struct{}), done: make(chan struct{}), unready: map[int]time.Duration{}, total: 2 + w.falls}
	for _, tp := range w.templ {
		if tp != "" {
			s.total++
		}
	}
	f.t.Cleanup(s.end)
	return s
}

func (s *stall) begin() {
	s.mu.Lock()
	s.began = time.Now()
	s.mu.Unlock()
	s.f.mu.Lock()
	procs := append([]*workerProc(nil), s.f.procs...)
	s.f.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Go(func() {
			var since time.Time // when the worker was last seen turning unready
			for {
				select {
				case <-s.stop:
					return
				case <-time.After(200 * time.Millisecond):
				}
				code, _ := readyz("http://" + p.addr + "/readyz")
				now := time.Now()
				switch {
				case code != http.StatusOK && since.IsZero():
					since = now
				case code != http.StatusOK:
				default:
					since = time.Time{}
					continue
				}
				s.mu.Lock()
				s.unready[p.n] = max(s.unready[p.n], now.Sub(since))
				s.mu.Unlock()
			}
		})
	}
	go func() {
		defer close(s.done)
		defer wg.Wait()
		last, lastAt := len(s.f.sink.Messages()), time.Now()
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-s.stop:
				return
			case now := <-tick.C:
				n := len(s.f.sink.Messages())
				if n >= s.total {
					return
				}
				if n != last {
					last, lastAt = n, now
					continue
				}
				s.mu.Lock()
				if d := now.Sub(lastAt); d > s.longest {
					s.longest, s.longestFrom = d, lastAt.Sub(s.began)
				}
				s.mu.Unlock()
			}
		}
	}()
}

// end stops the sampling and returns the longest stall.
func (s *stall) end() {
	s.mu.Lock()
	began := !s.began.IsZero()
	s.mu.Unlock()
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	if began {
		<-s.done
	}
}

// clusterFigures logs what a cluster fault cost and fails the test for a worker that is not
// ready on a running node at the end.
func (f *faultEnv) clusterFigures(c *testenv.RabbitCluster, st *stall, node int) {
	t := f.t
	f.mu.Lock()
	procs := append([]*workerProc(nil), f.procs...)
	f.mu.Unlock()
	// A worker that found no node to consume on waits out its backoff (up to 30 s) before it
	// tries again: every worker must be ready within that.
	var nodes []string
	for _, p := range procs {
		var body string
		f.waitFor(fmt.Sprintf("worker %d ready", p.n), 45*time.Second, func() bool {
			var code int
			code, body = readyz("http://" + p.addr + "/readyz")
			return code == http.StatusOK
		})
		_, on, _ := strings.Cut(body, "consuming on node ")
		on, _, _ = strings.Cut(on, "\n")
		nodes = append(nodes, fmt.Sprintf("worker %d on node %d", p.n, c.Index(on)))
	}
	// The sampling ran until every effect was there and every worker ready: what follows is
	// no stall.
	st.end()
	st.mu.Lock()
	longest, from := st.longest, st.longestFrom
	unready := fmt.Sprint(st.unready)
	st.mu.Unlock()
	outcomes := f.outcomes()
	moves := 0
	for _, p := range procs {
		moves += strings.Count(tail(p.logs, 1000), "RabbitMQ connection moved to another node")
	}
	t.Logf("figures %s, node %d: the longest time without a new email after the fault began %.1fs (from %.1fs after it began); each worker's longest time not ready (s by worker) %s; redeliveries the done records skipped (outcome %s) %d; retried %d; connections moved to another node %d; at the end %s",
		t.Name(), node, longest.Seconds(), from.Seconds(), unready, metrics.OutcomeDuplicate, outcomes[metrics.OutcomeDuplicate], outcomes[metrics.OutcomeRetried], moves, strings.Join(nodes, ", "))
	if t.Failed() {
		for _, p := range procs {
			t.Logf("worker %d's warnings and errors:\n%s", p.n, grepLines(p.logs, `"level":"WARN"`, `"level":"ERROR"`))
		}
	}
}

// grepLines returns the last 30 lines of the file at path that contain one of subs.
func grepLines(path string, subs ...string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		for _, s := range subs {
			if strings.Contains(l, s) {
				out = append(out, l)
				break
			}
		}
	}
	return strings.Join(out[max(0, len(out)-30):], "\n")
}
