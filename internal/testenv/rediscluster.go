package testenv

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// clusterNodeTimeout is the Cluster's cluster-node-timeout: a master that does not answer for
// this long is failed over to its replica. Redis's default is 15 s; short here so a test waits
// little, long enough that a busy 2-core host does not fail over a live master.
const clusterNodeTimeout = 1000 * time.Millisecond

// RedisCluster is a Redis Cluster of a test's own: six redis-server --cluster-enabled yes
// nodes on free ports (three masters with the 16384 slots, one replica each), joined by
// redis-cli --cluster create. Its nodes are killed when the test ends.
type RedisCluster struct {
	// Nodes are the six nodes, the masters of the creation first.
	Nodes []*RedisNode

	t testing.TB
}

// ClusterNode is one line of CLUSTER NODES.
type ClusterNode struct {
	ID     string
	Addr   string // host:port, without the bus port
	Master bool
	Failed bool // fail or fail? (a replica's view of a dead node)
	Of     string
	Slots  []string
}

// StartRedisCluster starts a six-node Redis Cluster and waits until every node reports
// cluster_state:ok and both replicas of the creation are in sync. Without redis-server or
// redis-cli the test is skipped, or fails in CI.
func StartRedisCluster(t testing.TB) *RedisCluster {
	t.Helper()
	if _, err := exec.LookPath("redis-cli"); err != nil {
		Unavailable(t, "redis-cli (apt-get install redis-server): %v", err)
	}
	dir := t.TempDir()
	c := &RedisCluster{t: t}
	for i, port := range freePorts(t, 6, true) {
		d := redisDir(t, dir, fmt.Sprintf("node%d", i+1))
		c.Nodes = append(c.Nodes, startRedisNode(t, "redis-server", d, port,
			"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", d,
			"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", strconv.Itoa(int(clusterNodeTimeout.Milliseconds())),
			// No disk: a failed master's data lives on in its replica, which is what is tested.
			"--save", "", "--appendonly", "no",
			"--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0",
		))
	}
	args := []string{"--cluster", "create"}
	args = append(args, c.Addrs()...)
	args = append(args, "--cluster-replicas", "1", "--cluster-yes")
	if out, err := exec.Command("redis-cli", args...).CombinedOutput(); err != nil {
		t.Fatalf("testenv: redis-cli %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	c.WaitHealthy(60 * time.Second)
	return c
}

// Addrs returns host:port of every node, for a redis+cluster:// URL.
func (c *RedisCluster) Addrs() []string {
	out := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		out[i] = n.Addr
	}
	return out
}

// URL returns redis+cluster:// with every node's address.
func (c *RedisCluster) URL() string {
	return "redis+cluster://" + strings.Join(c.Addrs(), ",")
}

// Node returns the node at addr, nil when it is not one of the cluster's.
func (c *RedisCluster) Node(addr string) *RedisNode {
	for _, n := range c.Nodes {
		if n.Addr == addr {
			return n
		}
	}
	return nil
}

// Topology returns CLUSTER NODES as a running node sees it, or nil when none answers.
func (c *RedisCluster) Topology(ctx context.Context) []ClusterNode {
	for _, n := range c.Nodes {
		if !n.Running() {
			continue
		}
		s, err := n.Client().ClusterNodes(ctx).Result()
		if err != nil {
			continue
		}
		return parseClusterNodes(s)
	}
	return nil
}

// parseClusterNodes reads CLUSTER NODES: id addr:port@bus flags master ping pong epoch state slots...
func parseClusterNodes(s string) []ClusterNode {
	var out []ClusterNode
	for line := range strings.SplitSeq(strings.TrimSpace(s), "\n") {
		f := strings.Fields(line)
		if len(f) < 8 {
			continue
		}
		addr, _, _ := strings.Cut(f[1], "@")
		flags := "," + f[2] + ","
		n := ClusterNode{ID: f[0], Addr: addr, Master: strings.Contains(flags, ",master,"),
			Failed: strings.Contains(flags, ",fail,") || strings.Contains(flags, ",fail?,"), Slots: f[8:]}
		if f[3] != "-" {
			n.Of = f[3]
		}
		out = append(out, n)
	}
	return out
}

// Masters returns the running nodes that serve slots as masters, as the cluster sees them.
func (c *RedisCluster) Masters(ctx context.Context) []*RedisNode {
	var out []*RedisNode
	for _, cn := range c.Topology(ctx) {
		if cn.Master && !cn.Failed && len(cn.Slots) > 0 {
			if n := c.Node(cn.Addr); n != nil && n.Running() {
				out = append(out, n)
			}
		}
	}
	return out
}

// MasterOf returns the node serving key's slot, nil when none does.
func (c *RedisCluster) MasterOf(ctx context.Context, key string) *RedisNode {
	var slot int64 = -1
	for _, n := range c.Nodes {
		if n.Running() {
			if s, err := n.Client().ClusterKeySlot(ctx, key).Result(); err == nil {
				slot = s
				break
			}
		}
	}
	if slot < 0 {
		return nil
	}
	for _, cn := range c.Topology(ctx) {
		if !cn.Master || cn.Failed {
			continue
		}
		for _, r := range cn.Slots {
			// "0-5460" or "5461"; a slot being migrated ("[5462->-id]") is skipped.
			lo, hi, isRange := strings.Cut(r, "-")
			if !isRange {
				hi = lo
			}
			a, errA := strconv.ParseInt(lo, 10, 64)
			b, errB := strconv.ParseInt(hi, 10, 64)
			if errA == nil && errB == nil && a <= slot && slot <= b {
				return c.Node(cn.Addr)
			}
		}
	}
	return nil
}

// healthy reports whether every running node says cluster_state:ok, three running masters
// hold the slots and each has a replica whose link to it is up.
func (c *RedisCluster) healthy(ctx context.Context) (bool, string) {
	for _, n := range c.Nodes {
		if !n.Running() {
			continue
		}
		info, err := n.Client().ClusterInfo(ctx).Result()
		if err != nil {
			return false, fmt.Sprintf("%s: CLUSTER INFO: %v", n.Addr, err)
		}
		if st := parseInfo(info)["cluster_state"]; st != "ok" {
			return false, fmt.Sprintf("%s: cluster_state:%s", n.Addr, st)
		}
	}
	masters := c.Masters(ctx)
	if len(masters) != 3 {
		return false, fmt.Sprintf("%d masters serve slots", len(masters))
	}
	for _, m := range masters {
		repl := m.Info(ctx, "replication")
		if repl["role"] != "master" {
			return false, fmt.Sprintf("%s: role %s", m.Addr, repl["role"])
		}
		synced := false
		for k, v := range repl {
			// slaveN:ip=...,port=...,state=online,offset=...,lag=...
			if strings.HasPrefix(k, "slave") && strings.Contains(v, "state=online") {
				synced = true
			}
		}
		if !synced {
			return false, fmt.Sprintf("%s has no replica in sync", m.Addr)
		}
	}
	return true, ""
}

// WaitHealthy waits until every running node says cluster_state:ok and each of three masters
// has a replica in sync, and fails the test after timeout.
func (c *RedisCluster) WaitHealthy(timeout time.Duration) {
	c.t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(timeout)
	for {
		ok, why := c.healthy(ctx)
		if ok {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("testenv: the Redis Cluster is not healthy after %s: %s", timeout, why)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// KillMaster kills master with SIGKILL and waits until its replica is promoted and the
// cluster is ok again; it returns the new master and the time from the kill to
// cluster_state:ok on every running node with the slots served. The killed node stays down.
func (c *RedisCluster) KillMaster(master *RedisNode) (promoted *RedisNode, took time.Duration) {
	c.t.Helper()
	ctx := context.Background()
	var id string
	var replicas []string
	top := c.Topology(ctx)
	for _, cn := range top {
		if cn.Addr == master.Addr {
			if !cn.Master || len(cn.Slots) == 0 {
				c.t.Fatalf("testenv: %s is not a master serving slots", master.Addr)
			}
			id = cn.ID
		}
	}
	for _, cn := range top {
		if cn.Of == id {
			replicas = append(replicas, cn.Addr)
		}
	}
	if len(replicas) == 0 {
		c.t.Fatalf("testenv: master %s has no replica to promote", master.Addr)
	}
	killed := time.Now()
	master.Kill()
	deadline := killed.Add(60 * time.Second)
	for {
		for _, r := range replicas {
			n := c.Node(r)
			if n == nil || !n.Running() || n.Info(ctx, "replication")["role"] != "master" {
				continue
			}
			if ok, _ := c.clusterOK(ctx); ok {
				return n, time.Since(killed)
			}
		}
		if time.Now().After(deadline) {
			_, why := c.clusterOK(ctx)
			c.t.Fatalf("testenv: no replica of %s promoted within 60 s (%s)", master.Addr, why)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// clusterOK reports whether every running node says cluster_state:ok.
func (c *RedisCluster) clusterOK(ctx context.Context) (bool, string) {
	for _, n := range c.Nodes {
		if !n.Running() {
			continue
		}
		info, err := n.Client().ClusterInfo(ctx).Result()
		if err != nil {
			return false, fmt.Sprintf("%s: %v", n.Addr, err)
		}
		if st := parseInfo(info)["cluster_state"]; st != "ok" {
			return false, fmt.Sprintf("%s: cluster_state:%s", n.Addr, st)
		}
	}
	return true, ""
}

// Rejoin starts a killed node again on its directory (its nodes.conf keeps its identity), as a
// restarted machine would: the cluster makes it a replica of the master that took its slots.
// It waits until the cluster is healthy (each master with a replica in sync) and returns how
// long that took.
func (c *RedisCluster) Rejoin(n *RedisNode) time.Duration {
	c.t.Helper()
	began := time.Now()
	n.Start()
	c.WaitHealthy(60 * time.Second)
	return time.Since(began)
}
