package worker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus/testutil"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/eventworker/eventworker/config"
	"github.com/eventworker/eventworker/internal/broker"
	"github.com/eventworker/eventworker/internal/metrics"
	"github.com/eventworker/eventworker/internal/worker/handling"
	"github.com/eventworker/eventworker/registry"
)

func TestStartupNamesMismatchedHandlers(t *testing.T) {
	reg, err := registry.Default()
	if err != nil {
		t.Fatal(err)
	}
	hs := []handling.Handler{
		handling.Func{Name: "cache"}, handling.Func{Name: "mailer"}, handling.Func{Name: "cache"},
		handling.Func{Name: "tenants", Types: []string{"tenant.provisioned", "tenant.suspended", "tenant.reactivated", "user.updated", "unregistered.type"}},
	}
	_, err = New(Deps{Config: workerConfig(config.Default()), Registry: reg, Handlers: hs})
	if !errors.Is(err, handling.ErrMismatch) {
		t.Fatalf("want handling.ErrMismatch, got %v", err)
	}
	for _, want := range []string{`"notifications", which has no handler`, `"analytics", which has no handler`, `handler "mailer" has no consumer entry`, `two handlers for consumer "cache"`,
		"registry.yaml maps product.created to consumer cache, whose handler does not handle it",
		"the handler of consumer tenants handles user.updated, which registry.yaml does not map to it",
		"the handler of consumer tenants handles unregistered.type, which registry.yaml does not define"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %s: %v", want, err)
		}
	}
}

func TestHappyPathRoutesByRegistry(t *testing.T) {
	e := newEnv(t, nil)
	e.start()
	id := uuid.NewString()
	e.publish("order.created", e.example("order.created", id), amqp.Table{"kombu-int": int32(7), "kombu-bool": true, "kombu-null": nil})
	e.waitFor("notifications and analytics to handle the order", 15*time.Second, func() bool {
		return e.rec.count("notifications", id) == 1 && e.rec.count("analytics", id) == 1
	})
	// A handler call is recorded when it starts; its outcome once it is acknowledged.
	e.waitFor("the outcomes to be counted", 15*time.Second, func() bool {
		return testutil.ToFloat64(e.metrics.Outcomes.WithLabelValues("notifications", metrics.OutcomeOK)) == 1 &&
			testutil.ToFloat64(e.metrics.Outcomes.WithLabelValues("analytics", metrics.OutcomeOK)) == 1
	})
	for _, c := range []string{"cache", "inventory", "tenants"} {
		if n := e.rec.count(c, id); n != 0 {
			t.Errorf("%s is not mapped to order.created but handled it %d times", c, n)
		}
	}
	if got := testutil.ToFloat64(e.metrics.Outcomes.WithLabelValues("notifications", metrics.OutcomeOK)); got != 1 {
		t.Errorf("ok outcomes of notifications = %v, want 1", got)
	}
	if got := testutil.ToFloat64(e.metrics.EventsReceived.WithLabelValues("notifications", "order.created", "2")) +
		testutil.ToFloat64(e.metrics.EventsReceived.WithLabelValues("analytics", "order.created", "2")); got != 2 {
		t.Errorf("events received (one per consumer) = %v, want 2", got)
	}
	if err := e.stop(); err != nil {
		t.Errorf("Run returned %v after a clean shutdown", err)
	}
}

func TestInvalidMessagesAreDeadLetteredAtOnce(t *testing.T) {
	e := newEnv(t, nil)
	e.start()
	good := e.example("user.updated", uuid.NewString())
	tests := []struct {
		name, rk string
		body     []byte
		reason   string
	}{
		{"not json", "user.updated", []byte("{nope"), "body is not JSON"},
		{"routing key differs", "user.updated", e.example("order.created", uuid.NewString()), "differs from the routing key"},
		{"schema violation", "user.updated", []byte(strings.Replace(string(good), `"user_id":"`, `"user_id":"bad id `, 1)), "/data/user_id"},
		{"too large", "user.updated", append(good[:len(good)-1], []byte(`,"pad":"`+strings.Repeat("x", e.cfg.MaxBodyBytes)+`"}`)...), "exceeds the limit"},
	}
	for _, tt := range tests {
		e.publish(tt.rk, tt.body, nil)
	}
	dead := e.dead("cache", len(tests), 15*time.Second)
	// With two handlers per queue the dead letters may come in any order: match them by body.
	byBody := map[string]amqp.Delivery{}
	for _, d := range dead {
		byBody[string(d.Body)] = d
	}
	for _, tt := range tests {
		d, ok := byBody[string(tt.body)]
		if !ok {
			t.Errorf("%s: no dead letter carries the original body", tt.name)
			continue
		}
		reason, _ := d.Headers[broker.HeaderReason].(string)
		if !strings.Contains(reason, tt.reason) {
			t.Errorf("%s: reason %q does not contain %q", tt.name, reason, tt.reason)
		}
		if d.Headers[broker.HeaderErrorClass] != broker.ClassPermanent || d.Headers[broker.HeaderAttempts] != int64(1) ||
			d.Headers[broker.HeaderConsumer] != "cache" || d.Headers[broker.HeaderRoutingKey] != tt.rk {
			t.Errorf("%s: headers %v", tt.name, d.Headers)
		}
	}
	if n := len(e.rec.calls["cache"]); n != 0 {
		t.Errorf("the handler ran %d times for invalid messages", n)
	}
	if got := testutil.ToFloat64(e.metrics.Outcomes.WithLabelValues("cache", metrics.OutcomeInvalid)); got != float64(len(tests)) {
		t.Errorf("invalid outcomes = %v", got)
	}
}

func TestTransientFailureRetriedToSuccess(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.QuickRetries = 1 })
	// Two quick tries fail, the durable retry's first quick try fails, its second succeeds.
	e.rec.fail = func(consumer string, _ *registry.Event, call int) error {
		if consumer == "tenants" && call <= 3 {
			return fmt.Errorf("call %d: %w", call, errFlaky)
		}
		return nil
	}
	e.start()
	id := uuid.NewString()
	e.publish("tenant.reactivated", e.example("tenant.reactivated", id), nil)
	e.waitFor("the retry to succeed", 20*time.Second, func() bool {
		return testutil.ToFloat64(e.metrics.Outcomes.WithLabelValues("tenants", metrics.OutcomeOK)) == 1
	})
	if n := e.rec.count("tenants", id); n != 4 {
		t.Errorf("handler ran %d times, want 4 (2 quick tries, then 2 after the durable retry)", n)
	}
	if got := testutil.ToFloat64(e.metrics.Outcomes.WithLabelValues("tenants", metrics.OutcomeRetried)); got != 1 {
		t.Errorf("retried outcomes = %v, want 1", got)
	}
}

func TestRetriesExhaustedThenDeadLetteredWithHistory(t *testing.T) {
	e := newEnv(t, nil)
	var permanent atomic.Bool
	e.rec.fail = func(consumer string, ev *registry.Event, call int) error {
		if consumer != "tenants" {
			return nil
		}
		if permanent.Load() {
			return handling.Permanent(errors.New("tenant is unknown to billing"))
		}
		return errFlaky
	}
	e.start()
	id := uuid.NewString()
	e.publish("tenant.reactivated", e.example("tenant.reactivated", id), nil)
	dead := e.dead("tenants", 1, 20*time.Second)
	d := dead[0]
	if d.Headers[broker.HeaderErrorClass] != broker.ClassExhausted || d.Headers[broker.HeaderAttempts] != int64(workerConfig(e.cfg).MaxAttempts()) {
		t.Errorf("headers after exhaustion: %v", d.Headers)
	}
	if !strings.Contains(d.Headers[broker.HeaderReason].(string), errFlaky.Error()) {
		t.Errorf("reason %q does not carry the last error", d.Headers[broker.HeaderReason])
	}
	first, _ := time.Parse(time.RFC3339Nano, d.Headers[broker.HeaderFirstFailure].(string))
	last, _ := time.Parse(time.RFC3339Nano, d.Headers[broker.HeaderLastFailure].(string))
	if !last.After(first) {
		t.Errorf("first failure %v should precede last failure %v", first, last)
	}
	if n := e.rec.count("tenants", id); n != workerConfig(e.cfg).MaxAttempts() {
		t.Errorf("handler ran %d times, want %d", n, workerConfig(e.cfg).MaxAttempts())
	}

	// A permanent error skips the retries.
	permanent.Store(true)
	id2 := uuid.NewString()
	e.publish("tenant.reactivated", e.example("tenant.reactivated", id2), nil)
	d2 := e.dead("tenants", 1, 10*time.Second)[0]
	if d2.Headers[broker.HeaderErrorClass] != broker.ClassPermanent || e.rec.count("tenants", id2) != 1 {
		t.Errorf("permanent error: class %v after %d calls", d2.Headers[broker.HeaderErrorClass], e.rec.count("tenants", id2))
	}
}

func TestSameEventTwiceRunsHandlerOnce(t *testing.T) {
	e := newEnv(t, nil)
	e.start()
	id := uuid.NewString()
	body := e.example("user.updated", id)
	for range 3 {
		e.publish("user.updated", body, nil)
	}
	e.waitFor("duplicates to be counted", 15*time.Second, func() bool {
		return testutil.ToFloat64(e.metrics.Outcomes.WithLabelValues("cache", metrics.OutcomeDuplicate)) == 2
	})
	if n := e.rec.count("cache", id); n != 1 {
		t.Errorf("handler ran %d times for one event_id, want 1", n)
	}
}

func TestQuorumRedeliveryIsConsumedNormally(t *testing.T) {
	e := newEnv(t, nil)
	e.start()
	// Let the worker declare the queues, then take them over with a consumer that never acks.
	if err := e.stop(); err != nil {
		t.Fatal(err)
	}
	q := broker.Names{Prefix: e.cfg.QueuePrefix, Consumer: "cache"}.Work()
	id := uuid.NewString()
	e.publish("user.updated", e.example("user.updated", id), amqp.Table{"attempt": int64(1), "meta": amqp.Table{"k": "v"}})
	ch, err := e.conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	d, ok, err := ch.Get(q, false)
	if err != nil || !ok {
		t.Fatalf("get: %v %v", ok, err)
	}
	_ = d
	_ = ch.Close() // unacked: the quorum queue redelivers it with x-delivery-count 1
	e.rec = newRecorder()
	e.start()
	e.waitFor("the redelivered event", 15*time.Second, func() bool { return e.rec.count("cache", id) == 1 })
}

func TestShutdownWithMessagesInFlightLosesNone(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.Concurrency = 3; c.Prefetch = 5 })
	e.rec.started = make(chan string, 1000)
	e.rec.fail = func(string, *registry.Event, int) error { time.Sleep(200 * time.Millisecond); return nil }
	e.start()
	const n = 30
	ids := make([]string, n)
	for i := range ids {
		ids[i] = uuid.NewString()
		e.publish("user.updated", e.example("user.updated", ids[i]), nil)
	}
	<-e.rec.started
	if err := e.stop(); err != nil {
		t.Fatalf("Run after SIGTERM: %v", err)
	}
	handled := 0
	for _, id := range ids {
		handled += min(e.rec.count("cache", id), 1)
	}
	q := broker.Names{Prefix: e.cfg.QueuePrefix, Consumer: "cache"}.Work()
	// The broker's count catches up with the last acks and returns a moment later.
	left := e.queueDepth(q)
	for deadline := time.Now().Add(3 * time.Second); handled+left != n && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		left = e.queueDepth(q)
	}
	if handled+left != n {
		t.Fatalf("handled %d + left in queue %d != published %d: messages were lost or acked unhandled", handled, left, n)
	}
	if handled == n {
		t.Log("every message was handled before the shutdown finished")
	}
	// A new worker drains the rest; nothing is handled twice.
	first := e.rec
	e.rec = newRecorder()
	e.start()
	e.waitFor("the rest to be handled", 20*time.Second, func() bool { return e.queueDepth(q) == 0 })
	e.waitFor("in-flight to finish", 5*time.Second, func() bool { return testutil.ToFloat64(e.metrics.InFlight.WithLabelValues("cache")) == 0 })
	for _, id := range ids {
		if first.count("cache", id)+e.rec.count("cache", id) != 1 {
			t.Errorf("event %s handled %d+%d times", id, first.count("cache", id), e.rec.count("cache", id))
		}
	}
	_ = context.Background()
}
