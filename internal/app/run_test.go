package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eventworker/eventworker/config"
	"github.com/eventworker/eventworker/handlers"
	"github.com/eventworker/eventworker/internal/testenv"
	"github.com/eventworker/eventworker/internal/worker/handling"
	"github.com/eventworker/eventworker/registry"
)

// privateRedis starts a redis-server of its own, so that stopping it harms no other test; extra
// are more redis-server arguments (persistence, say).
func privateRedis(t *testing.T, extra ...string) (addr string, start, stop func()) {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		testenv.Unavailable(t, "redis-server binary: %v", err)
	}
	port := testenv.FreePort(t)
	addr = fmt.Sprintf("127.0.0.1:%d", port)
	var cmd *exec.Cmd
	start = func() {
		args := append([]string{"--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"}, extra...)
		cmd = exec.Command(bin, args...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			if c, err := net.Dial("tcp", addr); err == nil {
				c.Close()
				return
			}
			if time.Now().After(deadline) {
				t.Fatal("private redis-server did not start")
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	stop = func() {
		if cmd != nil && cmd.Process != nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			cmd = nil
		}
	}
	start()
	t.Cleanup(stop)
	return addr, start, stop
}

// privateRegistry returns the embedded registry with its exchange renamed to name, so that a
// test's worker and producer stay off the shared "events" exchange, and the file it is written
// to, for the worker's EVENTWORKER_REGISTRY_FILE.
func privateRegistry(t *testing.T, name string) (reg *registry.Registry, file string) {
	t.Helper()
	text := strings.Replace(string(registry.Embedded()), "exchange: events", "exchange: "+name, 1)
	reg, err := registry.Load([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	file = filepath.Join(t.TempDir(), "registry.yaml")
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return reg, file
}

func readyz(url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestReadinessFollowsRedis(t *testing.T) {
	amqpURL := testenv.AMQPURL(t)
	redisAddr, startRedis, stopRedis := privateRedis(t)
	name := testenv.Name("ewapp")
	cfg := config.Default()
	cfg.AMQPURL = amqpURL
	cfg.RedisURL = "redis://" + redisAddr
	cfg.QueuePrefix = name
	cfg.HTTPAddr = fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	cfg.ShutdownTimeout = 5 * time.Second
	cfg.HandlerTimeout, cfg.MailTimeout = 4*time.Second, 3*time.Second // within the shutdown deadline

	reg, err := registry.Default()
	if err != nil {
		t.Fatal(err)
	}
	var hs []handling.Handler
	for _, c := range reg.Consumers() {
		hs = append(hs, handling.Func{Name: c, Types: reg.EventsOf(c), Fn: func(context.Context, *registry.Event) error { return nil }})
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)), WithHandlers(func(handlers.Deps) []handling.Handler { return hs }))
	}()
	t.Cleanup(func() { deleteQueues(t, amqpURL, name, reg.Consumers(), cfg) })

	url := "http://" + cfg.HTTPAddr + "/readyz"
	waitStatus := func(want int, contains string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			code, body := readyz(url)
			if code == want && strings.Contains(body, contains) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("readyz: got %d %q, want %d containing %q", code, body, want, contains)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitStatus(http.StatusOK, "")
	stopRedis()
	waitStatus(http.StatusServiceUnavailable, "redis")
	startRedis()
	waitStatus(http.StatusOK, "")

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after shutdown: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after shutdown")
	}
}
