package publisher

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/eventworker/eventworker/internal/testenv"
	"github.com/eventworker/eventworker/registry"
)

const waitMessage = 10 * time.Second

// checkDelivery checks a delivery against the contract: properties as the contract has them and
// a body that the registry accepts, with the given event_id and type.
func checkDelivery(t *testing.T, d amqp.Delivery, id, eventType, producer string) *registry.Event {
	t.Helper()
	reg, _ := registry.Default()
	what := fmt.Sprintf("message %s (%s)", id, eventType)
	checks := []struct {
		prop      string
		got, want any
	}{
		{"routing key", d.RoutingKey, eventType},
		{"delivery mode", d.DeliveryMode, uint8(2)},
		{"content type", d.ContentType, "application/json"},
		{"content encoding", d.ContentEncoding, "utf-8"},
		{"message id", d.MessageId, id},
		{"app id", d.AppId, producer},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: %s = %v, want %v", what, c.prop, c.got, c.want)
		}
	}
	if d.Timestamp.IsZero() {
		t.Errorf("%s: no timestamp property", what)
	}
	ev, err := reg.Validate(d.RoutingKey, d.Body)
	if err != nil {
		t.Errorf("%s: body does not validate: %v\n%s", what, err, d.Body)
		return nil
	}
	if ev.ID != id {
		t.Errorf("%s: body's event_id %q differs from the id Publish returned", what, ev.ID)
	}
	return ev
}

func TestAMQPPublishEveryType(t *testing.T) {
	t.Parallel()
	p, cfg := newAMQPPublisher(t, Config{Producer: "pubtest"})
	cases := typedCases()
	keys := make([]string, len(cases))
	for i, tc := range cases {
		keys[i] = tc.eventType
	}
	q := bindQueue(t, cfg.URL, cfg.Exchange, keys...)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	for _, tc := range cases {
		id, err := tc.helper(p, ctx, tc.tenantID)
		if err != nil {
			t.Fatalf("%s: publish: %v", tc.eventType, err)
		}
		d := q.next(t, waitMessage)
		ev := checkDelivery(t, d, id, tc.eventType, "pubtest")
		if ev != nil && (ev.TenantID != tc.tenantID || ev.Payload == nil || ev.Payload.EventType() != tc.eventType) {
			t.Errorf("%s: decoded tenant %q payload %#v", tc.eventType, ev.TenantID, ev.Payload)
		}
	}
	q.expectNone(t, 200*time.Millisecond)
}

func TestAMQPInvalidEventSendsNothing(t *testing.T) {
	t.Parallel()
	p, cfg := newAMQPPublisher(t, Config{})
	q := bindQueue(t, cfg.URL, cfg.Exchange, "#")
	ctx := context.Background()

	_, err := p.OrderCreated(ctx, "acme", registry.OrderCreated{
		OrderID: "ord-1", CustomerID: "cus-1", CustomerEmail: "no-at-sign", AmountMinor: 100, Currency: "EURO",
	})
	var verr *registry.ValidationError
	if !errors.Is(err, registry.ErrInvalid) || !errors.As(err, &verr) {
		t.Fatalf("Publish of an invalid event = %v, want a *registry.ValidationError", err)
	}
	for _, ptr := range []string{"/data/customer_email", "/data/currency"} {
		if !strings.Contains(err.Error(), ptr) {
			t.Errorf("error does not name %s: %v", ptr, err)
		}
	}

	// A confirmed valid event behind it must be the first message: the invalid one never left.
	marker, err := p.TenantReactivated(ctx, "acme", registry.TenantReactivated{TenantID: "acme"})
	if err != nil {
		t.Fatalf("publish marker: %v", err)
	}
	if d := q.next(t, waitMessage); d.MessageId != marker {
		t.Errorf("first message is %s (%s), want the marker %s: the invalid event was sent", d.MessageId, d.RoutingKey, marker)
	}
	q.expectNone(t, 200*time.Millisecond)
}

func TestAMQPUnroutable(t *testing.T) {
	t.Parallel()
	// One channel: the publish after the return must reuse the channel that got it.
	p, cfg := newAMQPPublisher(t, Config{Channels: 1})
	ctx := context.Background()
	data := registry.UserRegistered{UserID: "usr-1", Email: "u@example.com"}

	ev, err := p.Publish(ctx, Event{TenantID: "acme", Data: data})
	if !errors.Is(err, ErrUnroutable) {
		t.Fatalf("publish with no queue bound = %v, want ErrUnroutable", err)
	}
	if ev == nil || ev.ID == "" {
		t.Errorf("an unroutable publish returned no event: %+v", ev)
	}
	if !strings.Contains(err.Error(), "user.registered") || !strings.Contains(err.Error(), cfg.Exchange) {
		t.Errorf("error does not say which exchange and routing key: %v", err)
	}

	q := bindQueue(t, cfg.URL, cfg.Exchange, "user.registered")
	id, err := p.UserRegistered(ctx, "acme", data)
	if err != nil {
		t.Fatalf("publish once a queue is bound: %v", err)
	}
	checkDelivery(t, q.next(t, waitMessage), id, "user.registered", "")
}

func TestAMQPConcurrentPublishers(t *testing.T) {
	t.Parallel()
	const n = 50
	p, cfg := newAMQPPublisher(t, Config{})
	q := bindQueue(t, cfg.URL, cfg.Exchange, "product.created")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ids[i], errs[i] = p.ProductCreated(ctx, "acme", registry.ProductCreated{Product: registry.Product{
				ProductID: fmt.Sprintf("prod-%d", i), SKU: fmt.Sprintf("SKU-%d", i), Name: "Mug",
				Price: "9.50", Currency: "EUR", InventoryQuantity: int64(i),
			}})
		})
	}
	wg.Wait()
	want := map[string]bool{}
	for i := range n {
		if errs[i] != nil {
			t.Errorf("publisher %d: %v", i, errs[i])
			continue
		}
		want[ids[i]] = true
	}
	if len(want) != n {
		t.Fatalf("%d of %d publishes confirmed with distinct ids", len(want), n)
	}
	seen := map[string]int{}
	for range n {
		d := q.next(t, waitMessage)
		seen[d.MessageId]++
		if !want[d.MessageId] {
			t.Errorf("received %s, which no publisher sent", d.MessageId)
		}
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("event %s received %d times, want once", id, c)
		}
	}
	q.expectNone(t, 300*time.Millisecond)
}

func TestAMQPCorrelationAndCausation(t *testing.T) {
	t.Parallel()
	p, cfg := newAMQPPublisher(t, Config{})
	q := bindQueue(t, cfg.URL, cfg.Exchange, "order.cancelled")
	data := registry.OrderCancelled{OrderID: "ord-1", CustomerID: "cus-1", CustomerEmail: "c@example.com"}
	base := WithCausationID(WithCorrelationID(context.Background(), "corr-ctx"), "cause-ctx")

	tests := []struct {
		name            string
		ctx             context.Context
		ev              Event
		corr, causation string
	}{
		{"from context", base, Event{TenantID: "acme", Data: data}, "corr-ctx", "cause-ctx"},
		{"event's own", base, Event{TenantID: "acme", Data: data, CorrelationID: "corr-own", CausationID: "cause-own"}, "corr-own", "cause-own"},
		{"none", context.Background(), Event{TenantID: "acme", Data: data}, "", ""},
	}
	for _, tc := range tests {
		ev, err := p.Publish(tc.ctx, tc.ev)
		if err != nil {
			t.Fatalf("%s: publish: %v", tc.name, err)
		}
		d := q.next(t, waitMessage)
		got := checkDelivery(t, d, ev.ID, "order.cancelled", "")
		if d.CorrelationId != tc.corr {
			t.Errorf("%s: correlation_id property = %q, want %q", tc.name, d.CorrelationId, tc.corr)
		}
		if got != nil && (got.CorrelationID != tc.corr || got.CausationID != tc.causation) {
			t.Errorf("%s: body has correlation_id %q causation_id %q, want %q %q",
				tc.name, got.CorrelationID, got.CausationID, tc.corr, tc.causation)
		}
	}
}

func TestAMQPReconnectAfterBrokerClosesConnection(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// noticed waits until the publisher saw the close; otherwise the publish races it.
		noticed bool
	}{
		{"publish after the close was noticed", true},
		{"publish racing the close", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, cfg := newAMQPPublisher(t, Config{Channels: 2})
			q := bindQueue(t, cfg.URL, cfg.Exchange, "tenant.suspended")
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			data := registry.TenantSuspended{TenantID: "acme", Reason: "unpaid"}

			first, err := p.TenantSuspended(ctx, "acme", data)
			if err != nil {
				t.Fatalf("publish before the close: %v", err)
			}
			checkDelivery(t, q.next(t, waitMessage), first, "tenant.suspended", "")

			oldPID := closeConnection(t, cfg.ConnectionName)
			if tc.noticed {
				sess := p.sender.(*amqpSender).cur.Load()
				select {
				case <-sess.done:
				case <-time.After(10 * time.Second):
					t.Fatal("the publisher did not notice within 10s that the broker closed its connection")
				}
			}
			second, err := p.TenantSuspended(ctx, "acme", data)
			if err != nil {
				t.Fatalf("publish after the broker closed the connection: %v", err)
			}
			checkDelivery(t, q.next(t, waitMessage), second, "tenant.suspended", "")
			if pid := connectionPID(t, cfg.ConnectionName); pid == "" || pid == oldPID {
				t.Errorf("after the publish, connection %q has pid %q, want a new connection (old pid %s)", cfg.ConnectionName, pid, oldPID)
			}
		})
	}
}

func TestAMQPReconnectAfterDroppedConnection(t *testing.T) {
	t.Parallel()
	px, viaProxy := newProxy(t, testenv.AMQPURL(t))
	p, cfg := newAMQPPublisher(t, Config{URL: viaProxy})
	q := bindQueue(t, testenv.AMQPURL(t), cfg.Exchange, "user.updated")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	data := registry.UserUpdated{UserID: "usr-1", Name: "New Name", ChangedFields: []string{"name"}}

	for i := range 3 {
		px.cut() // TCP gone without an AMQP close, as when the broker's host dies
		id, err := p.UserUpdated(ctx, "acme", data)
		if err != nil {
			t.Fatalf("publish %d right after the connection dropped: %v", i, err)
		}
		checkDelivery(t, q.next(t, waitMessage), id, "user.updated", "")
	}
}

func TestAMQPConfirmNotArriving(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		timeout time.Duration // ConfirmTimeout
		ctxWait time.Duration // the caller's deadline
		want    error
	}{
		{"confirm timeout", 300 * time.Millisecond, 20 * time.Second, ErrConfirmTimeout},
		{"caller's deadline", 20 * time.Second, 300 * time.Millisecond, context.DeadlineExceeded},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			px, viaProxy := newProxy(t, testenv.AMQPURL(t))
			p, cfg := newAMQPPublisher(t, Config{URL: viaProxy, ConfirmTimeout: tc.timeout, Channels: 1})
			q := bindQueue(t, testenv.AMQPURL(t), cfg.Exchange, "order.cancelled")
			data := registry.OrderCancelled{OrderID: "ord-1", CustomerID: "cus-1", CustomerEmail: "c@example.com"}

			release := px.holdBroker()
			ctx, cancel := context.WithTimeout(context.Background(), tc.ctxWait)
			start := time.Now()
			ev, err := p.Publish(ctx, Event{TenantID: "acme", Data: data})
			cancel()
			release()
			if !errors.Is(err, tc.want) {
				t.Fatalf("publish while the broker's confirms are held = %v, want %v", err, tc.want)
			}
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("publish took %s to give up", took)
			}
			if ev == nil {
				t.Fatal("no event returned to publish again")
			}
			// The broker got the first one; the retry under the same id is the duplicate that
			// consumers drop, and the publisher works on after the abandoned confirm.
			again, err := p.Publish(context.Background(), Event{ID: ev.ID, TenantID: "acme", Data: data})
			if err != nil {
				t.Fatalf("publish again after the held confirm: %v", err)
			}
			for range 2 {
				checkDelivery(t, q.next(t, waitMessage), again.ID, "order.cancelled", "")
			}
		})
	}
}

func TestAMQPExchangeFlagsMismatch(t *testing.T) {
	t.Parallel()
	url := testenv.AMQPURL(t)
	name := testExchange(t, url)
	// Not Kombu's flags: transient.
	withChannel(t, url, func(ch *amqp.Channel) error {
		return ch.ExchangeDeclare(name, "topic", false, false, false, false, nil)
	})
	_, err := New(context.Background(), Config{URL: url, Exchange: name})
	if err == nil || !strings.Contains(err.Error(), "PRECONDITION_FAILED") {
		t.Fatalf("New on an exchange with other flags = %v, want a PRECONDITION_FAILED error", err)
	}
}

func TestAMQPPublishAfterClose(t *testing.T) {
	t.Parallel()
	p, _ := newAMQPPublisher(t, Config{})
	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	_, err := p.TenantReactivated(context.Background(), "acme", registry.TenantReactivated{TenantID: "acme"})
	if !errors.Is(err, ErrClosed) {
		t.Errorf("publish after Close = %v, want ErrClosed", err)
	}
}
