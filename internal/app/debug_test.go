package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/eventworker/eventworker/config"
	"github.com/eventworker/eventworker/handlers"
	"github.com/eventworker/eventworker/internal/debugserver"
	"github.com/eventworker/eventworker/internal/testenv"
	"github.com/eventworker/eventworker/internal/worker/handling"
	"github.com/eventworker/eventworker/publisher"
	"github.com/eventworker/eventworker/registry"
)

func TestNoDebugListenerUnlessSet(t *testing.T) {
	a := &App{Config: config.Default(), Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	srv, stop, err := a.startDebug(context.Background())
	if err != nil || srv != nil {
		t.Fatalf("EVENTWORKER_DEBUG_ADDR empty: listener %v, error %v; want none", srv, err)
	}
	stop(context.Background())
}

// TestDebugListenerShowsEventInFlight runs the worker as `eventworker run` does, with the debug
// listener on, and a notifications handler that blocks on one event: /debug/state lists it in
// flight with its lease, until the handler returns.
func TestDebugListenerShowsEventInFlight(t *testing.T) {
	amqpURL := testenv.AMQPURL(t)
	redisAddr := testenv.RedisAddr(t)
	name := testenv.Name("ewdebug")
	reg, regFile := privateRegistry(t, name)
	cfg := config.Default()
	cfg.AMQPURL = amqpURL
	cfg.RedisURL = "redis://" + redisAddr
	cfg.RegistryFile = regFile
	cfg.QueuePrefix, cfg.CachePrefix = name, name+":"
	cfg.HTTPAddr = fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	cfg.DebugAddr = fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	cfg.ShutdownTimeout = 5 * time.Second
	cfg.HandlerTimeout, cfg.MailTimeout = 4*time.Second, 3*time.Second
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}

	entered, release := make(chan struct{}, 1), make(chan struct{})
	blocking := handling.Func{Name: handlers.ConsumerNotifications, Types: reg.EventsOf(handlers.ConsumerNotifications),
		Fn: func(ctx context.Context, ev *registry.Event) error {
			if ev.Type == "user.registered" { // the test's own exchange: only its event
				entered <- struct{}{}
				select {
				case <-release:
				case <-ctx.Done():
				}
			}
			return nil
		}}
	logs := &testenv.SyncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, cfg, slog.New(slog.NewJSONHandler(logs, nil)),
			WithHandlers(func(handlers.Deps) []handling.Handler { return withStubs(reg, []handling.Handler{blocking}) }))
	}()
	t.Cleanup(func() { deleteQueues(t, amqpURL, name, reg.Consumers(), cfg) })
	debug := "http://" + cfg.DebugAddr
	waitFor(t, logs, "readiness", func() bool { code, _ := readyz("http://" + cfg.HTTPAddr + "/readyz"); return code == http.StatusOK })

	pub, err := publisher.New(context.Background(), publisher.Config{URL: amqpURL, Registry: reg, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	id, err := pub.PublishPayload(context.Background(), "acme", registry.UserRegistered{UserID: "u1", Email: "u1@shop.example"})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-entered:
	case <-time.After(30 * time.Second):
		t.Fatalf("the handler never got the event; logs:\n%s", logs.String())
	}

	doc := debugState(t, debug)
	notif := findConsumer(t, doc, handlers.ConsumerNotifications)
	if notif.InFlight != 1 || len(notif.Events) != 1 {
		t.Fatalf("notifications in flight: %d %+v, want the blocked event", notif.InFlight, notif.Events)
	}
	if ev := notif.Events[0]; ev.EventID != id || ev.EventType != "user.registered" || ev.TenantID != "acme" || ev.Attempt != 1 || ev.AgeSeconds < 0 {
		t.Errorf("in flight: %+v, want %s, user.registered, tenant acme, attempt 1", ev, id)
	}
	if notif.Circuit.State != "closed" || notif.Queue != name+".notifications" {
		t.Errorf("notifications: circuit %q, queue %q", notif.Circuit.State, notif.Queue)
	}
	var leased bool
	for _, l := range doc.Leases {
		leased = leased || (l.Consumer == handlers.ConsumerNotifications && l.EventID == id)
	}
	if !leased || !doc.Running || doc.Config["EVENTWORKER_DEBUG_ADDR"] != cfg.DebugAddr {
		t.Errorf("leases %+v (want notifications/%s), running %v, config %v", doc.Leases, id, doc.Running, doc.Config)
	}
	if got := doc.Config["EVENTWORKER_AMQP_URL"]; strings.Contains(got, "guest:guest") {
		t.Errorf("the AMQP password shows: %s", got)
	}
	if code, body := readyz(debug + "/debug/pprof/"); code != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Errorf("/debug/pprof/: %d", code)
	}
	if code, _ := readyz("http://" + cfg.HTTPAddr + "/debug/state"); code != http.StatusNotFound {
		t.Errorf("the metrics listener answers /debug/state with %d, want 404", code)
	}

	close(release)
	waitFor(t, logs, "the event to finish", func() bool {
		doc := debugState(t, debug)
		return findConsumer(t, doc, handlers.ConsumerNotifications).InFlight == 0 && len(doc.Leases) == 0
	})
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return")
	}
	if _, err := http.Get(debug + "/debug/state"); err == nil {
		t.Error("the debug listener still answers after Run returned")
	}
}

func debugState(t *testing.T, base string) debugserver.Document {
	t.Helper()
	resp, err := http.Get(base + "/debug/state")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc debugserver.Document
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/debug/state: %d, %v", resp.StatusCode, err)
	}
	return doc
}

func findConsumer(t *testing.T, doc debugserver.Document, name string) debugserver.Consumer {
	t.Helper()
	for _, c := range doc.Consumers {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("/debug/state has no consumer %s: %+v", name, doc.Consumers)
	return debugserver.Consumer{}
}

func waitFor(t *testing.T, logs *testenv.SyncBuffer, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; logs:\n%s", what, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
