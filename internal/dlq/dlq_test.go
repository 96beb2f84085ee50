package dlq

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/eventworker/eventworker/internal/broker"
	"github.com/eventworker/eventworker/internal/testenv"
)

// env is a private set of dead-letter and work queues on the real RabbitMQ.
type env struct {
	t         *testing.T
	url       string
	prefix    string
	consumers []string
	conn      *amqp.Connection
	ch        *amqp.Channel
	confirmer *broker.Confirmer
	tool      *Tool
	logs      *bytes.Buffer
	log       *slog.Logger
}

// newEnv declares, for each consumer, a classic dead-letter queue (as broker.Topology declares it) and a quorum work queue
// (dead-lettering into it, as the worker's topology does), under a prefix of its own.
func newEnv(t *testing.T, consumers ...string) *env {
	t.Helper()
	url := testenv.AMQPURL(t)
	e := &env{t: t, url: url, prefix: testenv.Name("dlqtest"), consumers: consumers, logs: &bytes.Buffer{}}
	e.log = slog.New(slog.NewJSONHandler(e.logs, nil))
	var err error
	if e.conn, err = amqp.Dial(url); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.conn.Close() })
	if e.ch, err = e.conn.Channel(); err != nil {
		t.Fatal(err)
	}
	for _, c := range consumers {
		n := broker.Names{Prefix: e.prefix, Consumer: c}
		e.declare(n.DeadLetter(), amqp.Table{"x-queue-type": "classic"})
		e.declare(n.Work(), amqp.Table{
			"x-queue-type": "quorum", "x-dead-letter-exchange": "", "x-dead-letter-routing-key": n.DeadLetter(),
			"x-delivery-limit": int64(2),
		})
	}
	e.confirmer = broker.NewConfirmer(url, "dlq-test", 10*time.Second, nil)
	t.Cleanup(func() { _ = e.confirmer.Close() })
	conn, err := e.confirmer.Connection()
	if err != nil {
		t.Fatal(err)
	}
	e.tool = New(conn, e.confirmer, e.prefix, "", consumers)
	return e
}

// declare declares a queue and deletes it when the test ends.
func (e *env) declare(name string, args amqp.Table) {
	e.t.Helper()
	if _, err := e.ch.QueueDeclare(name, true, false, false, false, args); err != nil {
		e.t.Fatalf("declare %s: %v", name, err)
	}
	e.t.Cleanup(func() { e.deleteQueue(name) })
}

func (e *env) deleteQueue(name string) {
	conn, err := amqp.Dial(e.url)
	if err != nil {
		return
	}
	defer conn.Close()
	if ch, err := conn.Channel(); err == nil {
		_, _ = ch.QueueDelete(name, false, false, false)
	}
}

func (e *env) dlq(consumer string) string {
	return broker.Names{Prefix: e.prefix, Consumer: consumer}.DeadLetter()
}

func (e *env) work(consumer string) string {
	return broker.Names{Prefix: e.prefix, Consumer: consumer}.Work()
}

// dead is a dead letter as the worker writes it.
type dead struct {
	id, eventType, tenant string
	body                  []byte // default: an envelope of id, eventType, tenant
	class, reason         string
	attempts              int64
	lastFailure           time.Time
	extra                 amqp.Table
}

func envelope(id, eventType, tenant string) []byte {
	b, _ := json.Marshal(map[string]any{
		"event_id": id, "event_type": eventType, "event_version": 1, "occurred_at": "2026-11-26T10:00:00Z",
		"tenant_id": tenant, "data": map[string]any{"order_id": "o-1"},
	})
	return b
}

// publishDead stores d in consumer's dead-letter queue the way the worker's pipeline does.
func (e *env) publishDead(consumer string, d dead) []byte {
	e.t.Helper()
	body := d.body
	if body == nil {
		body = envelope(d.id, d.eventType, d.tenant)
	}
	if d.class == "" {
		d.class = broker.ClassPermanent
	}
	if d.reason == "" {
		d.reason = "invalid event: data.amount: missing property"
	}
	if d.lastFailure.IsZero() {
		d.lastFailure = time.Now()
	}
	if d.attempts == 0 {
		d.attempts = 1
	}
	h := amqp.Table{
		"x-custom":                "kept",
		broker.HeaderRoutingKey:   d.eventType,
		broker.HeaderAttempts:     d.attempts,
		broker.HeaderFirstFailure: d.lastFailure.Add(-time.Minute).UTC().Format(time.RFC3339Nano),
		broker.HeaderLastFailure:  d.lastFailure.UTC().Format(time.RFC3339Nano),
		broker.HeaderReason:       d.reason,
		broker.HeaderErrorClass:   d.class,
		broker.HeaderConsumer:     consumer,
	}
	for k, v := range d.extra {
		h[k] = v
	}
	err := e.confirmer.Publish(e.t.Context(), "", e.dlq(consumer), amqp.Publishing{
		Headers: h, Body: body, DeliveryMode: amqp.Persistent, ContentType: "application/json",
		MessageId: d.id, CorrelationId: "corr-" + d.id, AppId: "shop", Timestamp: time.Now(),
	})
	if err != nil {
		e.t.Fatalf("publish dead letter: %v", err)
	}
	return body
}

// count waits until queue holds want ready messages, and fails the test if it never does.
func (e *env) count(queue string, want int) {
	e.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		q, err := e.confirmer.Inspect(queue)
		if err != nil {
			e.t.Fatal(err)
		}
		if q.Messages == want {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("queue %s holds %d messages, want %d", queue, q.Messages, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// exactly fails the test unless queue holds want ready messages right now.
func (e *env) exactly(queue string, want int) {
	e.t.Helper()
	q, err := e.confirmer.Inspect(queue)
	if err != nil {
		e.t.Fatal(err)
	}
	if q.Messages != want {
		e.t.Errorf("queue %s holds %d messages right after the call, want %d", queue, q.Messages, want)
	}
}

// take removes and returns the messages of a queue.
func (e *env) take(queue string) []amqp.Delivery {
	e.t.Helper()
	var out []amqp.Delivery
	for {
		d, ok, err := e.ch.Get(queue, true)
		if err != nil {
			e.t.Fatal(err)
		}
		if !ok {
			return out
		}
		out = append(out, d)
	}
}

func ids(es []Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.EventID)
	}
	return out
}

func TestListFiltersLeaveTheQueuesAlone(t *testing.T) {
	e := newEnv(t, "alpha", "beta")
	now := time.Now()
	body1 := e.publishDead("alpha", dead{id: "e1", eventType: "order.created", tenant: "t1", lastFailure: now.Add(-time.Hour), attempts: 5, class: broker.ClassExhausted, reason: "smtp: connection refused"})
	e.publishDead("alpha", dead{id: "e2", eventType: "order.created", tenant: "t2", lastFailure: now.Add(-48 * time.Hour)})
	e.publishDead("alpha", dead{id: "e3", eventType: "user.registered", tenant: "t1"})
	e.publishDead("beta", dead{id: "e4", eventType: "product.created", tenant: "t1"})
	e.publishDead("beta", dead{id: "e5", eventType: "order.cancelled", body: []byte("not json {"), lastFailure: now.Add(-72 * time.Hour)})
	e.count(e.dlq("alpha"), 3)
	e.count(e.dlq("beta"), 2)

	tests := []struct {
		name string
		f    Filter
		want []string
	}{
		{"everything", Filter{}, []string{"e1", "e2", "e3", "e4", "e5"}},
		{"consumer", Filter{Consumers: []string{"beta"}}, []string{"e4", "e5"}},
		{"type", Filter{EventType: "order.created"}, []string{"e1", "e2"}},
		{"type of an invalid body, by routing key", Filter{EventType: "order.cancelled"}, []string{"e5"}},
		{"tenant", Filter{Tenant: "t1"}, []string{"e1", "e3", "e4"}},
		{"since", Filter{Since: now.Add(-2 * time.Hour)}, []string{"e1", "e3", "e4"}},
		{"limit", Filter{Limit: 2}, []string{"e1", "e2"}},
		{"limit across queues", Filter{Tenant: "t1", Limit: 3, Consumers: []string{"beta", "alpha"}}, []string{"e4", "e1", "e3"}},
		{"combined", Filter{Consumers: []string{"alpha"}, EventType: "order.created", Tenant: "t1", Since: now.Add(-2 * time.Hour)}, []string{"e1"}},
		{"nothing", Filter{Tenant: "nobody"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.tool.List(t.Context(), tt.f)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ids(got), tt.want) {
				t.Errorf("List = %v, want %v", ids(got), tt.want)
			}
			e.exactly(e.dlq("alpha"), 3)
			e.exactly(e.dlq("beta"), 2)
		})
	}

	// Listing twice shows the same messages in the same order: nothing was lost or reordered.
	all, err := e.tool.List(t.Context(), Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids(all), []string{"e1", "e2", "e3", "e4", "e5"}) {
		t.Fatalf("second full list: %v", ids(all))
	}
	e1 := all[0]
	if e1.Consumer != "alpha" || e1.Queue != e.dlq("alpha") || e1.EventType != "order.created" || e1.TenantID != "t1" ||
		e1.Class != broker.ClassExhausted || e1.Reason != "smtp: connection refused" || e1.RoutingKey != "order.created" ||
		e1.Attempts != 5 || !bytes.Equal(e1.Body, body1) || e1.Properties.CorrelationID != "corr-e1" ||
		e1.Properties.AppID != "shop" || e1.Properties.ContentType != "application/json" {
		t.Errorf("entry e1: %+v", e1)
	}
	if d := e1.LastFailure.Sub(now.Add(-time.Hour)); d < -time.Millisecond || d > time.Millisecond {
		t.Errorf("last failure %v, want %v", e1.LastFailure, now.Add(-time.Hour))
	}
	if e1.FirstFailure.IsZero() || !e1.FirstFailure.Before(e1.LastFailure) {
		t.Errorf("first failure %v", e1.FirstFailure)
	}
	e5 := all[4]
	if e5.EventID != "e5" || e5.TenantID != "" || e5.EventType != "order.cancelled" || string(e5.Body) != "not json {" {
		t.Errorf("invalid body entry: %+v", e5)
	}
}

func TestShowByEventID(t *testing.T) {
	e := newEnv(t, "alpha", "beta")
	e.publishDead("alpha", dead{id: "e1", eventType: "order.created", tenant: "t1"})
	e.publishDead("alpha", dead{id: "e2", eventType: "order.created", tenant: "t1"})
	e.publishDead("beta", dead{id: "e2", eventType: "order.created", tenant: "t1"})

	got, err := e.tool.Show(t.Context(), "e2", Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Consumer != "alpha" || got[1].Consumer != "beta" || got[0].EventID != "e2" {
		t.Errorf("Show e2 = %+v", got)
	}
	got, err = e.tool.Show(t.Context(), "e2", Filter{Consumers: []string{"beta"}})
	if err != nil || len(got) != 1 || got[0].Consumer != "beta" {
		t.Errorf("Show e2 in beta = %+v, %v", got, err)
	}
	if _, err := e.tool.Show(t.Context(), "nope", Filter{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("Show of a missing id: %v", err)
	}
	e.count(e.dlq("alpha"), 2)
	e.count(e.dlq("beta"), 1)
}

func TestReplayMovesOnlyMatches(t *testing.T) {
	e := newEnv(t, "alpha")
	body1 := e.publishDead("alpha", dead{id: "e1", eventType: "order.created", tenant: "t1", attempts: 5, class: broker.ClassExhausted})
	e.publishDead("alpha", dead{id: "e2", eventType: "order.created", tenant: "t2"})
	body3 := e.publishDead("alpha", dead{id: "e3", eventType: "order.created", tenant: "t1", extra: amqp.Table{broker.HeaderReplayed: int64(1)}})
	e.publishDead("alpha", dead{id: "e4", eventType: "user.registered", tenant: "t1"})

	moved, err := e.tool.Replay(t.Context(), Filter{EventType: "order.created", Tenant: "t1"}, false, e.log)
	if err != nil {
		t.Fatal(err)
	}
	if moved != 2 {
		t.Fatalf("moved %d, want 2", moved)
	}
	e.count(e.dlq("alpha"), 2)
	e.count(e.work("alpha"), 2)
	got := e.take(e.work("alpha"))
	if len(got) != 2 {
		t.Fatalf("work queue holds %d", len(got))
	}
	for i, want := range []struct {
		id       string
		body     []byte
		replayed int64
	}{{"e1", body1, 1}, {"e3", body3, 2}} {
		d := got[i]
		if d.MessageId != want.id || !bytes.Equal(d.Body, want.body) {
			t.Errorf("replayed message %d: id %q, body %q", i, d.MessageId, d.Body)
		}
		if d.DeliveryMode != amqp.Persistent || d.ContentType != "application/json" || d.CorrelationId != "corr-"+want.id || d.AppId != "shop" {
			t.Errorf("properties of %s: %+v", want.id, d)
		}
		if d.Headers[broker.HeaderRoutingKey] != "order.created" || d.Headers["x-custom"] != "kept" {
			t.Errorf("headers of %s: %v", want.id, d.Headers)
		}
		if n, _ := broker.HeaderInt(d.Headers[broker.HeaderReplayed]); n != want.replayed {
			t.Errorf("replayed of %s = %v, want %d", want.id, d.Headers[broker.HeaderReplayed], want.replayed)
		}
		for _, gone := range []string{broker.HeaderAttempts, broker.HeaderFirstFailure, broker.HeaderLastFailure, broker.HeaderReason, broker.HeaderErrorClass, broker.HeaderConsumer} {
			if _, ok := d.Headers[gone]; ok {
				t.Errorf("replay of %s kept %s", want.id, gone)
			}
		}
	}
	left, err := e.tool.List(t.Context(), Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids(left), []string{"e2", "e4"}) {
		t.Errorf("left in the dlq: %v", ids(left))
	}
	logs := e.logs.String()
	for _, want := range []string{`"msg":"dead letter replayed"`, `"event_id":"e1"`, `"event_id":"e3"`, `"tenant_id":"t1"`,
		`"event_type":"order.created"`, `"consumer":"alpha"`, `"from_queue":"` + e.dlq("alpha") + `"`, `"to_queue":"` + e.work("alpha") + `"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s:\n%s", want, logs)
		}
	}
}

func TestDryRunMovesNothing(t *testing.T) {
	e := newEnv(t, "alpha")
	e.publishDead("alpha", dead{id: "e1", eventType: "order.created", tenant: "t1"})
	e.publishDead("alpha", dead{id: "e2", eventType: "order.created", tenant: "t2"})

	moved, err := e.tool.Replay(t.Context(), Filter{Tenant: "t1"}, true, e.log)
	if err != nil || moved != 1 {
		t.Fatalf("dry-run replay: %d, %v", moved, err)
	}
	purged, err := e.tool.Purge(t.Context(), Filter{}, true, e.log)
	if err != nil || purged != 2 {
		t.Fatalf("dry-run purge: %d, %v", purged, err)
	}
	e.count(e.dlq("alpha"), 2)
	e.count(e.work("alpha"), 0)
	if !strings.Contains(e.logs.String(), "dry run") {
		t.Errorf("dry run not logged:\n%s", e.logs)
	}
}

func TestPurgeRemovesOnlyMatches(t *testing.T) {
	e := newEnv(t, "alpha")
	e.publishDead("alpha", dead{id: "e1", eventType: "order.created", tenant: "t1"})
	e.publishDead("alpha", dead{id: "e2", eventType: "order.created", tenant: "t2"})
	e.publishDead("alpha", dead{id: "e3", eventType: "user.registered", tenant: "t1"})

	purged, err := e.tool.Purge(t.Context(), Filter{Tenant: "t1"}, false, e.log)
	if err != nil || purged != 2 {
		t.Fatalf("purge: %d, %v", purged, err)
	}
	e.count(e.dlq("alpha"), 1)
	e.count(e.work("alpha"), 0)
	left, err := e.tool.List(t.Context(), Filter{})
	if err != nil || !slices.Equal(ids(left), []string{"e2"}) {
		t.Errorf("left: %v, %v", ids(left), err)
	}
	if !strings.Contains(e.logs.String(), `"msg":"dead letter purged"`) {
		t.Errorf("purge not logged:\n%s", e.logs)
	}
}

// TestBrokerDeadLetter makes RabbitMQ itself dead-letter a message (a quorum queue's delivery
// limit), so that it carries only x-death.
func TestBrokerDeadLetter(t *testing.T) {
	e := newEnv(t, "alpha")
	exchange := testenv.Name("dlqtest-events")
	if err := e.ch.ExchangeDeclare(exchange, "topic", false, true, false, false, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if conn, err := amqp.Dial(e.url); err == nil {
			if ch, err := conn.Channel(); err == nil {
				_ = ch.ExchangeDelete(exchange, false, false)
			}
			_ = conn.Close()
		}
	})
	if err := e.ch.QueueBind(e.work("alpha"), "order.created", exchange, false, nil); err != nil {
		t.Fatal(err)
	}
	body := envelope("crash-1", "order.created", "t9")
	if err := e.confirmer.Publish(t.Context(), exchange, "order.created", amqp.Publishing{
		Body: body, DeliveryMode: amqp.Persistent, ContentType: "application/json", MessageId: "crash-1",
		Headers: amqp.Table{"x-custom": "kept"},
	}); err != nil {
		t.Fatal(err)
	}
	// A worker that crashes on the message again and again: get it, return it, until the
	// broker gives up and dead-letters it.
	for i := 0; ; i++ {
		if i > 20 {
			t.Fatal("the broker never dead-lettered the message")
		}
		d, ok, err := e.ch.Get(e.work("alpha"), false)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			q, _ := e.confirmer.Inspect(e.dlq("alpha"))
			if q.Messages == 1 {
				break
			}
			time.Sleep(50 * time.Millisecond)
			continue
		}
		if err := d.Nack(false, true); err != nil {
			t.Fatal(err)
		}
	}

	got, err := e.tool.List(t.Context(), Filter{EventType: "order.created", Tenant: "t9"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("listed %d", len(got))
	}
	en := got[0]
	if !strings.Contains(en.Reason, "more often than its x-delivery-limit allows") || en.Class != broker.ClassDeliveryLimit || en.RoutingKey != "order.created" ||
		en.EventID != "crash-1" || en.LastFailure.IsZero() || !bytes.Equal(en.Body, body) {
		t.Errorf("broker dead letter: %+v", en)
	}
	if _, ok := en.Headers["x-death"]; !ok {
		t.Errorf("x-death missing from the entry's headers: %v", en.Headers)
	}
	recent, err := e.tool.List(t.Context(), Filter{Since: time.Now().Add(-time.Minute)})
	if err != nil || len(recent) != 1 {
		t.Errorf("since should use the x-death time: %d, %v (entry %+v)", len(recent), err, en)
	}

	moved, err := e.tool.Replay(t.Context(), Filter{}, false, e.log)
	if err != nil || moved != 1 {
		t.Fatalf("replay: %d, %v", moved, err)
	}
	e.count(e.dlq("alpha"), 0)
	e.count(e.work("alpha"), 1)
	d := e.take(e.work("alpha"))[0]
	if !bytes.Equal(d.Body, body) || d.Headers[broker.HeaderRoutingKey] != "order.created" || d.Headers["x-custom"] != "kept" {
		t.Errorf("replayed broker dead letter: %q %v", d.Body, d.Headers)
	}
	if _, ok := d.Headers["x-death"]; ok {
		t.Errorf("a replay must not carry x-death: %v", d.Headers)
	}
}

func TestInvalidBodyIsListedAndReplayed(t *testing.T) {
	e := newEnv(t, "alpha")
	bad := []byte("\xff\x00{\"event_id\": \"half")
	e.publishDead("alpha", dead{id: "bad-1", eventType: "order.created", body: bad, reason: "body is not JSON"})
	trunc := []byte(`{"event_id":"trunc-1","event_type":"order.confirmed","tenant_id":"t3","data":{"order_id":`)
	e.publishDead("alpha", dead{id: "", eventType: "order.confirmed", body: trunc})

	got, err := e.tool.List(t.Context(), Filter{})
	if err != nil || len(got) != 2 {
		t.Fatalf("list: %+v, %v", got, err)
	}
	if got[0].EventID != "bad-1" || got[0].TenantID != "" || got[0].EventType != "order.created" || !bytes.Equal(got[0].Body, bad) {
		t.Errorf("invalid body entry: %+v", got[0])
	}
	if got[1].EventID != "trunc-1" || got[1].TenantID != "t3" || got[1].EventType != "order.confirmed" {
		t.Errorf("a truncated body's leading fields should be read: %+v", got[1])
	}
	if _, err := json.Marshal(got); err != nil {
		t.Errorf("entries must marshal to JSON: %v", err)
	}

	moved, err := e.tool.Replay(t.Context(), Filter{}, false, e.log)
	if err != nil || moved != 2 {
		t.Fatalf("replay: %d, %v", moved, err)
	}
	out := e.take(e.work("alpha"))
	if len(out) != 2 || !bytes.Equal(out[0].Body, bad) || !bytes.Equal(out[1].Body, trunc) {
		t.Errorf("replayed bodies differ: %d messages", len(out))
	}
	e.count(e.dlq("alpha"), 0)
}

type failingPublisher struct{ err error }

func (f failingPublisher) Publish(context.Context, string, string, amqp.Publishing) error {
	return f.err
}

func TestFailedReplayKeepsTheDeadLetter(t *testing.T) {
	e := newEnv(t, "alpha")
	e.publishDead("alpha", dead{id: "e1", eventType: "order.created", tenant: "t1"})
	e.publishDead("alpha", dead{id: "e2", eventType: "order.created", tenant: "t1"})

	conn, err := e.confirmer.Connection()
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	moved, err := New(conn, failingPublisher{boom}, e.prefix, "", e.consumers).Replay(t.Context(), Filter{}, false, e.log)
	if !errors.Is(err, boom) || moved != 0 {
		t.Fatalf("replay with a failing publisher: %d, %v", moved, err)
	}
	e.count(e.dlq("alpha"), 2)

	// The work queue gone: the confirmer reports the message unroutable, and it stays.
	e.deleteQueue(e.work("alpha"))
	moved, err = e.tool.Replay(t.Context(), Filter{}, false, e.log)
	if !errors.Is(err, broker.ErrUnroutable) || moved != 0 {
		t.Fatalf("replay to a missing work queue: %d, %v", moved, err)
	}
	e.count(e.dlq("alpha"), 2)
	left, err := e.tool.List(t.Context(), Filter{})
	if err != nil || !slices.Equal(ids(left), []string{"e1", "e2"}) {
		t.Errorf("left: %v, %v", ids(left), err)
	}
}

func TestUnknownConsumerAndMissingQueue(t *testing.T) {
	e := newEnv(t, "alpha")
	if _, err := e.tool.List(t.Context(), Filter{Consumers: []string{"nobody"}}); !errors.Is(err, ErrUnknownConsumer) {
		t.Errorf("unknown consumer: %v", err)
	}
	conn, err := e.confirmer.Connection()
	if err != nil {
		t.Fatal(err)
	}
	other := New(conn, e.confirmer, e.prefix+"-missing", "", []string{"alpha"})
	if _, err := other.List(t.Context(), Filter{}); !errors.Is(err, ErrQueueMissing) {
		t.Errorf("missing queue: %v", err)
	}
	// The failed passive declare closed only the tool's own channel.
	if _, err := e.tool.List(t.Context(), Filter{}); err != nil {
		t.Errorf("list after a missing queue: %v", err)
	}
}

// TestReplayDoesNotLoop replays into a work queue that dead-letters everything straight back:
// each dead letter is moved once, and the returning copies wait for the next run.
func TestReplayDoesNotLoop(t *testing.T) {
	e := newEnv(t, "alpha")
	e.deleteQueue(e.work("alpha"))
	e.declare(e.work("alpha"), amqp.Table{
		"x-queue-type": "classic", "x-message-ttl": int64(0),
		"x-dead-letter-exchange": "", "x-dead-letter-routing-key": e.dlq("alpha"),
	})
	for _, id := range []string{"e1", "e2", "e3"} {
		e.publishDead("alpha", dead{id: id, eventType: "order.created", tenant: "t1"})
	}
	moved, err := e.tool.Replay(t.Context(), Filter{}, false, e.log)
	if err != nil || moved != 3 {
		t.Fatalf("replay: %d, %v", moved, err)
	}
	e.count(e.dlq("alpha"), 3)
	got, err := e.tool.List(t.Context(), Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids(got), []string{"e1", "e2", "e3"}) {
		t.Errorf("after the round trip: %v", ids(got))
	}
	for _, en := range got {
		if en.Reason != "broker: expired" || en.Replayed != 1 {
			t.Errorf("%s: reason %q, replayed %d", en.EventID, en.Reason, en.Replayed)
		}
	}
}

func TestCancelledContextReturnsEverything(t *testing.T) {
	e := newEnv(t, "alpha")
	e.publishDead("alpha", dead{id: "e1", eventType: "order.created", tenant: "t1"})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := e.tool.Replay(ctx, Filter{}, false, e.log); !errors.Is(err, context.Canceled) {
		t.Errorf("replay with a cancelled context: %v", err)
	}
	e.exactly(e.dlq("alpha"), 1)
	e.exactly(e.work("alpha"), 0)
}

// TestListWithALimitReadsNoFurther: a list with --limit 1 takes one message from the queue and
// puts it back; the others are never delivered, so they are not redelivered ones afterwards.
func TestListWithALimitReadsNoFurther(t *testing.T) {
	e := newEnv(t, "alpha")
	for _, id := range []string{"e1", "e2", "e3"} {
		e.publishDead("alpha", dead{id: id, eventType: "order.created", tenant: "t1"})
	}
	e.count(e.dlq("alpha"), 3)
	got, err := e.tool.List(t.Context(), Filter{Limit: 1})
	if err != nil || !slices.Equal(ids(got), []string{"e1"}) {
		t.Fatalf("List(limit 1) = %v, %v", ids(got), err)
	}
	e.count(e.dlq("alpha"), 3)
	for i, want := range []string{"e1", "e2", "e3"} {
		d, ok, err := e.ch.Get(e.dlq("alpha"), false)
		if err != nil || !ok {
			t.Fatalf("get %d: %v, %v", i, ok, err)
		}
		if d.MessageId != want || d.Redelivered != (i == 0) {
			t.Errorf("message %d: %s, redelivered %v; want %s, redelivered only for the one listed", i, d.MessageId, d.Redelivered, want)
		}
	}
}
