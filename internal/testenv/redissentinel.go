package testenv

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Sentinel timings: a master silent for sentinelDownAfter is down, and a failover that has not
// finished within sentinelFailoverTimeout is tried again. Redis's defaults are 30 s and 3 min.
const (
	sentinelDownAfter       = 1000 * time.Millisecond
	sentinelFailoverTimeout = 5000 * time.Millisecond
)

// RedisSentinel is a Redis Sentinel deployment of a test's own: a master, one replica and
// three sentinels (quorum 2) watching them under MasterName, all on free ports. Its processes
// are killed when the test ends.
type RedisSentinel struct {
	// MasterName is the name the sentinels know the master by, the path of the URL.
	MasterName string
	// Servers are the master and the replica as started; which is master changes with a failover.
	Servers []*RedisNode
	// Sentinels are the three redis-sentinel processes.
	Sentinels []*RedisNode

	t testing.TB
}

// StartRedisSentinel starts a master, a replica of it and three sentinels, and waits until
// the replica is in sync and every sentinel knows the replica and the other two sentinels.
// Without redis-server or redis-sentinel the test is skipped, or fails in CI.
func StartRedisSentinel(t testing.TB) *RedisSentinel {
	t.Helper()
	dir := t.TempDir()
	s := &RedisSentinel{MasterName: "ewmaster", t: t}
	ports := freePorts(t, 5, false)
	for i, port := range ports[:2] {
		d := redisDir(t, dir, fmt.Sprintf("server%d", i+1))
		args := []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", d,
			"--save", "", "--appendonly", "no", "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0"}
		if i == 1 {
			args = append(args, "--replicaof", "127.0.0.1", strconv.Itoa(ports[0]))
		}
		s.Servers = append(s.Servers, startRedisNode(t, "redis-server", d, port, args...))
	}
	for i, port := range ports[2:] {
		d := redisDir(t, dir, fmt.Sprintf("sentinel%d", i+1))
		// A sentinel rewrites its configuration file, so each has one of its own.
		conf := filepath.Join(d, "sentinel.conf")
		text := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\n", port, d) +
			fmt.Sprintf("sentinel monitor %s 127.0.0.1 %d 2\n", s.MasterName, ports[0]) +
			fmt.Sprintf("sentinel down-after-milliseconds %s %d\n", s.MasterName, sentinelDownAfter.Milliseconds()) +
			fmt.Sprintf("sentinel failover-timeout %s %d\n", s.MasterName, sentinelFailoverTimeout.Milliseconds()) +
			fmt.Sprintf("sentinel parallel-syncs %s 1\n", s.MasterName)
		if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		s.Sentinels = append(s.Sentinels, startRedisNode(t, "redis-sentinel", d, port, conf))
	}
	s.waitSettled("", 60*time.Second)
	return s
}

// URL returns redis+sentinel:// with the three sentinels and the master name.
func (s *RedisSentinel) URL() string {
	addrs := make([]string, len(s.Sentinels))
	for i, n := range s.Sentinels {
		addrs[i] = n.Addr
	}
	return "redis+sentinel://" + strings.Join(addrs, ",") + "/" + s.MasterName
}

// MasterAddr returns the master's address as the first sentinel that answers reports it.
func (s *RedisSentinel) MasterAddr(ctx context.Context) string {
	for _, sn := range s.Sentinels {
		if !sn.Running() {
			continue
		}
		r, err := sn.Client().Do(ctx, "SENTINEL", "get-master-addr-by-name", s.MasterName).StringSlice()
		if err == nil && len(r) == 2 {
			return net.JoinHostPort(r[0], r[1])
		}
	}
	return ""
}

// Master returns the server the sentinels call master.
func (s *RedisSentinel) Master(ctx context.Context) *RedisNode {
	addr := s.MasterAddr(ctx)
	for _, n := range s.Servers {
		if n.Addr == addr {
			return n
		}
	}
	return nil
}

// waitSettled waits until every sentinel names master as the master ("": whichever server
// they agree on, since sentinels that see a loaded host as down may fail over once more),
// master says it is one with a replica online, and every sentinel counts the other two.
func (s *RedisSentinel) waitSettled(master string, timeout time.Duration) {
	s.t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(timeout)
	for {
		want := master
		if want == "" {
			want = s.MasterAddr(ctx)
		}
		why := s.settled(ctx, want)
		if why == "" {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("testenv: Redis Sentinel not settled after %s: %s", timeout, why)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (s *RedisSentinel) settled(ctx context.Context, master string) string {
	for _, sn := range s.Sentinels {
		r, err := sn.Client().Do(ctx, "SENTINEL", "get-master-addr-by-name", s.MasterName).StringSlice()
		if err != nil || len(r) != 2 || net.JoinHostPort(r[0], r[1]) != master {
			return fmt.Sprintf("sentinel %s names master %v (%v), want %s", sn.Addr, r, err, master)
		}
		m, err := sn.Client().Do(ctx, "SENTINEL", "master", s.MasterName).StringSlice()
		if err != nil {
			return fmt.Sprintf("sentinel %s: SENTINEL MASTER: %v", sn.Addr, err)
		}
		fields := map[string]string{}
		for i := 0; i+1 < len(m); i += 2 {
			fields[m[i]] = m[i+1]
		}
		if fields["num-other-sentinels"] != "2" || fields["num-slaves"] == "0" {
			return fmt.Sprintf("sentinel %s sees %s other sentinels and %s replicas", sn.Addr, fields["num-other-sentinels"], fields["num-slaves"])
		}
	}
	for _, n := range s.Servers {
		if n.Addr != master {
			continue
		}
		repl := n.Info(ctx, "replication")
		if repl["role"] != "master" {
			return fmt.Sprintf("%s has role %q", master, repl["role"])
		}
		if !strings.Contains(repl["slave0"], "state=online") {
			return fmt.Sprintf("%s has no replica online (%q)", master, repl["slave0"])
		}
		return ""
	}
	return fmt.Sprintf("%s is none of the servers", master)
}

// KillMaster kills the current master with SIGKILL and waits until the sentinels have
// promoted the replica and every sentinel names it; it returns the new master and the time
// from the kill to the moment the new master says role:master and the sentinels agree. The
// killed server stays down.
func (s *RedisSentinel) KillMaster() (promoted *RedisNode, took time.Duration) {
	s.t.Helper()
	ctx := context.Background()
	old := s.Master(ctx)
	if old == nil {
		s.t.Fatalf("testenv: the sentinels name no master of ours (%q)", s.MasterAddr(ctx))
	}
	killed := time.Now()
	old.Kill()
	deadline := killed.Add(60 * time.Second)
	for {
		agreed := ""
		for _, sn := range s.Sentinels {
			r, err := sn.Client().Do(ctx, "SENTINEL", "get-master-addr-by-name", s.MasterName).StringSlice()
			if err != nil || len(r) != 2 || net.JoinHostPort(r[0], r[1]) == old.Addr {
				agreed = ""
				break
			}
			if a := net.JoinHostPort(r[0], r[1]); agreed == "" || agreed == a {
				agreed = a
			} else {
				agreed = ""
				break
			}
		}
		for _, n := range s.Servers {
			if n.Addr == agreed && n.Running() && n.Info(ctx, "replication")["role"] == "master" {
				return n, time.Since(killed)
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("testenv: the sentinels did not fail %s over within 60 s (they name %q)", old.Addr, s.MasterAddr(ctx))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Rejoin starts a killed server again, as a restarted machine would; the sentinels make it a
// replica of the current master. It waits until that master has it online as a replica and
// returns how long that took.
func (s *RedisSentinel) Rejoin(n *RedisNode) time.Duration {
	s.t.Helper()
	began := time.Now()
	n.Start()
	s.waitSettled("", 60*time.Second)
	return time.Since(began)
}
