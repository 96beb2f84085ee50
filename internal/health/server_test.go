package health_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/eventworker/eventworker/internal/health"
)

// get serves one request through h and returns the status and body.
func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code, rec.Body.String()
}

func pass(context.Context) error { return nil }

func fail(msg string) func(context.Context) error {
	return func(context.Context) error { return errors.New(msg) }
}

func TestHealthzIsAliveWhateverTheChecks(t *testing.T) {
	srv := health.New("127.0.0.1:0", prometheus.NewRegistry(), health.Check{Name: "redis", Fn: fail("down")})
	srv.SetDraining()
	code, body := get(t, srv.Handler(), "/healthz")
	if code != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz = %d %q, want 200 \"ok\\n\"", code, body)
	}
}

func TestReadyz(t *testing.T) {
	blocked := make(chan struct{})
	t.Cleanup(func() { close(blocked) })
	tests := []struct {
		name     string
		checks   []health.Check
		draining bool
		wantCode int
		wantBody string
	}{
		{"no checks", nil, false, http.StatusOK, "ready\n"},
		{
			"passing checks",
			[]health.Check{{Name: "rabbitmq", Fn: pass}, {Name: "redis", Fn: pass}},
			false, http.StatusOK, "ready\n",
		},
		{
			"a passing check's detail is named under ready, on one line",
			[]health.Check{{Name: "rabbitmq", Fn: pass, Detail: func() string { return "consuming on node\nrabbit-2:5672" }}, {Name: "redis", Fn: pass}},
			false, http.StatusOK, "ready\nrabbitmq: consuming on node rabbit-2:5672\n",
		},
		{
			"one failing check is named with its error",
			[]health.Check{
				{Name: "rabbitmq", Fn: pass},
				{Name: "redis", Fn: fail("dial tcp 127.0.0.1:6379: connect: connection refused")},
			},
			false, http.StatusServiceUnavailable, "redis: dial tcp 127.0.0.1:6379: connect: connection refused\n",
		},
		{
			"every failing check has its line, in the order given",
			[]health.Check{{Name: "rabbitmq", Fn: fail("channel closed")}, {Name: "redis", Fn: fail("i/o timeout")}},
			false, http.StatusServiceUnavailable, "rabbitmq: channel closed\nredis: i/o timeout\n",
		},
		{
			"a multi-line error stays on one line",
			[]health.Check{{Name: "redis", Fn: fail("first\nrabbitmq: forged")}},
			false, http.StatusServiceUnavailable, "redis: first rabbitmq: forged\n",
		},
		{
			"a check honouring its context times out",
			[]health.Check{{Name: "slow", Fn: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }}},
			false, http.StatusServiceUnavailable, "slow: no answer within 50ms: health: check timed out\n",
		},
		{
			"a check ignoring its context is abandoned",
			[]health.Check{{Name: "stuck", Fn: func(context.Context) error { <-blocked; return nil }}},
			false, http.StatusServiceUnavailable, "stuck: no answer within 50ms: health: check timed out\n",
		},
		{
			"a panicking check fails",
			[]health.Check{{Name: "buggy", Fn: func(context.Context) error { panic("nil map") }}},
			false, http.StatusServiceUnavailable, "buggy: check panicked: nil map\n",
		},
		{
			"a check without a function fails",
			[]health.Check{{Name: "empty"}},
			false, http.StatusServiceUnavailable, "empty: health: check has no function\n",
		},
		{
			"draining",
			[]health.Check{{Name: "redis", Fn: pass}},
			true, http.StatusServiceUnavailable, "draining: shutting down\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := health.New("127.0.0.1:0", prometheus.NewRegistry(), tt.checks...)
			srv.CheckTimeout = 50 * time.Millisecond
			var reported []bool
			var mu sync.Mutex
			srv.OnReady = func(ready bool) { mu.Lock(); reported = append(reported, ready); mu.Unlock() }
			if tt.draining {
				srv.SetDraining()
			}
			code, body := get(t, srv.Handler(), "/readyz")
			if code != tt.wantCode || body != tt.wantBody {
				t.Errorf("/readyz = %d %q, want %d %q", code, body, tt.wantCode, tt.wantBody)
			}
			mu.Lock()
			defer mu.Unlock()
			want := tt.wantCode == http.StatusOK
			if len(reported) == 0 || reported[len(reported)-1] != want {
				t.Errorf("OnReady got %v, want last %v", reported, want)
			}
		})
	}
}

func TestDrainingRunsNoCheck(t *testing.T) {
	var calls atomic.Int32
	srv := health.New("127.0.0.1:0", prometheus.NewRegistry(),
		health.Check{Name: "redis", Fn: func(context.Context) error { calls.Add(1); return nil }})
	if code, _ := get(t, srv.Handler(), "/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz before draining = %d, want 200", code)
	}
	srv.SetDraining()
	get(t, srv.Handler(), "/readyz")
	if n := calls.Load(); n != 1 {
		t.Errorf("check ran %d times, want 1 (not while draining)", n)
	}
}

// TestChecksRunConcurrently gives two checks a barrier each can pass only once both started:
// run one after the other, they would time out.
func TestChecksRunConcurrently(t *testing.T) {
	var wg sync.WaitGroup
	wg.Add(2)
	both := make(chan struct{})
	go func() { wg.Wait(); close(both) }()
	meet := func(ctx context.Context) error {
		wg.Done()
		select {
		case <-both:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("the other check never started: %w", ctx.Err())
		}
	}
	srv := health.New("127.0.0.1:0", prometheus.NewRegistry(),
		health.Check{Name: "a", Fn: meet}, health.Check{Name: "b", Fn: meet})
	srv.CheckTimeout = 5 * time.Second
	if code, body := get(t, srv.Handler(), "/readyz"); code != http.StatusOK {
		t.Errorf("/readyz = %d %q, want 200", code, body)
	}
}

func TestMetricsServesTheGatherer(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "eventworker_test_total", Help: "A test counter."})
	reg.MustRegister(c)
	c.Add(3)
	srv := health.New("127.0.0.1:0", reg)
	code, body := get(t, srv.Handler(), "/metrics")
	if code != http.StatusOK || !strings.Contains(body, "eventworker_test_total 3\n") {
		t.Errorf("/metrics = %d:\n%s\nwant 200 with eventworker_test_total 3", code, body)
	}
}

func TestOtherMethodsAndPaths(t *testing.T) {
	srv := health.New("127.0.0.1:0", prometheus.NewRegistry())
	tests := []struct {
		method, path string
		want         int
	}{
		{http.MethodHead, "/healthz", http.StatusOK},
		{http.MethodPost, "/readyz", http.StatusMethodNotAllowed},
		{http.MethodGet, "/", http.StatusNotFound},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
		if rec.Code != tt.want {
			t.Errorf("%s %s = %d, want %d", tt.method, tt.path, rec.Code, tt.want)
		}
	}
}

func TestStartOnATakenPort(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer taken.Close()
	addr := taken.Addr().String()
	srv := health.New(addr, prometheus.NewRegistry())
	err = srv.Start(context.Background())
	if err == nil {
		_ = srv.Shutdown(context.Background())
		t.Fatal("Start on a taken port succeeded")
	}
	if !strings.Contains(err.Error(), "on "+addr+":") || !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("Start = %q; want it to name %s and wrap EADDRINUSE", err, addr)
	}
}

func TestStartServeShutdown(t *testing.T) {
	var ready atomic.Value
	srv := health.New("127.0.0.1:0", prometheus.NewRegistry())
	srv.OnReady = func(r bool) { ready.Store(r) }
	ctx := context.Background()
	if err := srv.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if err := srv.Start(ctx); !errors.Is(err, health.ErrAlreadyStarted) {
		t.Errorf("second Start = %v, want ErrAlreadyStarted", err)
	}
	url := "http://" + srv.Addr()
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(url + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d, want 200", path, resp.StatusCode)
		}
	}
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if r, _ := ready.Load().(bool); r {
		t.Error("OnReady not told false on Shutdown")
	}
	if err := srv.Shutdown(sctx); err != nil {
		t.Errorf("second Shutdown = %v, want nil", err)
	}
	if resp, err := http.Get(url + "/healthz"); err == nil {
		_ = resp.Body.Close()
		t.Error("the server still answers after Shutdown")
	}
}

func TestShutdownBeforeStart(t *testing.T) {
	srv := health.New("127.0.0.1:0", prometheus.NewRegistry())
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown before Start = %v, want nil", err)
	}
}

// Watch reports readiness without anyone probing /readyz, and stops at the drain.
func TestWatchReportsWithoutProbes(t *testing.T) {
	var failing atomic.Bool
	srv := health.New("127.0.0.1:0", prometheus.NewRegistry(), health.Check{Name: "dep", Fn: func(context.Context) error {
		if failing.Load() {
			return errors.New("down")
		}
		return nil
	}})
	reports := make(chan bool, 100)
	srv.OnReady = func(r bool) {
		select {
		case reports <- r:
		default:
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { srv.Watch(ctx, 10*time.Millisecond); close(done) }()
	waitReport := func(want bool) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case r := <-reports:
				if r == want {
					return
				}
			case <-deadline:
				t.Fatalf("Watch never reported ready=%v", want)
			}
		}
	}
	waitReport(true)
	failing.Store(true)
	waitReport(false)
	failing.Store(false)
	waitReport(true)
	srv.SetDraining()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Watch did not stop once the server drained")
	}
}
