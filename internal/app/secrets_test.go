package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/eventworker/eventworker/config"
	"github.com/eventworker/eventworker/handlers"
	"github.com/eventworker/eventworker/internal/smtptest"
	"github.com/eventworker/eventworker/internal/testenv"
	"github.com/eventworker/eventworker/internal/worker/handling"
	"github.com/eventworker/eventworker/publisher"
	"github.com/eventworker/eventworker/registry"
)

// TestSecretsNeverLeak runs the worker with a password in each of its three URLs (RabbitMQ,
// Redis, SMTP), makes it send an email, then takes Redis away so that errors are logged and
// readiness fails, and checks that no password appears in the debug logs, /metrics, /readyz or
// the debug listener's /debug/state.
func TestSecretsNeverLeak(t *testing.T) {
	amqpURL := testenv.AMQPURL(t)
	ctl, err := exec.LookPath("rabbitmqctl")
	if err != nil {
		testenv.Unavailable(t, "rabbitmqctl: %v", err)
	}
	name := testenv.Name("ewsecret")
	secrets := map[string]string{"amqp": "amqpS3cret-" + name, "redis": "redisS3cret-" + name, "smtp": "smtpS3cret-" + name}

	user := name
	for _, args := range [][]string{{"add_user", user, secrets["amqp"]}, {"set_permissions", "-p", "/", user, ".*", ".*", ".*"}} {
		if out, err := exec.Command(ctl, args...).CombinedOutput(); err != nil {
			t.Fatalf("rabbitmqctl %s: %v\n%s", args[0], err, out)
		}
	}
	t.Cleanup(func() { _ = exec.Command(ctl, "delete_user", user).Run() })
	secretAMQP := strings.Replace(amqpURL, "guest:guest@", user+":"+secrets["amqp"]+"@", 1)

	redisAddr, _, stopRedis := privateRedis(t, "--requirepass", secrets["redis"])
	srv := smtptest.Start(t, smtptest.Options{User: "mailer", Pass: secrets["smtp"], InsecureAuth: true})

	reg, regFile := privateRegistry(t, name)
	cfg := config.Default()
	cfg.AMQPURL = secretAMQP
	cfg.RedisURL = "redis://:" + secrets["redis"] + "@" + redisAddr + "/0"
	cfg.MailURL = "smtp://mailer:" + secrets["smtp"] + "@" + srv.Addr() + "?starttls=none&auth=plain"
	cfg.MailFrom = "Platform <mail@platform.example>"
	cfg.RegistryFile = regFile
	cfg.QueuePrefix = name
	cfg.HTTPAddr = fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	cfg.DebugAddr = fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	cfg.LogLevel = "debug"
	cfg.ShutdownTimeout = 5 * time.Second
	cfg.HandlerTimeout, cfg.MailTimeout = 4*time.Second, 3*time.Second // within the shutdown deadline
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}

	logs := &testenv.SyncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, cfg, log, WithHandlers(func(d handlers.Deps) []handling.Handler { return withStubs(reg, handlers.All(d)) }))
	}()
	t.Cleanup(func() { deleteQueues(t, amqpURL, name, reg.Consumers(), cfg) })
	base := "http://" + cfg.HTTPAddr
	wait := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s; logs:\n%s", what, logs.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	wait("readiness", func() bool { code, _ := readyz(base + "/readyz"); return code == http.StatusOK })

	pub, err := publisher.New(context.Background(), publisher.Config{URL: secretAMQP, Registry: reg, Logger: log})
	if err != nil {
		t.Fatalf("publisher: %v", err)
	}
	defer pub.Close()
	if _, err := pub.TenantProvisioned(context.Background(), "t1", registry.TenantProvisioned{TenantID: "t1", Name: "Shop", OwnerEmail: "owner@shop.example"}); err != nil {
		t.Fatal(err)
	}
	srv.WaitMessages(t, 1, 30*time.Second) // the tenant welcome: SMTP AUTH worked

	stopRedis()
	wait("readiness to fail without Redis", func() bool { code, _ := readyz(base + "/readyz"); return code == http.StatusServiceUnavailable })
	_, readyBody := readyz(base + "/readyz")
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metricsBody, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	_, stateBody := readyz("http://" + cfg.DebugAddr + "/debug/state")
	if !strings.Contains(stateBody, user+":xxxxx@") {
		t.Errorf("/debug/state does not show the AMQP URL with its password masked:\n%s", stateBody)
	}
	// An event while Redis is down: the worker logs the failure and retries.
	if _, err := pub.UserRegistered(context.Background(), "t1", registry.UserRegistered{UserID: "u1", Email: "u1@shop.example"}); err != nil {
		t.Fatal(err)
	}
	wait("the Redis failure to be logged", func() bool { return strings.Contains(logs.String(), "idempotency store unavailable") })
	cancel()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return")
	}

	for what, body := range map[string]string{"logs": logs.String(), "/metrics": string(metricsBody), "/readyz": readyBody, "/debug/state": stateBody} {
		for kind, secret := range secrets {
			if strings.Contains(body, secret) {
				t.Errorf("the %s password appears in %s", kind, what)
			}
		}
	}
	// The URLs are logged, with the password masked: the check above had something to find.
	if !strings.Contains(logs.String(), user+":xxxxx@") {
		t.Error("no log line names the AMQP URL with its password masked")
	}
	if !strings.Contains(logs.String(), "event_id") {
		t.Error("the logs hold no event lines; the test did not exercise them")
	}
}
