package outbox

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/eventworker/eventworker/internal/testenv"
	"github.com/eventworker/eventworker/publisher"
	"github.com/eventworker/eventworker/registry"
)

// TestRelaySurvivesTerminatedConnections: PostgreSQL ends every connection of the relay (its
// LISTEN one too) mid-stream; the relay reconnects and sends what is committed afterwards.
func TestRelaySurvivesTerminatedConnections(t *testing.T) {
	t.Parallel()
	dsn := outboxDB(t)
	db := openSQL(t, dsn)
	b := newBroker(t)
	app := testenv.Name("ewrelay")
	cfg := relayConfig(dsn+"&application_name="+app, b.url, b.exchange)
	cfg.PollInterval = time.Hour // the notification, after the LISTEN reconnects, must do it
	runRelay(t, cfg)

	enqueueOrders(t, db, "shop-1", 0, 10)
	first := b.take(t, 10, 20*time.Second)
	// Marked sent too: a relay cut between the confirm and its commit sends its batch again,
	// which is at-least-once, not what this test is about.
	waitUnsent(t, db, 0, 20*time.Second)
	var killed int
	if err := db.QueryRow("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1", app).Scan(&killed); err != nil {
		t.Fatal(err)
	}
	if killed == 0 {
		t.Fatal("no connection of the relay found to terminate")
	}
	time.Sleep(time.Second) // the LISTEN connection comes back after its backoff
	enqueueOrders(t, db, "shop-1", 10, 20)
	rest := b.take(t, 10, 20*time.Second)
	b.quiet(t, time.Second)
	checkOnceInOrder(t, append(first, rest...), 1, 20)
}

// TestUnroutableEventHoldsOnlyItsTenant: an event no queue is bound for stays unsent, and with
// it the later events of its tenant (their order first), while other tenants go on.
func TestUnroutableEventHoldsOnlyItsTenant(t *testing.T) {
	t.Parallel()
	dsn := outboxDB(t)
	db := openSQL(t, dsn)
	url := testenv.AMQPURL(t)
	exchange := testenv.Name("outbox-ex")
	conn, err := amqp.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.ExchangeDeclare(exchange, "topic", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ch.ExchangeDelete(exchange, false, false) }()
	q, err := ch.QueueDeclare(testenv.Name("outbox-q"), false, true, true, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(q.Name, "order.created", exchange, false, nil); err != nil { // orders only
		t.Fatal(err)
	}
	msgs, err := ch.Consume(q.Name, "", true, true, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	enq := NewEnqueuer(publisher.Config{Producer: "orders"})
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	user := registry.UserRegistered{UserID: "u-1", Email: "a@example.com", Name: "A"}
	if _, err := enq.EnqueuePayload(ctx, SQL(tx), "shop-held", user); err != nil {
		t.Fatal(err)
	}
	if _, err := enq.EnqueuePayload(ctx, SQL(tx), "shop-held", order("o-held")); err != nil {
		t.Fatal(err)
	}
	if _, err := enq.EnqueuePayload(ctx, SQL(tx), "shop-free", order("o-free")); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	cfg := relayConfig(dsn, url, exchange)
	cfg.MinBackoff, cfg.MaxBackoff, cfg.PollInterval = 2*time.Second, 30*time.Second, 5*time.Second
	r, _ := runRelay(t, cfg)

	select {
	case d := <-msgs:
		reg, _ := registry.Default()
		ev, err := reg.Validate(d.RoutingKey, d.Body)
		if err != nil || ev.TenantID != "shop-free" {
			t.Errorf("delivered %v (%v), want shop-free's order", ev, err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the other tenant's order was not delivered")
	}
	select {
	case d := <-msgs:
		t.Errorf("delivered %s although its tenant's earlier event is unroutable", d.MessageId)
	case <-time.After(2 * time.Second):
	}
	waitUnsent(t, db, 2, 5*time.Second)

	// While the held tenant's backoff grows, another tenant's new event goes out at once.
	time.Sleep(5 * time.Second)
	start := time.Now()
	enqueueOrders(t, db, "shop-free", 1, 2)
	select {
	case <-msgs:
		if d := time.Since(start); d > 1500*time.Millisecond {
			t.Errorf("the free tenant's event took %s behind the held tenant's failures", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the free tenant's second event was not delivered")
	}
	waitUnsent(t, db, 2, 5*time.Second)
	if f := testutil.ToFloat64(r.m.failures.WithLabelValues(stagePublish)); f == 0 {
		t.Error("the unroutable event counted no publish failure")
	}
}
