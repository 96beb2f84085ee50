package testenv

import (
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// RabbitCluster is a RabbitMQ cluster of a test's own: private nodes (RabbitNode: their own
// names, ports and data directories) joined with `rabbitmqctl join_cluster`. They share the
// Erlang cookie of the rabbitmq user, whose home directory every node started as that user
// reads it from. The test may kill, stop, start and pause any node; the machine's node is never
// part of it.
type RabbitCluster struct {
	// Nodes are the cluster's nodes; Nodes[0] is the one the others joined.
	Nodes []*RabbitNode

	t testing.TB
}

// clusterFormTimeout bounds the wait for every node to show as running in cluster_status.
const clusterFormTimeout = 60 * time.Second

// StartRabbitCluster starts size private nodes side by side, joins the others to the first and
// waits until `rabbitmqctl cluster_status` lists them all as running. Each node is stopped and
// its files removed when the test ends. It needs what StartRabbitNode needs.
func StartRabbitCluster(t testing.TB, size int) *RabbitCluster {
	t.Helper()
	began := time.Now()
	c := &RabbitCluster{t: t}
	for range size {
		// As deploy/rabbitmq/30-cluster.conf recommends.
		c.Nodes = append(c.Nodes, newRabbitNode(t, "cluster_partition_handling = pause_minority\n"))
	}
	// Booting the VMs side by side saves most of the time on a small host.
	for _, n := range c.Nodes {
		n.launch()
	}
	for _, n := range c.Nodes {
		n.awaitAMQP(began)
	}
	first := c.Nodes[0]
	for _, n := range c.Nodes[1:] {
		n.Ctl("stop_app")
		n.Ctl("join_cluster", first.Name)
		n.Ctl("start_app")
	}
	c.awaitRunning(first)
	t.Logf("testenv: RabbitMQ cluster of %d nodes formed in %.1fs", size, time.Since(began).Seconds())
	return c
}

// URLs returns the comma-separated AMQP URLs of every node, the list EVENTWORKER_AMQP_URL
// takes, starting at node from and going round.
func (c *RabbitCluster) URLs(from int) string {
	urls := make([]string, 0, len(c.Nodes))
	for i := range c.Nodes {
		urls = append(urls, c.Nodes[(from+i)%len(c.Nodes)].URL)
	}
	return strings.Join(urls, ",")
}

// Kill sends SIGKILL to node i's VM and waits until it is gone (RabbitNode.Kill).
func (c *RabbitCluster) Kill(i int) { c.Nodes[i].Kill() }

// Stop shuts node i down cleanly (`rabbitmqctl shutdown`); it stays a member of the cluster.
func (c *RabbitCluster) Stop(i int) { c.Nodes[i].Stop() }

// Start starts node i again on its data and waits until every node of the cluster shows as
// running: a member that comes back rejoins by itself.
func (c *RabbitCluster) Start(i int) {
	c.t.Helper()
	c.Nodes[i].Start()
	c.awaitRunning(c.Nodes[i])
}

// Pause freezes node i's VM with SIGSTOP for d and then resumes it with SIGCONT: the node
// neither answers nor closes a connection, as a machine that stalls or a network that drops
// its packets. Its peers see their Raft leader go silent and elect another after a few
// seconds; a pause well under the distribution's net_ticktime (60 s) ends before the other
// nodes would declare it down and partitioned.
func (c *RabbitCluster) Pause(i int, d time.Duration) {
	c.t.Helper()
	n := c.Nodes[i]
	pid := n.pid()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		c.t.Fatalf("testenv: SIGSTOP of %s (pid %d): %v", n.Name, pid, err)
	}
	c.t.Logf("testenv: RabbitMQ node %s paused (SIGSTOP, pid %d) for %s", n.Name, pid, d)
	time.Sleep(d)
	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		c.t.Fatalf("testenv: SIGCONT of %s (pid %d): %v", n.Name, pid, err)
	}
	c.t.Logf("testenv: RabbitMQ node %s resumed (SIGCONT)", n.Name)
}

// QueueReplicas is where a quorum queue's replicas are, as node indices of the cluster.
type QueueReplicas struct {
	// Leader is the index of the node holding the leader, -1 when none is known.
	Leader int
	// Members are the indices of the nodes holding a replica, in order.
	Members []int
}

// Replicas returns where the quorum queue's leader and members are, read with
// `rabbitmqctl list_queues name leader members` on a node that is running.
func (c *RabbitCluster) Replicas(queue string) QueueReplicas {
	c.t.Helper()
	var rows []struct {
		Name   string `json:"name"`
		Leader string `json:"leader"`
		// A list of node names for a quorum queue, "" for a classic one.
		Members json.RawMessage `json:"members"`
	}
	out := c.ctlOnAnyRunning("-q", "list_queues", "name", "leader", "members", "--formatter", "json")
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		c.t.Fatalf("testenv: list_queues printed %q: %v", out, err)
	}
	for _, r := range rows {
		if r.Name != queue {
			continue
		}
		q := QueueReplicas{Leader: c.index(r.Leader)}
		var members []string
		_ = json.Unmarshal(r.Members, &members) // a classic queue has none
		for _, m := range members {
			if i := c.index(m); i >= 0 {
				q.Members = append(q.Members, i)
			}
		}
		slices.Sort(q.Members)
		return q
	}
	c.t.Fatalf("testenv: no queue %s in the cluster", queue)
	return QueueReplicas{}
}

// index is the index of the node named name, -1 for none.
func (c *RabbitCluster) index(name string) int {
	for i, n := range c.Nodes {
		if n.Name == name {
			return i
		}
	}
	return -1
}

// Ctl runs rabbitmqctl with args on the first node of the cluster that is running and answers,
// and fails the test when none does.
func (c *RabbitCluster) Ctl(args ...string) string {
	c.t.Helper()
	return c.ctlOnAnyRunning(args...)
}

// ctlOnAnyRunning runs rabbitmqctl with args on the first node that is running.
func (c *RabbitCluster) ctlOnAnyRunning(args ...string) string {
	c.t.Helper()
	for _, n := range c.Nodes {
		if !n.running() {
			continue
		}
		cmd := exec.Command("rabbitmqctl", append([]string{"-n", n.Name}, args...)...)
		cmd.Env = n.env
		if out, err := cmd.Output(); err == nil {
			return string(out)
		}
	}
	c.t.Fatalf("testenv: rabbitmqctl %v: no node of the cluster answered", args)
	return ""
}

// awaitRunning waits until cluster_status, asked of node n, lists every node as running.
func (c *RabbitCluster) awaitRunning(n *RabbitNode) {
	c.t.Helper()
	deadline := time.Now().Add(clusterFormTimeout)
	var last string
	for {
		cmd := exec.Command("rabbitmqctl", "-n", n.Name, "-q", "cluster_status", "--formatter", "json")
		cmd.Env = n.env
		out, err := cmd.Output()
		var st struct {
			Running []string `json:"running_nodes"`
		}
		if err == nil && json.Unmarshal(out, &st) == nil {
			all := true
			for _, m := range c.Nodes {
				all = all && slices.Contains(st.Running, m.Name)
			}
			if all {
				return
			}
		}
		last = string(out)
		if time.Now().After(deadline) {
			c.t.Fatalf("testenv: the cluster's nodes were not all running within %s: %v %s", clusterFormTimeout, err, last)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// Index returns the index of the node whose AMQP listener is addr (host:port), -1 for none.
func (c *RabbitCluster) Index(addr string) int {
	for i, n := range c.Nodes {
		if n.Addr() == addr {
			return i
		}
	}
	return -1
}
