//go:build cluster

// Cluster fault tests: a three-node RabbitMQ cluster of the test's own, the fault suite's
// workload and checks (faults_test.go), and a node killed, stopped or paused mid-stream. They
// run alone in CI, without -race (the workers are separate processes):
//
//	go test -tags cluster -count=1 -timeout 600s -v -run Cluster ./internal/app/

package app

import (
	"net/http"
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
		follower := (leader + 2) % len(c.Nodes)
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
	// longest is the longest time with no new email, from began until the sampling stopped.
	longest time.Duration
}

// stallWatch returns a stall measure; begin starts sampling the sink every 50 ms.
func (f *faultEnv) stallWatch() *stall {
	s := &stall{f: f, stop: make(chan struct{}), done: make(chan struct{})}
	f.t.Cleanup(s.end)
	return s
}

func (s *stall) begin() {
	s.mu.Lock()
	s.began = time.Now()
	s.mu.Unlock()
	go func() {
		defer close(s.done)
		last, lastAt := len(s.f.sink.Messages()), time.Now()
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-s.stop:
				return
			case now := <-tick.C:
				n := len(s.f.sink.Messages())
				if n != last {
					last, lastAt = n, now
					continue
				}
				s.mu.Lock()
				s.longest = max(s.longest, now.Sub(lastAt))
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
	// The sampling ran until every effect was there: what follows is no stall.
	st.end()
	st.mu.Lock()
	longest := st.longest
	st.mu.Unlock()
	outcomes := f.outcomes()
	var nodes []string
	f.mu.Lock()
	procs := append([]*workerProc(nil), f.procs...)
	f.mu.Unlock()
	for _, p := range procs {
		code, body := readyz("http://" + p.addr + "/readyz")
		if code != http.StatusOK {
			t.Errorf("worker %d is not ready at the end: %d %q", p.n, code, body)
		}
		_, on, _ := strings.Cut(body, "consuming on node ")
		on, _, _ = strings.Cut(on, "\n")
		nodes = append(nodes, on)
	}
	moves := 0
	for _, p := range procs {
		moves += strings.Count(tail(p.logs, 1000), "RabbitMQ connection moved to another node")
	}
	t.Logf("figures %s, node %d: the longest time without a new email after the fault began %.1fs; redeliveries the done records skipped (outcome %s) %d; retried %d; connections moved to another node %d; the workers end on nodes %v",
		t.Name(), node, longest.Seconds(), metrics.OutcomeDuplicate, outcomes[metrics.OutcomeDuplicate], outcomes[metrics.OutcomeRetried], moves, nodes)
}
