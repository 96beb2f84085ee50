package worker

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/eventworker/eventworker/config"
	"github.com/eventworker/eventworker/internal/broker"
	"github.com/eventworker/eventworker/internal/dlq"
	"github.com/eventworker/eventworker/registry"
)

// kombuLikeHeaders are application headers of the AMQP types py-amqp writes (signed integers of
// every width, floats, booleans, null, nested tables and arrays, bytes, a timestamp, a decimal).
func kombuLikeHeaders() amqp.Table {
	return amqp.Table{
		"neg": int32(-5), "small": int8(-3), "short": int16(300), "big": int64(1) << 40, "float": float64(2.0),
		"single": float32(1.5), "yes": true, "none": nil, "text": "é", "raw": []byte{0, 255},
		"when": time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC), "dec": amqp.Decimal{Scale: 2, Value: 1999},
		"nested": amqp.Table{"n": int32(-1), "list": []any{int32(1), "two", false}},
	}
}

// TestDeadLetterIsTheOriginalMessage: a dead letter carries the message as it was published, its
// headers with their AMQP types (a JSON round trip turned -5 into 18446744073709551611 for
// py-amqp and 2.0 into 2) and every property (the expiration and user-id kept in headers, since
// the copy may not carry them), plus why; a replay sends the original back, and the replay count
// survives a second dead-lettering.
func TestDeadLetterIsTheOriginalMessage(t *testing.T) {
	e := newEnv(t, nil)
	e.start()
	body := []byte(`{"not": "an event"}`)
	stamp := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	pub := amqp.Publishing{
		Headers: kombuLikeHeaders(), Body: body, DeliveryMode: amqp.Persistent, ContentType: "application/json",
		ContentEncoding: "utf-8", Type: "order.created", Priority: 3, ReplyTo: "replies", Expiration: "600000",
		MessageId: "m-1", CorrelationId: "c-1", AppId: "checkout", Timestamp: stamp,
	}
	if err := e.ch.PublishWithContext(context.Background(), e.reg.Exchange(), "user.updated", false, false, pub); err != nil {
		t.Fatal(err)
	}
	d := e.dead("cache", 1, 15*time.Second)[0]
	check := func(what string, d amqp.Delivery) {
		t.Helper()
		if string(d.Body) != string(body) || d.ContentType != pub.ContentType || d.ContentEncoding != pub.ContentEncoding ||
			d.Type != pub.Type || d.Priority != pub.Priority || d.ReplyTo != pub.ReplyTo || d.MessageId != pub.MessageId ||
			d.CorrelationId != pub.CorrelationId || d.AppId != pub.AppId || !d.Timestamp.Equal(stamp) {
			t.Errorf("%s: properties differ from the original: %+v", what, d)
		}
		for k, want := range kombuLikeHeaders() {
			got := d.Headers[k]
			if w, ok := want.(time.Time); ok {
				if g, ok := got.(time.Time); ok && g.Equal(w) {
					continue // amqp091 reads timestamps in the local zone
				}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: header %s = %#v (%T), want %#v (%T)", what, k, got, got, want, want)
			}
		}
	}
	check("dead letter", d)
	if d.Expiration != "" || d.Headers[broker.HeaderExpiration] != "600000" {
		t.Errorf("dead letter: expiration %q, header %v; want it kept in the header, not expiring the dead letter", d.Expiration, d.Headers[broker.HeaderExpiration])
	}
	if d.Headers[broker.HeaderHost] != hostname || d.Headers[broker.HeaderLastFailure] == nil {
		t.Errorf("dead letter: host %v, time %v", d.Headers[broker.HeaderHost], d.Headers[broker.HeaderLastFailure])
	}

	// Replayed to a queue of the test's own, the message is the original again.
	q, err := e.ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	replay := dlq.ReplayPublishing("user.updated", d)
	if err := e.ch.PublishWithContext(context.Background(), "", q.Name, false, false, replay); err != nil {
		t.Fatal(err)
	}
	got := e.getOne(q.Name)
	check("replayed", got)
	if got.Expiration != pub.Expiration || got.Headers[broker.HeaderReplayed] != int64(1) {
		t.Errorf("replayed: expiration %q, replayed %v", got.Expiration, got.Headers[broker.HeaderReplayed])
	}

	// The replay goes wrong again: the second dead letter still knows it was replayed once.
	replay.Expiration = ""
	if err := e.ch.PublishWithContext(context.Background(), "", broker.Names{Prefix: e.cfg.QueuePrefix, Consumer: "cache"}.Work(), false, false, replay); err != nil {
		t.Fatal(err)
	}
	again := e.dead("cache", 1, 15*time.Second)[0]
	check("dead again", again)
	if again.Headers[broker.HeaderReplayed] != int64(1) {
		t.Errorf("dead again: replayed %#v, want 1", again.Headers[broker.HeaderReplayed])
	}
}

// queueExists reports whether queue q exists, on a channel of its own (a passive declare of a
// missing queue closes its channel).
func (e *env) queueExists(q string) bool {
	e.t.Helper()
	ch, err := e.conn.Channel()
	if err != nil {
		e.t.Fatal(err)
	}
	defer ch.Close()
	_, err = ch.QueueDeclarePassive(q, true, false, false, false, nil)
	return err == nil
}

// getOne waits for one message in queue q and takes it.
func (e *env) getOne(q string) amqp.Delivery {
	e.t.Helper()
	var got amqp.Delivery
	e.waitFor("a message in "+q, 10*time.Second, func() bool {
		d, ok, err := e.ch.Get(q, true)
		if err != nil {
			e.t.Fatal(err)
		}
		got = d
		return ok
	})
	return got
}

// TestDeletedQueuesAreDeclaredAgain: an operator deleted a consumer's dead-letter queue and a
// retry queue; the next dead letter and the next retry find them missing (the publish is
// unroutable), declare the consumer's queues again and are stored there, not lost.
func TestDeletedQueuesAreDeclaredAgain(t *testing.T) {
	e := newEnv(t, nil)
	failOnce := map[string]bool{}
	e.rec.fail = func(consumer string, ev *registry.Event, call int) error {
		if consumer == "tenants" && call == 1 && !failOnce[ev.ID] {
			failOnce[ev.ID] = true
			return errors.New("transient")
		}
		return nil
	}
	e.start()
	names := broker.Names{Prefix: e.cfg.QueuePrefix, Consumer: "tenants"}
	for _, q := range []string{names.DeadLetter(), names.Retry(e.cfg.RetryDelays[0])} {
		if _, err := e.ch.QueueDelete(q, false, false, false); err != nil {
			t.Fatal(err)
		}
	}
	// An invalid event goes to the dead-letter queue, a valid one that fails once to the retry
	// queue and then back to its handler.
	e.publish("tenant.reactivated", []byte(`{"event_type":"tenant.reactivated"}`), nil)
	id := uuid.NewString()
	e.publish("tenant.reactivated", e.example("tenant.reactivated", id), nil)
	e.waitFor("the dead-letter queue declared again", 15*time.Second, func() bool { return e.queueExists(names.DeadLetter()) })
	if dead := e.dead("tenants", 1, 15*time.Second); !strings.Contains(dead[0].Headers[broker.HeaderReason].(string), "invalid event") {
		t.Errorf("dead letter reason %v", dead[0].Headers[broker.HeaderReason])
	}
	e.waitFor("the retried event handled", 15*time.Second, func() bool { return e.rec.count("tenants", id) == 2 })
}

// TestPanicDeadLetterCarriesItsStack: a handler that panics every time is dead-lettered with
// the panic in its errors and the stack trace where it happened.
func TestPanicDeadLetterCarriesItsStack(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.RetryDelays = []time.Duration{time.Second} })
	e.rec.fail = func(consumer string, _ *registry.Event, _ int) error {
		if consumer == "cache" {
			panic("the cache handler cannot cope")
		}
		return nil
	}
	e.start()
	e.publish("user.updated", e.example("user.updated", uuid.NewString()), nil)
	d := e.dead("cache", 1, 20*time.Second)[0]
	stack, _ := d.Headers[broker.HeaderStack].(string)
	errs, _ := d.Headers[broker.HeaderErrors].([]any)
	if !strings.Contains(stack, "panic") || !strings.Contains(stack, "harness_test.go") {
		t.Errorf("stack header %q lacks the panic and the test's frame", stack)
	}
	if len(errs) == 0 || !strings.Contains(errs[0].(string), "the cache handler cannot cope") || d.Headers[broker.HeaderErrorClass] != broker.ClassExhausted {
		t.Errorf("errors %v, class %v", errs, d.Headers[broker.HeaderErrorClass])
	}
}
