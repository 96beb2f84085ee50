package dlq

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/eventworker/eventworker/internal/broker"
	"github.com/eventworker/eventworker/internal/testenv"
	"github.com/eventworker/eventworker/registry"
)

// TestUnroutableEventsAreKept: on a RabbitMQ node of the test's own that loaded
// deploy/rabbitmq/definitions.json, an event of a type no consumer takes (unregistered.order_shipped) lands
// in the worker's <prefix>.unroutable instead of vanishing; the dlq tool lists it with its
// class and reason, and once a queue is bound for the type, a replay delivers it there.
func TestUnroutableEventsAreKept(t *testing.T) {
	node := testenv.StartRabbitNode(t)
	defs, err := filepath.Abs(filepath.Join("..", "..", "deploy", "rabbitmq", "definitions.json"))
	if err != nil {
		t.Fatal(err)
	}
	node.Ctl("import_definitions", defs)
	// The user the definitions create, on the node's port.
	url := strings.Replace(node.URL, "guest:guest@", "eventworker:eventworker@", 1)
	conn, err := amqp.Dial(url)
	if err != nil {
		t.Fatalf("log in as the definitions' user: %v", err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	reg, err := registry.Default()
	if err != nil {
		t.Fatal(err)
	}
	const prefix = "eventworker"
	top := &broker.Topology{Exchange: reg.Exchange(), Prefix: prefix, QueueType: "quorum", DeliveryLimit: 20,
		RetryDelays: []time.Duration{time.Second}, Bindings: map[string][]string{}}
	for _, c := range reg.Consumers() {
		top.Bindings[c] = reg.EventsOf(c)
		if err := top.Declare(ch, c); err != nil {
			t.Fatal(err)
		}
	}
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	returns := ch.NotifyReturn(make(chan amqp.Return, 1))
	body := []byte(`{"event_id":"e-shipped","event_type":"unregistered.order_shipped","tenant_id":"t1"}`)
	dc, err := ch.PublishWithDeferredConfirmWithContext(context.Background(), reg.Exchange(), "unregistered.order_shipped", true, false,
		amqp.Publishing{Body: body, ContentType: "application/json", MessageId: "e-shipped"})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := dc.WaitContext(context.Background()); !ok || err != nil {
		t.Fatalf("publish not confirmed: %v", err)
	}
	select {
	case r := <-returns:
		t.Fatalf("the broker returned the event (%s): the policy did not apply", r.ReplyText)
	case <-time.After(200 * time.Millisecond):
	}

	confirmer := broker.NewConfirmer(url, "dlq-test", 10*time.Second, nil)
	defer confirmer.Close()
	cconn, err := confirmer.Connection()
	if err != nil {
		t.Fatal(err)
	}
	tool := New(cconn, confirmer, prefix, reg.Exchange(), reg.Consumers())
	entries, err := tool.List(context.Background(), Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("listed %d entries, want the one unroutable event", len(entries))
	}
	e := entries[0]
	if e.Consumer != Unroutable || e.Queue != prefix+".unroutable" || e.Class != ClassUnroutable || e.RoutingKey != "unregistered.order_shipped" ||
		e.EventID != "e-shipped" || !strings.Contains(e.Reason, `routing key "unregistered.order_shipped"`) {
		t.Errorf("entry %+v", e)
	}

	// A new consumer's queue is bound for the type; the replay reaches it.
	if _, err := ch.QueueDeclare("shipping", false, true, true, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind("shipping", "unregistered.order_shipped", reg.Exchange(), false, nil); err != nil {
		t.Fatal(err)
	}
	moved, err := tool.Replay(context.Background(), Filter{Consumers: []string{Unroutable}}, false, nil)
	if err != nil || moved != 1 {
		t.Fatalf("replay moved %d: %v", moved, err)
	}
	d, ok, err := ch.Get("shipping", true)
	if err != nil || !ok || string(d.Body) != string(body) {
		t.Fatalf("the bound queue got %q (%v, %v), want the event", d.Body, ok, err)
	}
	if left, _ := tool.List(context.Background(), Filter{}); len(left) != 0 {
		t.Errorf("%d entries left after the replay, want none", len(left))
	}
}
