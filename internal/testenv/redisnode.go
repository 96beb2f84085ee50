package testenv

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisStartTimeout bounds how long a private redis-server or redis-sentinel takes to answer PING.
const redisStartTimeout = 15 * time.Second

// RedisNode is a redis-server (or redis-sentinel) process of a test's own, on a free port of
// 127.0.0.1 with its own directory, so that a test may kill it without touching the Redis
// every other test uses. The test's cleanup kills every node still running.
type RedisNode struct {
	// Addr is 127.0.0.1:PORT.
	Addr string
	// Port is the node's port.
	Port int

	t    testing.TB
	bin  string
	args []string
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
	rdb  *redis.Client
}

// startRedisNode starts bin (redis-server or redis-sentinel) with args in a directory of its
// own under dir, which holds its log, and waits until it answers PING. Its port is args' --port.
func startRedisNode(t testing.TB, bin, dir string, port int, args ...string) *RedisNode {
	t.Helper()
	path, err := exec.LookPath(bin)
	if err != nil {
		Unavailable(t, "%s binary (apt-get install redis-server redis-sentinel): %v", bin, err)
	}
	n := &RedisNode{Addr: fmt.Sprintf("127.0.0.1:%d", port), Port: port, t: t, bin: path, args: args, dir: dir}
	// RESP2: SENTINEL MASTER's reply is then a flat list, as StringSlice reads it.
	n.rdb = redis.NewClient(&redis.Options{Addr: n.Addr, Protocol: 2, DialTimeout: time.Second, ReadTimeout: 2 * time.Second, MaxRetries: -1})
	t.Cleanup(func() {
		n.Kill()
		_ = n.rdb.Close()
	})
	n.Start()
	return n
}

// Start starts the node again with the arguments it first had (a killed master comes back as
// whatever its cluster or its sentinels make of it) and waits until it answers PING.
func (n *RedisNode) Start() {
	n.t.Helper()
	if n.Running() {
		return
	}
	logFile, err := os.OpenFile(filepath.Join(n.dir, "log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		n.t.Fatal(err)
	}
	cmd := exec.Command(n.bin, n.args...)
	cmd.Dir = n.dir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = childProcAttr()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		n.t.Fatalf("testenv: start %s on %s: %v", n.bin, n.Addr, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logFile.Close()
		close(done)
	}()
	n.cmd, n.done = cmd, done
	deadline := time.Now().Add(redisStartTimeout)
	for n.rdb.Ping(context.Background()).Err() != nil {
		select {
		case <-done:
			n.t.Fatalf("testenv: %s on %s exited at start:\n%s", n.bin, n.Addr, n.LogTail(20))
		default:
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("testenv: %s on %s did not answer PING within %s:\n%s", n.bin, n.Addr, redisStartTimeout, n.LogTail(20))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Kill sends SIGKILL to the node, as a crash or a lost machine would stop it, and waits until
// the process is gone. It does nothing to a node that is not running.
func (n *RedisNode) Kill() {
	if !n.Running() {
		return
	}
	_ = n.cmd.Process.Signal(syscall.SIGKILL)
	<-n.done
}

// Running reports whether the node's process is alive.
func (n *RedisNode) Running() bool {
	if n.cmd == nil {
		return false
	}
	select {
	case <-n.done:
		return false
	default:
		return true
	}
}

// Client is a client of this node alone (not of its cluster), for INFO, CLUSTER and SENTINEL
// commands; it does not retry.
func (n *RedisNode) Client() *redis.Client { return n.rdb }

// Info returns the fields of INFO section as a map, or nil when the node does not answer.
func (n *RedisNode) Info(ctx context.Context, section string) map[string]string {
	s, err := n.rdb.Info(ctx, section).Result()
	if err != nil {
		return nil
	}
	return parseInfo(s)
}

// LogTail returns the last lines of the node's log, for a failure message.
func (n *RedisNode) LogTail(lines int) string {
	b, err := os.ReadFile(filepath.Join(n.dir, "log"))
	if err != nil {
		return err.Error()
	}
	ls := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(ls) > lines {
		ls = ls[len(ls)-lines:]
	}
	return strings.Join(ls, "\n")
}

// parseInfo turns INFO's "key:value" lines into a map.
func parseInfo(s string) map[string]string {
	m := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":"); ok && !strings.HasPrefix(k, "#") {
			m[k] = v
		}
	}
	return m
}

// redisDir makes a directory for one node under dir.
func redisDir(t testing.TB, dir, name string) string {
	t.Helper()
	d := filepath.Join(dir, name)
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

// freePorts returns n distinct free ports of 127.0.0.1. A Cluster node also listens on its
// port + 10000 (the cluster bus), so with bus each of those must be free too.
func freePorts(t testing.TB, n int, bus bool) []int {
	t.Helper()
	seen := map[int]bool{}
	var out []int
	for len(out) < n {
		p := FreePort(t)
		if seen[p] || (bus && (p+10000 > 65535 || seen[p+10000] || !portFree(p+10000))) {
			continue
		}
		seen[p], seen[p+10000] = true, true
		out = append(out, p)
	}
	return out
}

func portFree(p int) bool {
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

// StartRedisServer starts a redis-server of the test's own on a free port, without
// persistence, with extra arguments (--replicaof HOST PORT, say), and kills it when the test
// ends. Without redis-server the test is skipped, or fails in CI.
func StartRedisServer(t testing.TB, extra ...string) *RedisNode {
	t.Helper()
	port := FreePort(t)
	d := t.TempDir()
	args := append([]string{"--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--dir", d, "--save", "", "--appendonly", "no"}, extra...)
	return startRedisNode(t, "redis-server", d, port, args...)
}
