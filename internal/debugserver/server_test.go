package debugserver

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eventworker/eventworker/config"
	"github.com/eventworker/eventworker/internal/worker"
)

// fixedState is a StateSource that returns one state: a pure unit test of the routes.
type fixedState worker.State

func (f fixedState) State() worker.State { return worker.State(f) }

var started = time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)

func sampleState() fixedState {
	return fixedState{
		Running: true,
		Consumers: []worker.ConsumerState{
			{
				Name: "notifications", Queue: "eventworker.notifications", EventTypes: []string{"order.created"}, Concurrency: 8,
				InFlight: 1,
				Events: []worker.InFlightEvent{{
					EventID: "e1", EventType: "order.created", TenantID: "acme", Attempt: 2,
					StartedAt: started, Age: 1500 * time.Millisecond,
				}},
				Circuit: worker.Circuit{State: worker.CircuitOpen, Since: started, Cause: "mail server unavailable", UnavailableInARow: 5, NextProbe: started.Add(time.Second)},
			},
			{Name: "cache", Queue: "eventworker.cache", EventTypes: []string{"product.updated"}, Concurrency: 8, Circuit: worker.Circuit{State: worker.CircuitClosed}},
		},
		Leases: []worker.LeaseState{{Consumer: "notifications", EventID: "e1", Since: started, Renewed: started, TTL: 15 * time.Second}},
	}
}

func get(t *testing.T, h http.Handler, method, path string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec
}

func TestRoutes(t *testing.T) {
	h := New("127.0.0.1:0", sampleState(), config.Default().Redacted()).Handler()
	tests := []struct {
		method, path string
		code         int
		contains     string
	}{
		{"GET", "/debug/pprof/", 200, "goroutine"},
		{"GET", "/debug/pprof/goroutine?debug=1", 200, "goroutine profile:"},
		{"GET", "/debug/pprof/heap?debug=1", 200, "heap profile:"},
		{"GET", "/debug/pprof/cmdline", 200, ""},
		{"GET", "/debug/pprof/symbol", 200, "num_symbols"},
		{"GET", "/debug/state", 200, `"consumers"`},
		{"POST", "/debug/state", 405, ""},
		{"GET", "/metrics", 404, ""},
		{"GET", "/", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			rec := get(t, h, tt.method, tt.path)
			if rec.Code != tt.code || !strings.Contains(rec.Body.String(), tt.contains) {
				t.Errorf("%d, want %d with %q:\n%.300s", rec.Code, tt.code, tt.contains, rec.Body.String())
			}
		})
	}
}

func TestStateDocument(t *testing.T) {
	h := New("127.0.0.1:0", sampleState(), map[string]string{"EVENTWORKER_QUEUE_PREFIX": "eventworker"}).Handler()
	rec := get(t, h, "GET", "/debug/state")
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("content type %q", ct)
	}
	// The shape, as a client that knows nothing of the Go types sees it.
	var raw map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	keys := func(v any) []string {
		var out []string
		for k := range v.(map[string]any) {
			out = append(out, k)
		}
		slices.Sort(out)
		return out
	}
	consumer := raw["consumers"].([]any)[0]
	for _, c := range []struct {
		what string
		v    any
		want []string
	}{
		{"document", raw, []string{"config", "consumers", "go_version", "goroutines", "host", "leases", "now", "pid", "revision", "running", "shutting_down", "started_at", "uptime_seconds", "version"}},
		{"consumer", consumer, []string{"circuit", "concurrency", "event_types", "in_flight", "in_flight_events", "name", "queue"}},
		{"in-flight event", consumer.(map[string]any)["in_flight_events"].([]any)[0], []string{"age_seconds", "attempt", "event_id", "event_type", "started_at", "tenant_id"}},
		{"open circuit", consumer.(map[string]any)["circuit"], []string{"last_cause", "next_probe", "since", "state", "unavailable_in_a_row"}},
		{"closed circuit never opened", raw["consumers"].([]any)[1].(map[string]any)["circuit"], []string{"state", "unavailable_in_a_row"}},
		{"lease", raw["leases"].([]any)[0], []string{"consumer", "event_id", "renewed_at", "since", "ttl_seconds"}},
	} {
		if got := keys(c.v); !slices.Equal(got, c.want) {
			t.Errorf("%s has keys %v, want %v", c.what, got, c.want)
		}
	}

	var doc Document
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	ev := doc.Consumers[0].Events[0]
	if ev.EventID != "e1" || ev.TenantID != "acme" || ev.Attempt != 2 || ev.AgeSeconds != 1.5 || !ev.StartedAt.Equal(started) {
		t.Errorf("in-flight event %+v", ev)
	}
	if c := doc.Consumers[0].Circuit; c.State != "open" || c.LastCause != "mail server unavailable" || !c.NextProbe.Equal(started.Add(time.Second)) {
		t.Errorf("circuit %+v", c)
	}
	if l := doc.Leases[0]; l.Consumer != "notifications" || l.TTLSeconds != 15 {
		t.Errorf("lease %+v", l)
	}
	if !doc.Running || doc.Config["EVENTWORKER_QUEUE_PREFIX"] != "eventworker" || doc.PID == 0 || doc.Version == "" || doc.UptimeSeconds < 0 {
		t.Errorf("document %+v", doc)
	}
}

// TestStateHidesPasswords shows a configuration with a password in each URL: none appears.
func TestStateHidesPasswords(t *testing.T) {
	cfg := config.Default()
	cfg.AMQPURL = "amqp://worker:amqpS3cret@rabbit:5672/"
	cfg.RedisURL = "redis://:redisS3cret@redis:6379/0"
	cfg.MailURL = "smtps://mailer:smtpS3cret@relay:465"
	body := get(t, New("127.0.0.1:0", sampleState(), cfg.Redacted()).Handler(), "GET", "/debug/state").Body.String()
	if strings.Contains(body, "S3cret") {
		t.Errorf("/debug/state shows a password:\n%s", body)
	}
	if !strings.Contains(body, "amqp://worker:xxxxx@rabbit:5672/") || !strings.Contains(body, "smtps://mailer:xxxxx@relay:465") {
		t.Errorf("/debug/state does not show the URLs redacted:\n%s", body)
	}
}

func TestStartAndShutdown(t *testing.T) {
	s := New("127.0.0.1:0", sampleState(), nil)
	if err := s.Shutdown(context.Background()); err != nil {
		t.Errorf("shutdown before start: %v", err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != ErrAlreadyStarted {
		t.Errorf("second start: %v", err)
	}
	resp, err := http.Get("http://" + s.Addr() + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "goroutine") {
		t.Errorf("pprof index over TCP: %d\n%.200s", resp.StatusCode, b)
	}
	taken := New(s.Addr(), sampleState(), nil)
	if err := taken.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "EVENTWORKER_DEBUG_ADDR") {
		t.Errorf("a taken port: %v, want an error naming EVENTWORKER_DEBUG_ADDR", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get("http://" + s.Addr() + "/debug/state"); err == nil {
		t.Error("still serving after Shutdown")
	}
}
