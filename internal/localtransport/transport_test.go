package localtransport

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/eventworker/eventworker/internal/broker"
)

func testTopology(limit int) *broker.Topology {
	return &broker.Topology{
		Exchange: "events", Prefix: "p", QueueType: "quorum", DeliveryLimit: limit,
		RetryDelays: []time.Duration{20 * time.Millisecond},
		Bindings:    map[string][]string{"cache": {"user.updated"}, "tenants": {"tenant.suspended"}},
	}
}

// TestRedeliversNackedMessages drives a work queue as the worker's router does: a nacked message
// comes back marked redelivered, and past the delivery limit it is dead-lettered, as a quorum
// queue's x-delivery-limit does.
func TestRedeliversNackedMessages(t *testing.T) {
	const limit = 2
	tr := New(nil)
	defer tr.Close()
	sub, err := tr.Subscriber(testTopology(limit), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	id := uuid.NewString()
	if err := tr.Publisher().Publish("user.updated", message.NewMessage(id, []byte(`{"x":1}`))); err != nil {
		t.Fatal(err)
	}
	ch, err := sub.Subscribe(context.Background(), "cache")
	if err != nil {
		t.Fatal(err)
	}
	for i := range limit + 1 {
		select {
		case msg := <-ch:
			if msg.UUID != id || msg.Metadata.Get(broker.MetaRoutingKey) != "user.updated" {
				t.Fatalf("delivery %d: id %s, routing key %q", i, msg.UUID, msg.Metadata.Get(broker.MetaRoutingKey))
			}
			if got, want := msg.Metadata.Get(broker.MetaRedelivered), strconv.FormatBool(i > 0); got != want {
				t.Errorf("delivery %d: redelivered %q, want %q", i, got, want)
			}
			msg.Nack()
		case <-time.After(5 * time.Second):
			t.Fatalf("delivery %d did not come", i)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tr.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	dl := tr.DeadLetters()
	if len(dl) != 1 || dl[0].MessageID != id || dl[0].Consumer != "cache" || !strings.Contains(dl[0].Reason, "broker: delivery_limit") {
		t.Errorf("dead letters %+v, want the message dead-lettered at the delivery limit", dl)
	}
}

// TestHandsOverManyAtOnce: a subscription hands over messages without waiting for the earlier
// ones to be settled, up to Prefetch, as an AMQP subscription with a prefetch does.
func TestHandsOverManyAtOnce(t *testing.T) {
	tr := New(nil)
	defer tr.Close()
	sub, err := tr.Subscriber(testTopology(0), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	const n = 10
	for range n {
		if err := tr.Publisher().Publish("tenant.suspended", message.NewMessage(uuid.NewString(), []byte(`{}`))); err != nil {
			t.Fatal(err)
		}
	}
	ch, err := sub.Subscribe(context.Background(), "tenants")
	if err != nil {
		t.Fatal(err)
	}
	var held []*message.Message
	for range n {
		select {
		case msg := <-ch:
			held = append(held, msg) // not acknowledged yet
		case <-time.After(5 * time.Second):
			t.Fatalf("handed over %d of %d before any was settled", len(held), n)
		}
	}
	for _, msg := range held {
		msg.Ack()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tr.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestServesOneWorkerAndRoutesByQueueName: a second worker cannot bind the transport; Publish
// routes a retry to its queue and refuses what no queue takes; a closed transport is not ready.
func TestServesOneWorkerAndRoutesByQueueName(t *testing.T) {
	tr := New(nil)
	top := testTopology(0)
	if _, err := tr.Subscriber(top, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Subscriber(top, nil); err == nil || !strings.Contains(err.Error(), "already serves a worker") {
		t.Errorf("second binding: %v", err)
	}
	retry := broker.Names{Prefix: "p", Consumer: "cache"}.Retry(20 * time.Millisecond)
	if err := tr.Publish(context.Background(), "", retry, amqp.Publishing{MessageId: "m1", Body: []byte("{}")}); err != nil {
		t.Errorf("publish to a retry queue: %v", err)
	}
	if err := tr.Publish(context.Background(), "", "p.nobody", amqp.Publishing{}); !errors.Is(err, broker.ErrUnroutable) {
		t.Errorf("publish to no queue: %v, want ErrUnroutable", err)
	}
	if err := tr.Ready(); err != nil {
		t.Errorf("Ready = %v", err)
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if err := tr.Ready(); !errors.Is(err, ErrClosed) {
		t.Errorf("Ready after Close = %v, want ErrClosed", err)
	}
}
