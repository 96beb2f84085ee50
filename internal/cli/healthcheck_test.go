package cli

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/eventworker/eventworker/internal/health"
)

// runHealthcheckCLI runs `eventworker healthcheck args...` with vars as the whole environment.
func runHealthcheckCLI(t *testing.T, vars map[string]string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return vars[k] }}
	code := run(context.Background(), e, append([]string{"healthcheck"}, args...))
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// workerServer serves the worker's real routes (internal/health) on 127.0.0.1 with one
// readiness check whose result the test switches, and returns its port.
func workerServer(t *testing.T, readyErr *atomic.Pointer[error]) string {
	t.Helper()
	srv := health.New("unused", prometheus.NewRegistry(),
		health.Check{Name: "redis", Fn: func(context.Context) error {
			if p := readyErr.Load(); p != nil {
				return *p
			}
			return nil
		}},
		health.Check{Name: "rabbitmq", Fn: func(context.Context) error { return nil }},
	)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	_, port, err := net.SplitHostPort(ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// oneLineOn checks that out is exactly one line containing every one of wants.
func oneLineOn(t *testing.T, what, out string, wants ...string) {
	t.Helper()
	if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
		t.Errorf("%s is not exactly one line: %q", what, out)
	}
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("%s %q lacks %q", what, out, w)
		}
	}
}

func TestHealthcheckAgainstTheWorkersRoutes(t *testing.T) {
	var readyErr atomic.Pointer[error]
	port := workerServer(t, &readyErr)
	vars := map[string]string{"EVENTWORKER_HTTP_ADDR": ":" + port}

	got := runHealthcheckCLI(t, vars)
	if got.code != 0 || got.stderr != "" {
		t.Fatalf("healthcheck of a live worker: exit %d, stderr %q", got.code, got.stderr)
	}
	oneLineOn(t, "stdout", got.stdout, "http://127.0.0.1:"+port+"/healthz", "200")

	got = runHealthcheckCLI(t, vars, "--ready")
	if got.code != 0 {
		t.Fatalf("--ready of a ready worker: exit %d, stderr %q", got.code, got.stderr)
	}
	oneLineOn(t, "stdout", got.stdout, "/readyz")

	down := errors.New("dial tcp 127.0.0.1:6379: connect: connection refused")
	readyErr.Store(&down)
	got = runHealthcheckCLI(t, vars, "--ready")
	if got.code != 1 || got.stdout != "" {
		t.Fatalf("--ready of an unready worker: exit %d, stdout %q; want 1 and nothing", got.code, got.stdout)
	}
	oneLineOn(t, "stderr", got.stderr, "eventworker healthcheck: ", "/readyz answered 503", "redis: dial tcp 127.0.0.1:6379: connect: connection refused")

	// Liveness does not depend on readiness.
	if got = runHealthcheckCLI(t, vars); got.code != 0 {
		t.Errorf("/healthz of an unready worker: exit %d, stderr %q; want 0", got.code, got.stderr)
	}

	// --http-addr wins over the environment; --url over both.
	if got = runHealthcheckCLI(t, map[string]string{"EVENTWORKER_HTTP_ADDR": ":1"}, "--http-addr", "127.0.0.1:"+port); got.code != 0 {
		t.Errorf("--http-addr: exit %d, stderr %q", got.code, got.stderr)
	}
	got = runHealthcheckCLI(t, map[string]string{"EVENTWORKER_HTTP_ADDR": ":1"}, "--ready", "--url", "http://127.0.0.1:"+port+"/healthz")
	if got.code != 0 {
		t.Errorf("--url: exit %d, stderr %q", got.code, got.stderr)
	}
	oneLineOn(t, "stdout", got.stdout, "/healthz")
}

func TestHealthcheckFailures(t *testing.T) {
	// A port nothing listens on: take one, then close it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()

	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	t.Cleanup(hang.Close)
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	}))
	t.Cleanup(redirect.Close)
	multiline := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte("first\r\n\n  second\tline \x1b[31m\nthird\n"))
	}))
	t.Cleanup(multiline.Close)

	tests := []struct {
		name  string
		args  []string
		wants []string
	}{
		{"nothing listens", []string{"--http-addr", closed}, []string{"GET http://" + closed + "/healthz: ", "connection refused"}},
		{"no answer in time", []string{"--url", hang.URL + "/healthz", "--timeout", "200ms"}, []string{"no answer within 200ms"}},
		{"a redirect is not healthy", []string{"--url", redirect.URL + "/healthz"}, []string{"answered 302 Found"}},
		{"a body of many lines", []string{"--url", multiline.URL}, []string{"answered 500 Internal Server Error: first; second line [31m; third"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runHealthcheckCLI(t, nil, tt.args...)
			if got.code != 1 || got.stdout != "" {
				t.Fatalf("exit %d, stdout %q; want 1 and nothing", got.code, got.stdout)
			}
			oneLineOn(t, "stderr", got.stderr, append([]string{"eventworker healthcheck: "}, tt.wants...)...)
		})
	}
}

func TestHealthcheckUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		vars map[string]string
		args []string
		code int
		want string
	}{
		{"not a URL", nil, []string{"--url", "127.0.0.1:9090/healthz"}, 2, `--url "127.0.0.1:9090/healthz" is not an http:// or https:// URL`},
		{"not http", nil, []string{"--url", "ftp://127.0.0.1/healthz"}, 2, "is not an http:// or https:// URL"},
		{"zero timeout", nil, []string{"--timeout", "0s"}, 2, "--timeout 0s must be positive"},
		{"an argument", nil, []string{"extra"}, 2, `unexpected argument "extra"`},
		{"an address without a port", map[string]string{"EVENTWORKER_HTTP_ADDR": "9090"}, nil, 1, `EVENTWORKER_HTTP_ADDR "9090" is not host:port or :port`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runHealthcheckCLI(t, tt.vars, tt.args...)
			if got.code != tt.code || !strings.Contains(got.stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", got.code, got.stderr, tt.code, tt.want)
			}
		})
	}
}

func TestHealthcheckURL(t *testing.T) {
	tests := []struct{ listen, want string }{
		{":9090", "http://127.0.0.1:9090/healthz"},
		{"0.0.0.0:9090", "http://127.0.0.1:9090/healthz"},
		{"[::]:9090", "http://127.0.0.1:9090/healthz"},
		{"127.0.0.1:8080", "http://127.0.0.1:8080/healthz"},
		{"[::1]:9090", "http://[::1]:9090/healthz"},
		{"localhost:9090", "http://localhost:9090/healthz"},
		{"10.1.2.3:9090", "http://10.1.2.3:9090/healthz"},
	}
	for _, tt := range tests {
		got, err := healthcheckURL(tt.listen, "/healthz")
		if err != nil || got != tt.want {
			t.Errorf("healthcheckURL(%q) = %q, %v; want %q", tt.listen, got, err, tt.want)
		}
	}
	for _, bad := range []string{"9090", "", "host:"} {
		if got, err := healthcheckURL(bad, "/healthz"); err == nil {
			t.Errorf("healthcheckURL(%q) = %q, want an error", bad, got)
		}
	}
}
