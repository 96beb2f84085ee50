package interop

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/eventworker/eventworker/internal/testenv"
	"github.com/eventworker/eventworker/publisher"
	"github.com/eventworker/eventworker/registry"
)

// consumed is one line of kombu_consume.py's output.
type consumed struct {
	RoutingKey      string         `json:"routing_key"`
	Body            string         `json:"body"`
	ContentType     string         `json:"content_type"`
	ContentEncoding string         `json:"content_encoding"`
	DeliveryMode    int            `json:"delivery_mode"`
	MessageID       string         `json:"message_id"`
	CorrelationID   string         `json:"correlation_id"`
	AppID           string         `json:"app_id"`
	Headers         map[string]any `json:"headers"`
}

// TestGoPublishesKombuConsumes: events from the Go publisher, of several types and versions,
// reach a Kombu consumer with the contract's properties and bodies that validate. Kombu declares
// the exchange first, so the publisher's declaration must match Kombu's flags.
func TestGoPublishesKombuConsumes(t *testing.T) {
	t.Parallel()
	url := testenv.AMQPURL(t)
	reg, err := registry.Default()
	if err != nil {
		t.Fatalf("registry: %v", err)
	}
	ex := uniqueExchange(t, url)
	queue := testenv.Name("interop-kq")
	t.Cleanup(func() {
		_ = withChannel(t, url, func(ch *amqp.Channel) error { _, err := ch.QueueDelete(queue, false, false, false); return err })
	})

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ctx = publisher.WithCorrelationID(ctx, "flow-77")
	sends := []struct {
		eventType string
		send      func(p *publisher.Publisher) (string, error)
	}{
		{"order.created", func(p *publisher.Publisher) (string, error) {
			return p.OrderCreated(ctx, "acme", registry.OrderCreated{
				OrderID: "ord-1", CustomerID: "cus-1", CustomerEmail: "a@example.com", AmountMinor: 1999, Currency: "USD",
				Items: []registry.OrderCreatedItem{{ProductID: "prod-7", Quantity: 1, UnitPriceMinor: 1999}},
			})
		}},
		{"order.created", func(p *publisher.Publisher) (string, error) { // version 1, as a map
			ev, err := p.Publish(ctx, publisher.Event{Type: "order.created", Version: 1, TenantID: "acme", Data: map[string]any{
				"order_id": "ord-2", "customer_id": "cus-1", "customer_email": "a@example.com", "amount": 5.5, "currency": "EUR",
			}})
			if ev == nil {
				return "", err
			}
			return ev.ID, err
		}},
		{"order.confirmed", func(p *publisher.Publisher) (string, error) {
			return p.OrderConfirmed(ctx, "acme", registry.OrderConfirmed{
				OrderID: "ord-1", CustomerID: "cus-1", CustomerEmail: "a@example.com", Amount: "19.99", Currency: "USD",
			})
		}},
		{"product.updated", func(p *publisher.Publisher) (string, error) {
			return p.ProductUpdated(ctx, "acme", registry.ProductUpdated{Product: registry.Product{
				ProductID: "prod-7", SKU: "MUG-BLUE", Name: "Blue mug", Price: "17.50", Currency: "USD", InventoryQuantity: 3, Version: 4,
			}})
		}},
		{"user.registered", func(p *publisher.Publisher) (string, error) {
			return p.UserRegistered(ctx, "acme", registry.UserRegistered{UserID: "usr-1", Email: "u@example.com", Locale: "fr-CA"})
		}},
		{"tenant.suspended", func(p *publisher.Publisher) (string, error) {
			return p.TenantSuspended(ctx, "acme", registry.TenantSuspended{TenantID: "acme", Reason: "unpaid"})
		}},
	}

	consumer := startScript(t, "kombu_consume.py", url, ex, queue, strconv.Itoa(len(sends)), "45")
	if l := consumer.line(t, 30*time.Second); l != "READY" {
		t.Fatalf("kombu_consume.py printed %q, want READY; stderr:\n%s", l, consumer.stderr)
	}

	p, err := publisher.New(ctx, publisher.Config{URL: url, Exchange: ex, Producer: "go-interop", ConnectionName: testenv.Name("interop-pub")})
	if err != nil {
		t.Fatalf("New on the exchange Kombu declared: %v", err)
	}
	defer p.Close()
	sent := map[string]string{}
	for _, s := range sends {
		id, err := s.send(p)
		if err != nil {
			t.Fatalf("publish %s: %v", s.eventType, err)
		}
		sent[id] = s.eventType
	}

	for range len(sends) {
		line := consumer.line(t, 30*time.Second)
		var m consumed
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("kombu_consume.py printed %q, not a JSON line: %v", line, err)
		}
		what := m.RoutingKey + " " + m.MessageID + " in Kombu"
		if m.ContentType != "application/json" || m.ContentEncoding != "utf-8" || m.DeliveryMode != 2 {
			t.Errorf("%s: content type %q, encoding %q, delivery mode %d; the contract says application/json, utf-8, 2",
				what, m.ContentType, m.ContentEncoding, m.DeliveryMode)
		}
		if m.AppID != "go-interop" || m.CorrelationID != "flow-77" {
			t.Errorf("%s: app_id %q correlation_id %q, want go-interop flow-77", what, m.AppID, m.CorrelationID)
		}
		if len(m.Headers) != 0 {
			t.Errorf("%s: headers %v, want none (the contract requires none)", what, m.Headers)
		}
		ev, err := reg.Validate(m.RoutingKey, []byte(m.Body))
		if err != nil {
			t.Errorf("%s: body as Kombu received it does not validate: %v\n%s", what, err, m.Body)
			continue
		}
		if sent[ev.ID] != m.RoutingKey || m.MessageID != ev.ID {
			t.Errorf("%s: body's event %s (%s) is not one that was sent as %s: %v", what, ev.ID, ev.Type, m.RoutingKey, sent)
		}
		delete(sent, ev.ID)
	}
	consumer.wait(t)
	if len(sent) > 0 {
		t.Errorf("published by Go but never received by Kombu: %v", sent)
	}
}
