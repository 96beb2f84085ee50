package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/eventworker/eventworker/config"
	"github.com/eventworker/eventworker/handlers"
	"github.com/eventworker/eventworker/internal/app"
	"github.com/eventworker/eventworker/internal/broker"
	"github.com/eventworker/eventworker/internal/testenv"
	"github.com/eventworker/eventworker/internal/worker/handling"
	"github.com/eventworker/eventworker/publisher"
	"github.com/eventworker/eventworker/registry"
)

// TestInspectRunningWorker runs the worker as `eventworker run` does, with the debug listener
// on and a notifications handler blocked on an event, and reads it with `eventworker inspect`.
func TestInspectRunningWorker(t *testing.T) {
	amqpURL := testenv.AMQPURL(t)
	redisAddr := testenv.RedisAddr(t)
	name := testenv.Name("ewinspect")
	text := strings.Replace(string(registry.Embedded()), "exchange: events", "exchange: "+name, 1)
	reg, err := registry.Load([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	regFile := filepath.Join(t.TempDir(), "registry.yaml")
	if err := os.WriteFile(regFile, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.AMQPURL, cfg.RedisURL, cfg.RegistryFile = amqpURL, "redis://"+redisAddr, regFile
	cfg.QueuePrefix, cfg.CachePrefix = name, name+":"
	cfg.HTTPAddr = fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	cfg.DebugAddr = fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	cfg.ShutdownTimeout = 5 * time.Second
	cfg.HandlerTimeout, cfg.MailTimeout = 4*time.Second, 3*time.Second

	entered, release := make(chan struct{}, 1), make(chan struct{})
	var hs []handling.Handler
	for _, c := range reg.Consumers() {
		hs = append(hs, handling.Func{Name: c, Types: reg.EventsOf(c), Fn: func(ctx context.Context, ev *registry.Event) error {
			if c == handlers.ConsumerNotifications && ev.Type == "user.registered" {
				entered <- struct{}{}
				select {
				case <-release:
				case <-ctx.Done():
				}
			}
			return nil
		}})
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- app.Run(ctx, cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)), app.WithHandlers(func(handlers.Deps) []handling.Handler { return hs }))
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("Run did not return")
		}
		deleteTopology(t, amqpURL, name, reg.Consumers(), cfg.RetryDelays)
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if resp, err := http.Get("http://" + cfg.HTTPAddr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the worker did not get ready")
		}
		time.Sleep(50 * time.Millisecond)
	}
	pub, err := publisher.New(context.Background(), publisher.Config{URL: amqpURL, Registry: reg})
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
		t.Fatal("the handler never got the event")
	}
	defer close(release)

	t.Setenv("EVENTWORKER_DEBUG_ADDR", cfg.DebugAddr)
	// The other consumers of the event finish on their own; only the blocked one stays.
	var got result
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		got = runCLI(t, nil, "inspect")
		if got.code != 0 || got.stderr != "" {
			t.Fatalf("exit %d, stderr %q", got.code, got.stderr)
		}
		if strings.Contains(got.stdout, "\nIn flight: 1\n") || time.Now().After(deadline) {
			break
		}
	}
	for _, want := range []string{
		`(?m)^eventworker \S+ .* up \S+: running$`,
		`(?m)^  notifications +` + regexp.QuoteMeta(name) + `\.notifications +1 +8 +closed$`,
		`(?m)^In flight: 1$`,
		`(?m)^  notifications +` + regexp.QuoteMeta(id) + ` +user\.registered +acme +1 +\S+$`,
		`(?m)^Leases held: 1$`,
		`(?m)^  notifications +` + regexp.QuoteMeta(id) + ` +\S+ +\S+ ago +15s$`,
		`(?m)^Circuits: all closed$`,
	} {
		if !regexp.MustCompile(want).MatchString(got.stdout) {
			t.Errorf("inspect output does not match %s:\n%s", want, got.stdout)
		}
	}
	asJSON := runCLI(t, nil, "inspect", "--json", "--addr", cfg.DebugAddr)
	if asJSON.code != 0 || !strings.Contains(asJSON.stdout, `"event_id": "`+id+`"`) || strings.Contains(asJSON.stdout, "guest:guest") {
		t.Errorf("inspect --json: exit %d, without the event or with the password:\n%s", asJSON.code, asJSON.stdout)
	}
}

// deleteTopology deletes the queues and exchanges a test's worker declared under prefix.
func deleteTopology(t *testing.T, url, prefix string, consumers []string, delays []time.Duration) {
	conn, err := amqp.Dial(url)
	if err != nil {
		t.Logf("cleanup: %v", err)
		return
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return
	}
	for _, c := range consumers {
		for _, q := range (broker.Names{Prefix: prefix, Consumer: c}).Queues(delays) {
			_, _ = ch.QueueDelete(q, false, false, false)
		}
	}
	_, _ = ch.QueueDelete(broker.UnroutableQueue(prefix), false, false, false)
	_ = ch.ExchangeDelete(broker.UnroutableExchange(prefix), false, false)
	_ = ch.ExchangeDelete(prefix, false, false)
}
