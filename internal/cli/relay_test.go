package cli

import (
	"bytes"
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/eventworker/eventworker/internal/testenv"
	"github.com/eventworker/eventworker/publisher"
	"github.com/eventworker/eventworker/publisher/outbox"
	"github.com/eventworker/eventworker/registry"
)

func TestRelayNeedsOutboxDSN(t *testing.T) {
	var stdout, stderr bytes.Buffer
	e := &env{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
	if code := run(context.Background(), e, []string{"relay"}); code != exitFail {
		t.Errorf("exit %d, want %d", code, exitFail)
	}
	if !strings.Contains(stderr.String(), "EVENTWORKER_OUTBOX_DSN is empty") {
		t.Errorf("stderr %q does not name the missing setting", stderr.String())
	}
}

// TestRelayCommandDelivers runs `eventworker relay` against the real PostgreSQL and RabbitMQ:
// an event committed to the outbox reaches a queue bound to the events exchange.
func TestRelayCommandDelivers(t *testing.T) {
	amqpURL := testenv.AMQPURL(t)
	dsn := testenv.PostgresSchema(t)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if err := outbox.Migrate(ctx, outbox.SQL(db)); err != nil {
		t.Fatal(err)
	}

	conn, err := amqp.Dial(amqpURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	reg, _ := registry.Default()
	if err := ch.ExchangeDeclare(reg.Exchange(), "topic", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	q, err := ch.QueueDeclare(testenv.Name("relaycli-q"), false, true, true, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(q.Name, "order.created", reg.Exchange(), false, nil); err != nil {
		t.Fatal(err)
	}
	msgs, err := ch.Consume(q.Name, "", true, true, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}

	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	id, err := outbox.NewEnqueuer(publisher.Config{Producer: "orders"}).EnqueuePayload(ctx, outbox.SQL(tx), "shop-1",
		registry.OrderCreated{OrderID: "o-1", CustomerID: "c-1", CustomerEmail: "a@example.com", AmountMinor: 100, Currency: "EUR"})
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}

	vars := map[string]string{
		"EVENTWORKER_OUTBOX_DSN": dsn, "EVENTWORKER_AMQP_URL": amqpURL,
		"EVENTWORKER_HTTP_ADDR": "127.0.0.1:0", "EVENTWORKER_LOG_LEVEL": "warn",
	}
	var stdout, stderr bytes.Buffer
	e := &env{stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return vars[k] }}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan int, 1)
	go func() { done <- run(rctx, e, []string{"relay"}) }()
	defer func() {
		cancel()
		if code := <-done; code != exitOK {
			t.Errorf("relay exited %d: %s", code, stderr.String())
		}
	}()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case d := <-msgs:
			if d.MessageId == id {
				return
			}
		case <-timeout:
			t.Fatalf("event %s not delivered within 20s; relay stderr:\n%s", id, stderr.String())
		}
	}
}
