package interop

import (
	"context"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/eventworker/eventworker/internal/testenv"
	"github.com/eventworker/eventworker/publisher"
	"github.com/eventworker/eventworker/registry"
)

// TestEitherSideDeclaresFirst: whichever of Kombu and the Go publisher declares the exchange
// first, the other declares it again without a channel error (a PRECONDITION_FAILED, 406, would
// mean mismatched flags) and events flow. The last case shows that a mismatch is caught.
func TestEitherSideDeclaresFirst(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		run  func(t *testing.T, url, ex string)
	}{
		{"Kombu first, then Go", func(t *testing.T, url, ex string) {
			runScript(t, "kombu_declare.py", url, ex)
			p := newPublisher(t, url, ex)
			q := bindGoQueue(t, url, ex, "user.registered")
			id, err := p.UserRegistered(context.Background(), "acme", registry.UserRegistered{UserID: "usr-1", Email: "u@example.com"})
			if err != nil {
				t.Fatalf("Go publish on Kombu's exchange: %v", err)
			}
			checkValid(t, q.next(t, 15*time.Second), id)
		}},
		{"Go first, then Kombu", func(t *testing.T, url, ex string) {
			newPublisher(t, url, ex)
			q := bindGoQueue(t, url, ex, "order.created")
			sent := parsePublished(t, runScript(t, "kombu_publish.py", url, ex, "order.created"))
			for id := range sent {
				checkValid(t, q.next(t, 15*time.Second), id)
			}
		}},
		{"mismatched flags are caught on both sides", func(t *testing.T, url, ex string) {
			// Transient: not what Exchange(name, type="topic") declares.
			if err := withChannel(t, url, func(ch *amqp.Channel) error {
				return ch.ExchangeDeclare(ex, amqp.ExchangeTopic, false, false, false, false, nil)
			}); err != nil {
				t.Fatalf("declare a transient exchange: %v", err)
			}
			_, stderr, err := runScriptErr(t, "kombu_declare.py", url, ex)
			if err == nil || !strings.Contains(stderr, "PRECONDITION_FAILED") {
				t.Errorf("Kombu declared over a transient exchange: exit %v, stderr:\n%s\nwant a PRECONDITION_FAILED", err, stderr)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			p, err := publisher.New(ctx, publisher.Config{URL: url, Exchange: ex})
			if err == nil {
				_ = p.Close()
			}
			if err == nil || !strings.Contains(err.Error(), "PRECONDITION_FAILED") {
				t.Errorf("Go publisher New over a transient exchange = %v, want a PRECONDITION_FAILED error", err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			url := testenv.AMQPURL(t)
			tc.run(t, url, uniqueExchange(t, url))
		})
	}
}

// newPublisher starts a Go publisher on ex, closed when the test ends.
func newPublisher(t *testing.T, url, ex string) *publisher.Publisher {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	p, err := publisher.New(ctx, publisher.Config{URL: url, Exchange: ex, ConnectionName: testenv.Name("interop-pub")})
	if err != nil {
		t.Fatalf("Go publisher New on exchange %s: %v", ex, err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// checkValid checks that a delivery carries event id, valid, with the contract's properties.
func checkValid(t *testing.T, d amqp.Delivery, id string) {
	t.Helper()
	reg, _ := registry.Default()
	ev, err := reg.Validate(d.RoutingKey, d.Body)
	if err != nil {
		t.Fatalf("%s: body does not validate: %v\n%s", d.RoutingKey, err, d.Body)
	}
	if ev.ID != id {
		t.Errorf("%s: received event %s, want %s", d.RoutingKey, ev.ID, id)
	}
	if d.ContentType != "application/json" || d.DeliveryMode != amqp.Persistent {
		t.Errorf("%s: content type %q delivery mode %d, want application/json and 2", d.RoutingKey, d.ContentType, d.DeliveryMode)
	}
}
