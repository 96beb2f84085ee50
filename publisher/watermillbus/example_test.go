package watermillbus_test

import (
	"context"
	"fmt"
	"log"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"

	"github.com/eventworker/eventworker/publisher"
	"github.com/eventworker/eventworker/publisher/watermillbus"
	"github.com/eventworker/eventworker/registry"
)

// A producer's whole use, in process: Watermill's GoChannel stands in for RabbitMQ.
func Example() {
	ctx := context.Background()
	bus := gochannel.NewGoChannel(gochannel.Config{OutputChannelBuffer: 1}, watermill.NopLogger{})
	orders, err := bus.Subscribe(ctx, "order.created")
	if err != nil {
		log.Fatal(err)
	}

	pub, err := watermillbus.New(bus, publisher.Config{Producer: "checkout"})
	if err != nil {
		log.Fatal(err)
	}
	defer pub.Close()

	// Every event published while handling this request shares its correlation id.
	ctx = publisher.WithCorrelationID(ctx, "checkout-req-42")
	eventID, err := pub.OrderCreated(ctx, "acme", registry.OrderCreated{
		OrderID: "ord-1001", CustomerID: "cus-42", CustomerEmail: "alice@example.com",
		AmountMinor: 1999, Currency: "USD",
	})
	if err != nil {
		log.Fatal(err)
	}

	// What a consumer gets: a body that the registry accepts.
	msg := <-orders
	msg.Ack()
	reg, err := registry.Default()
	if err != nil {
		log.Fatal(err)
	}
	ev, err := reg.Validate(msg.Metadata.Get("routing_key"), msg.Payload)
	if err != nil {
		log.Fatal(err)
	}
	order := ev.Payload.(*registry.OrderCreated)
	fmt.Println("message UUID is the event_id:", msg.UUID == eventID)
	fmt.Printf("%s v%d from %s, correlation %s\n", ev.Type, ev.Version, ev.Producer, ev.CorrelationID)
	fmt.Printf("order %s: %d %s minor units\n", order.OrderID, order.AmountMinor, order.Currency)

	// Invalid events never leave the process.
	_, err = pub.OrderCreated(ctx, "acme", registry.OrderCreated{OrderID: "ord-1002"})
	fmt.Println(err != nil)
	// Output:
	// message UUID is the event_id: true
	// order.created v2 from checkout, correlation checkout-req-42
	// order ord-1001: 1999 USD minor units
	// true
}
