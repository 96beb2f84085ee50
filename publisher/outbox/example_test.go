package outbox_test

import (
	"context"
	"database/sql"
	"log"
	"os/signal"
	"syscall"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"

	"github.com/eventworker/eventworker/publisher"
	"github.com/eventworker/eventworker/publisher/outbox"
	"github.com/eventworker/eventworker/registry"
)

// A producer writes the order and its event in one transaction: the event is sent if and only
// if the order is committed.
func Example_producer() {
	ctx := context.Background()
	db, err := sql.Open("pgx", "postgres://checkout@localhost:5432/shop")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if err := outbox.Migrate(ctx, outbox.SQL(db)); err != nil { // or ship outbox.Migrations
		log.Fatal(err)
	}
	enq := outbox.NewEnqueuer(publisher.Config{Producer: "checkout"})

	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "INSERT INTO orders (id, total_minor) VALUES ($1, $2)", "ord-1001", 1999); err != nil {
		log.Fatal(err)
	}
	if _, err := enq.EnqueuePayload(ctx, outbox.SQL(tx), "acme", registry.OrderCreated{
		OrderID: "ord-1001", CustomerID: "cus-42", CustomerEmail: "alice@example.com",
		AmountMinor: 1999, Currency: "USD",
	}); err != nil {
		log.Fatal(err) // an invalid event: nothing was written, roll the order back too
	}
	if err := tx.Commit(); err != nil {
		log.Fatal(err)
	}
}

// The relay inside the producer's process, until SIGTERM; `eventworker relay` runs the same.
func Example_relay() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	relay, err := outbox.NewRelay(outbox.Config{
		DSN:       "postgres://relay@localhost:5432/shop",
		Publisher: publisher.Config{URL: "amqp://guest:guest@localhost:5672/"},
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := relay.Run(ctx); err != nil {
		log.Fatal(err)
	}
}
