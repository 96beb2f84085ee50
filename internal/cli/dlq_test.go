package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/eventworker/eventworker/internal/broker"
	"github.com/eventworker/eventworker/internal/testenv"
)

// dlqRun runs `eventworker dlq args...` with the environment vars.
func dlqRun(t *testing.T, vars map[string]string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = runDLQ(t.Context(), args, &out, &errOut, &env{getenv: func(k string) string { return vars[k] }})
	return out.String(), errOut.String(), err
}

func TestDLQHelp(t *testing.T) {
	for _, sub := range []string{"list", "show", "replay", "purge"} {
		out, _, err := dlqRun(t, nil, sub, "--help")
		if err != nil {
			t.Errorf("dlq %s --help: %v", sub, err)
		}
		for _, want := range []string{"usage: eventworker dlq " + sub, "--consumer", "--since", "--amqp-url", "--queue-prefix"} {
			if !strings.Contains(out, want) {
				t.Errorf("dlq %s --help lacks %q:\n%s", sub, want, out)
			}
		}
	}
	out, _, err := dlqRun(t, nil, "--help")
	if err != nil || !strings.Contains(out, "replay") {
		t.Errorf("dlq --help: %v\n%s", err, out)
	}
	if _, _, err := dlqRun(t, nil, "frobnicate"); err == nil {
		t.Error("an unknown subcommand must fail")
	}
	if _, _, err := dlqRun(t, nil, "list", "--nonsense"); err == nil {
		t.Error("an unknown flag must fail")
	}
}

func TestDLQArgumentErrors(t *testing.T) {
	// These fail before any connection: the URL points nowhere.
	env := map[string]string{"EVENTWORKER_AMQP_URL": "amqp://u:pw@127.0.0.1:1/"}
	_, _, err := dlqRun(t, env, "purge")
	if err == nil || !strings.Contains(err.Error(), "--all") {
		t.Errorf("purge without a filter: %v", err)
	}
	if _, _, err := dlqRun(t, env, "show"); err == nil || !strings.Contains(err.Error(), "EVENT_ID") {
		t.Errorf("show without an id: %v", err)
	}
	if _, _, err := dlqRun(t, env, "list", "--since", "yesterday"); err == nil || !strings.Contains(err.Error(), "--since") {
		t.Errorf("bad --since: %v", err)
	}
	if _, _, err := dlqRun(t, env, "list", "--limit", "-1"); err == nil {
		t.Error("negative --limit accepted")
	}
	// A connection failure never shows the password.
	_, stderr, err := dlqRun(t, env, "list")
	if err == nil || strings.Contains(err.Error(), "pw") || strings.Contains(stderr, "pw") {
		t.Errorf("connection error: %v\n%s", err, stderr)
	}
}

func TestDLQParseSince(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"24h":                       now.Add(-24 * time.Hour),
		"90m":                       now.Add(-90 * time.Minute),
		"7d":                        now.Add(-7 * 24 * time.Hour),
		"2026-11-26T10:00:00Z":      time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC),
		"2026-11-26T11:00:00+01:00": time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC),
	} {
		got, err := dlqParseSince(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("dlqParseSince(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "yesterday", "-5h", "2026-11-26"} {
		if _, err := dlqParseSince(bad, now); err == nil {
			t.Errorf("dlqParseSince(%q) accepted", bad)
		}
	}
}

func TestDLQTruncate(t *testing.T) {
	long := strings.Repeat("é", 100)
	if got := dlqTruncate(long, 80); len([]rune(got)) != 80 || !strings.HasSuffix(got, "…") {
		t.Errorf("truncate: %q", got)
	}
	if got := dlqTruncate("a\nb  c", 80); got != "a b c" {
		t.Errorf("truncate keeps it on one line: %q", got)
	}
}

// TestDLQListAndReplay runs list and replay against the real RabbitMQ.
func TestDLQListAndReplay(t *testing.T) {
	url := testenv.AMQPURL(t)
	prefix := testenv.Name("clidlq")
	names := broker.Names{Prefix: prefix, Consumer: "cache"}
	conn, err := amqp.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	for q, args := range map[string]amqp.Table{
		names.DeadLetter(): {"x-queue-type": "quorum"},
		names.Work():       {"x-queue-type": "quorum", "x-dead-letter-exchange": "", "x-dead-letter-routing-key": names.DeadLetter()},
	} {
		if _, err := ch.QueueDeclare(q, true, false, false, false, args); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if c, err := amqp.Dial(url); err == nil {
				if ch, err := c.Channel(); err == nil {
					_, _ = ch.QueueDelete(q, false, false, false)
				}
				_ = c.Close()
			}
		})
	}
	body := []byte(`{"event_id":"ev-cli-1","event_type":"product.created","event_version":1,"tenant_id":"shop-1","occurred_at":"2026-11-26T10:00:00Z","data":{}}`)
	reason := "invalid event: " + strings.Repeat("data.price must be a number; ", 10)
	dc, err := ch.PublishWithDeferredConfirmWithContext(t.Context(), "", names.DeadLetter(), false, false, amqp.Publishing{
		Body: body, DeliveryMode: amqp.Persistent, ContentType: "application/json", MessageId: "ev-cli-1",
		Headers: amqp.Table{
			broker.HeaderRoutingKey: "product.created", broker.HeaderAttempts: int64(1), broker.HeaderReason: reason,
			broker.HeaderErrorClass: broker.ClassPermanent, broker.HeaderConsumer: "cache",
			broker.HeaderFirstFailure: time.Now().UTC().Format(time.RFC3339), broker.HeaderLastFailure: time.Now().UTC().Format(time.RFC3339),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := dc.WaitContext(t.Context()); !ok || err != nil {
		t.Fatalf("confirm: %v %v", ok, err)
	}

	env := map[string]string{"EVENTWORKER_QUEUE_PREFIX": prefix}
	out, stderr, err := dlqRun(t, env, "list", "--amqp-url", url, "--consumer", "cache", "--json")
	if err != nil {
		t.Fatalf("list --json: %v\n%s", err, stderr)
	}
	var listed []map[string]any
	if err := json.Unmarshal([]byte(out), &listed); err != nil {
		t.Fatalf("list --json output: %v\n%s", err, out)
	}
	if len(listed) != 1 || listed[0]["event_id"] != "ev-cli-1" || listed[0]["tenant_id"] != "shop-1" || listed[0]["class"] != "permanent" {
		t.Errorf("list --json: %s", out)
	}

	out, _, err = dlqRun(t, env, "list", "--amqp-url", url, "--consumer", "cache", "--since", "1h")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("dlq list:\n%s", out)
	for _, want := range []string{"CONSUMER", "ev-cli-1", "product.created", "shop-1", "permanent", "1 dead letter(s)"} {
		if !strings.Contains(out, want) {
			t.Errorf("list table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, reason) || !strings.Contains(out, "…") {
		t.Errorf("the table should truncate the reason:\n%s", out)
	}

	out, _, err = dlqRun(t, env, "show", "ev-cli-1", "--amqp-url", url, "--consumer", "cache")
	t.Logf("dlq show:\n%s", out)
	if err != nil || !strings.Contains(out, `"event_id": "ev-cli-1"`) || !strings.Contains(out, broker.HeaderReason+": "+strings.TrimSpace(reason)) {
		t.Errorf("show: %v\n%s", err, out)
	}

	out, stderr, err = dlqRun(t, env, "replay", "--amqp-url", url, "--consumer", "cache", "--type", "product.created", "--tenant", "shop-1")
	if err != nil {
		t.Fatalf("replay: %v\n%s", err, stderr)
	}
	t.Logf("dlq replay:\n%s%s", out, stderr)
	if !strings.Contains(out, "replayed 1 dead letter(s)") {
		t.Errorf("replay output: %s", out)
	}
	if !strings.Contains(stderr, `"event_id":"ev-cli-1"`) || !strings.Contains(stderr, `"to_queue":"`+names.Work()+`"`) {
		t.Errorf("replay logs:\n%s", stderr)
	}
	if strings.Contains(stderr, "guest") || strings.Contains(stderr, "amqp://") {
		t.Errorf("logs mention the AMQP URL or its credentials:\n%s", stderr)
	}
	d, ok, err := ch.Get(names.Work(), true)
	if err != nil || !ok || !bytes.Equal(d.Body, body) || d.Headers[broker.HeaderRoutingKey] != "product.created" {
		t.Fatalf("work queue: ok=%v err=%v body=%q headers=%v", ok, err, d.Body, d.Headers)
	}
	if _, has := d.Headers[broker.HeaderAttempts]; has {
		t.Errorf("the replay kept the attempt count: %v", d.Headers)
	}
	out, _, err = dlqRun(t, env, "list", "--amqp-url", url, "--consumer", "cache")
	if err != nil || !strings.Contains(out, "0 dead letter(s)") {
		t.Errorf("list after replay: %v\n%s", err, out)
	}
}
