package publisher_test

import (
	"context"
	"errors"
	"log"
	"time"

	"github.com/eventworker/eventworker/publisher"
	"github.com/eventworker/eventworker/registry"
)

// Publishing to RabbitMQ: New dials, declares the "events" exchange with Kombu's flags and waits
// for the broker's confirm on every publish.
func Example_amqp() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pub, err := publisher.New(ctx, publisher.Config{
		URL:      "amqp://guest:guest@localhost:5672/",
		Producer: "catalog",
	})
	if err != nil {
		log.Fatal(err)
	}
	defer pub.Close()

	id, err := pub.ProductCreated(ctx, "acme", registry.ProductCreated{Product: registry.Product{
		ProductID: "prod-7", SKU: "MUG-BLUE", Name: "Blue mug", Price: "19.99", Currency: "USD",
		InventoryQuantity: 12,
	}})
	switch {
	case errors.Is(err, publisher.ErrUnroutable):
		log.Printf("no consumer queue is bound for product.created yet")
	case err != nil:
		log.Fatal(err)
	default:
		log.Printf("published product.created %s", id)
	}
}
