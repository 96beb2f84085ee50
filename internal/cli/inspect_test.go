package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/eventworker/eventworker/internal/debugserver"
	"github.com/eventworker/eventworker/internal/testenv"
)

// sampleDocument is a worker's state with something in every part: two consumers, one with
// two events in flight and an open circuit, two leases.
func sampleDocument() debugserver.Document {
	now := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { t := now.Add(d); return &t }
	return debugserver.Document{
		Version: "1.4.0", Revision: "abc1234", GoVersion: "go1.27.3", Host: "worker-7", PID: 42,
		Now: now, StartedAt: now.Add(-90 * time.Minute), UptimeSeconds: 5400, Goroutines: 120, Running: true,
		Consumers: []debugserver.Consumer{
			{Name: "cache", Queue: "eventworker.cache", EventTypes: []string{"product.updated"}, Concurrency: 8,
				Circuit: debugserver.Circuit{State: "closed"}},
			{Name: "notifications", Queue: "eventworker.notifications", EventTypes: []string{"order.created"}, Concurrency: 8,
				InFlight: 3,
				Events: []debugserver.Event{
					{EventID: "e-1", EventType: "order.created", TenantID: "acme", Attempt: 1, StartedAt: now.Add(-12 * time.Second), AgeSeconds: 12.34},
					{EventID: "e-2", EventType: "user.registered", Attempt: 3, StartedAt: now.Add(-time.Second), AgeSeconds: 0.95},
				},
				Circuit: debugserver.Circuit{State: "open", Since: at(-30 * time.Second), LastCause: "dial tcp relay:587:\nconnection refused",
					UnavailableInARow: 6, NextProbe: at(4 * time.Second)}},
		},
		Leases: []debugserver.Lease{
			{Consumer: "notifications", EventID: "e-1", Since: now.Add(-12 * time.Second), RenewedAt: now.Add(-2 * time.Second), TTLSeconds: 15},
			{Consumer: "notifications", EventID: "e-2", Since: now.Add(-time.Second), RenewedAt: now.Add(-time.Second), TTLSeconds: 15},
		},
		Config: map[string]string{"EVENTWORKER_AMQP_URL": "amqp://guest:xxxxx@rabbit:5672/"},
	}
}

func serveDocument(t *testing.T, doc any, status int) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/debug/state" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
		if s, ok := doc.(string); ok {
			fmt.Fprint(w, s)
			return
		}
		_ = json.NewEncoder(w).Encode(doc)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// TestInspectGolden compares the summary of sampleDocument with testdata/inspect/summary.txt
// (go test ./internal/cli -run InspectGolden -update rewrites it).
func TestInspectGolden(t *testing.T) {
	addr := serveDocument(t, sampleDocument(), http.StatusOK)
	got := runCLI(t, nil, "inspect", "--addr", addr)
	if got.code != 0 || got.stderr != "" {
		t.Fatalf("exit %d, stderr %q", got.code, got.stderr)
	}
	golden := filepath.Join("testdata", "inspect", "summary.txt")
	if *update {
		if err := os.WriteFile(golden, []byte(got.stdout), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v; run go test ./internal/cli -run InspectGolden -update", err)
	}
	if got.stdout != string(want) {
		t.Errorf("summary differs from %s; run go test ./internal/cli -run InspectGolden -update and review the diff\ngot:\n%s", golden, got.stdout)
	}
}

func TestInspectJSONIsTheAnswer(t *testing.T) {
	addr := serveDocument(t, sampleDocument(), http.StatusOK)
	got := runCLI(t, nil, "inspect", "--json", "--addr", addr)
	var doc debugserver.Document
	if err := json.Unmarshal([]byte(got.stdout), &doc); err != nil || got.code != 0 {
		t.Fatalf("exit %d, %v:\n%s", got.code, err, got.stdout)
	}
	if doc.Leases[1].EventID != "e-2" || doc.Config["EVENTWORKER_AMQP_URL"] != "amqp://guest:xxxxx@rabbit:5672/" {
		t.Errorf("--json lost parts of the answer: %+v", doc)
	}
}

func TestInspectErrors(t *testing.T) {
	free := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	tests := []struct {
		name   string
		env    string
		args   []string
		code   int
		stderr string // regexp
	}{
		{"no address", "", nil, 2, `no debug listener to ask: run the worker with EVENTWORKER_DEBUG_ADDR set`},
		{"nothing listens", free, nil, 1, `nothing listens at ` + regexp.QuoteMeta(free) + `: is the worker running with EVENTWORKER_DEBUG_ADDR=` + regexp.QuoteMeta(free) + `\?`},
		{"--addr wins", "bogus", []string{"--addr", free}, 1, `nothing listens at ` + regexp.QuoteMeta(free)},
		{"not host:port", "6060", nil, 1, `debug listener address "6060" is not host:port`},
		{"another program", serveDocument(t, "<html>hello</html>", http.StatusOK), []string{"--addr"}, 1, `the answer is not the worker's state`},
		{"an error answer", serveDocument(t, "boom", http.StatusInternalServerError), []string{"--addr"}, 1, `answered 500 Internal Server Error: boom`},
		{"a bad timeout", free, []string{"--timeout", "0s"}, 2, `--timeout 0s must be positive`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"inspect"}, tt.args...)
			if len(tt.args) == 1 && tt.args[0] == "--addr" {
				args = append(args, tt.env)
			}
			t.Setenv("EVENTWORKER_DEBUG_ADDR", tt.env)
			got := runCLI(t, nil, args...)
			if got.code != tt.code || !regexp.MustCompile(tt.stderr).MatchString(got.stderr) || got.stdout != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d and stderr matching %q", got.code, got.stdout, got.stderr, tt.code, tt.stderr)
			}
		})
	}
}
