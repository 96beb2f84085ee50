package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"
	"github.com/google/uuid"

	"github.com/eventworker/eventworker/internal/inventory"
	"github.com/eventworker/eventworker/internal/logging"
	"github.com/eventworker/eventworker/internal/testenv"
	"github.com/eventworker/eventworker/internal/worker/handling"
	"github.com/eventworker/eventworker/publisher"
	"github.com/eventworker/eventworker/publisher/watermillbus"
	"github.com/eventworker/eventworker/registry"
)

// invPublisher is an in-process publisher for these unit tests: it fails as told, else it
// publishes through a real publisher.Publisher on a Watermill GoChannel, so every event it
// records was built and validated against the registry. The worker test uses RabbitMQ.
type invPublisher struct {
	real *publisher.Publisher
	mu   sync.Mutex
	// fail, when set, decides the error of a publish before it is sent.
	fail      func(ev publisher.Event) error
	attempted []publisher.Event
	sent      []*registry.Event
}

func newInvPublisher(t *testing.T) *invPublisher {
	t.Helper()
	bus := gochannel.NewGoChannel(gochannel.Config{}, watermill.NopLogger{})
	real, err := watermillbus.New(bus, publisher.Config{Producer: "eventworker"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = real.Close() })
	return &invPublisher{real: real}
}

func (p *invPublisher) Publish(ctx context.Context, ev publisher.Event) (*registry.Event, error) {
	p.mu.Lock()
	p.attempted = append(p.attempted, ev)
	fail := p.fail
	p.mu.Unlock()
	if fail != nil {
		if err := fail(ev); err != nil {
			return nil, err
		}
	}
	out, err := p.real.Publish(ctx, ev)
	if err == nil {
		p.mu.Lock()
		p.sent = append(p.sent, out)
		p.mu.Unlock()
	}
	return out, err
}

// newInventoryHandler returns the handler on a real Redis store under a prefix of its own, and
// the buffer its JSON logs go to.
func newInventoryHandler(t *testing.T) (*inventoryConsumer, *invPublisher, *bytes.Buffer) {
	t.Helper()
	rdb, prefix := testenv.Redis(t, "test-handlers-inventory")
	pub := newInvPublisher(t)
	var logs bytes.Buffer
	h := newInventory(inventoryDeps{
		Store: inventory.New(rdb, prefix), Publisher: pub,
		Logger: logging.New(&logs, slog.LevelDebug),
	})
	return h, pub, &logs
}

var invT0 = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

// invEvent builds a validated event for tenant shopID, occurring minutes after invT0.
func invEvent(t *testing.T, typ string, minutes int, correlationID, data string) *registry.Event {
	t.Helper()
	reg, err := registry.Default()
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]any{
		"event_id": uuid.NewString(), "event_type": typ, "event_version": 1,
		"occurred_at": invT0.Add(time.Duration(minutes) * time.Minute).Format(time.RFC3339Nano),
		"tenant_id":   shopID, "data": json.RawMessage(data),
	}
	if correlationID != "" {
		env["correlation_id"] = correlationID
	}
	body, _ := json.Marshal(env)
	ev, err := reg.Validate(typ, body)
	if err != nil {
		t.Fatalf("event %s: %v", typ, err)
	}
	return ev
}

func invProduct(t *testing.T, typ string, minutes int, id string, version, qty int64, extra string) *registry.Event {
	t.Helper()
	return invEvent(t, typ, minutes, "", fmt.Sprintf(`{"product_id":%q,"sku":"SKU-%s","name":"Tent %s","price":199.5,
		"currency":"EUR","inventory_quantity":%d,"version":%d%s}`, id, id, id, qty, version, extra))
}

// handledEvent names the event in the handler's lines, as the worker's context does.
type handledEvent struct{ ev *registry.Event }

func (h handledEvent) LogAttrs() []slog.Attr {
	return []slog.Attr{slog.String("event_id", h.ev.ID), slog.String("event_type", h.ev.Type),
		slog.String("tenant_id", h.ev.TenantID), slog.String("consumer", ConsumerInventory)}
}

// handleAll handles evs in order, each with a context that names it as the worker's does; a
// redelivered event is handling.ErrDuplicate, as the worker expects.
func handleAll(t *testing.T, h *inventoryConsumer, evs ...*registry.Event) {
	t.Helper()
	for _, ev := range evs {
		if err := h.Handle(logging.WithEvent(context.Background(), handledEvent{ev}), ev); err != nil && !errors.Is(err, handling.ErrDuplicate) {
			t.Fatalf("handle %s %s: %v", ev.Type, ev.ID, err)
		}
	}
}

func TestInventoryDerivesLowStockEvent(t *testing.T) {
	h, pub, _ := newInventoryHandler(t)
	v1 := invProduct(t, "product.updated", 0, "p-1", 1, 10, "")
	v2 := invEvent(t, "product.updated", 5, "checkout-42", `{"product_id":"p-1","sku":"SKU-p-1","name":"Tent p-1",
		"price":199.5,"currency":"EUR","inventory_quantity":3,"version":2}`)
	handleAll(t, h, v1, v2)
	if len(pub.sent) != 1 {
		t.Fatalf("published %d events, want 1", len(pub.sent))
	}
	got := pub.sent[0]
	if got.ID != inventory.AlertID(v2.ID, "p-1") || got.Type != "product.inventory_low" || got.Version != 1 ||
		got.TenantID != shopID || got.CausationID != v2.ID || got.CorrelationID != "checkout-42" ||
		!got.OccurredAt.Equal(v2.OccurredAt) || got.Producer != "eventworker" {
		t.Errorf("derived envelope = %+v", got)
	}
	want := registry.ProductInventoryLow{ProductID: "p-1", SKU: "SKU-p-1", Name: "Tent p-1", InventoryQuantity: 3, LowStockThreshold: 5}
	if p, ok := got.Payload.(*registry.ProductInventoryLow); !ok || *p != want {
		t.Errorf("derived data = %#v, want %+v (default threshold 5)", got.Payload, want)
	}
	// Handling the events again publishes nothing more, and each is a duplicate.
	for _, ev := range []*registry.Event{v2, v1} {
		if err := h.Handle(context.Background(), ev); !errors.Is(err, handling.ErrDuplicate) {
			t.Errorf("redelivered %s: %v, want handling.ErrDuplicate", ev.ID, err)
		}
	}
	if len(pub.sent) != 1 {
		t.Errorf("redelivery published %d more", len(pub.sent)-1)
	}
}

func TestInventoryCorrelationDefaultsToTheSourceEvent(t *testing.T) {
	h, pub, _ := newInventoryHandler(t)
	created := invProduct(t, "product.created", 0, "p-1", 1, 10, `,"low_stock_threshold":10`)
	handleAll(t, h, created)
	if len(pub.sent) != 0 {
		t.Fatalf("published %d events for a product created at its threshold, want 0 (not a fall from above)", len(pub.sent))
	}
	ev := invProduct(t, "product.updated", 1, "p-1", 1, 0, `,"low_stock_threshold":10`)
	ev2 := invProduct(t, "product.updated", 2, "p-1", 2, 50, `,"low_stock_threshold":10`)
	ev3 := invProduct(t, "product.updated", 3, "p-1", 3, 9, `,"low_stock_threshold":10`)
	handleAll(t, h, ev, ev2, ev3)
	if len(pub.sent) != 1 {
		t.Fatalf("published %d events, want 1", len(pub.sent))
	}
	if got := pub.sent[0]; got.CorrelationID != ev3.ID || got.CausationID != ev3.ID {
		t.Errorf("correlation %q, causation %q; want both %q", got.CorrelationID, got.CausationID, ev3.ID)
	}
}

func TestInventoryPublishFailureIsRetriedUnderTheSameID(t *testing.T) {
	h, pub, _ := newInventoryHandler(t)
	handleAll(t, h, invProduct(t, "product.created", 0, "p-1", 1, 10, ""))
	fall := invProduct(t, "product.updated", 1, "p-1", 2, 1, "")
	pub.fail = func(publisher.Event) error { return publisher.ErrConfirmTimeout }
	err := h.Handle(context.Background(), fall)
	if err == nil || handling.IsPermanent(err) || !errors.Is(err, publisher.ErrConfirmTimeout) {
		t.Fatalf("publish failure: %v, want a transient error wrapping it", err)
	}
	if !strings.Contains(err.Error(), "publish product.inventory_low") || !strings.Contains(err.Error(), "p-1") {
		t.Errorf("error %q does not say what failed", err)
	}
	pub.fail = nil
	handleAll(t, h, fall)
	if len(pub.attempted) != 2 || len(pub.sent) != 1 {
		t.Fatalf("attempted %d, sent %d; want 2 and 1", len(pub.attempted), len(pub.sent))
	}
	if pub.attempted[0].ID != pub.sent[0].ID || pub.sent[0].ID != inventory.AlertID(fall.ID, "p-1") {
		t.Errorf("the retry published %s, the failed attempt %s", pub.sent[0].ID, pub.attempted[0].ID)
	}
	handleAll(t, h, fall)
	if len(pub.attempted) != 2 {
		t.Errorf("a published alert was published again")
	}
}

func TestInventoryOrderConfirmed(t *testing.T) {
	h, pub, logs := newInventoryHandler(t)
	handleAll(t, h,
		invProduct(t, "product.created", 0, "p-1", 1, 10, ""),
		invProduct(t, "product.created", 0, "p-2", 1, 10, `,"low_stock_threshold":3`),
		invProduct(t, "product.created", 0, "p-5", 1, 10, ""),
	)
	order := invEvent(t, "order.confirmed", 1, "", `{"order_id":"o-1","customer_id":"c-1","customer_email":"a@example.com",
		"amount":10,"currency":"EUR","items":[
		{"product_id":"p-1","quantity":8,"inventory_remaining":2},
		{"product_id":"p-2","quantity":2,"inventory_remaining":3},
		{"product_id":"p-2","quantity":1,"inventory_remaining":2},
		{"product_id":"p-3","quantity":1,"inventory_remaining":0},
		{"product_id":"p-4","quantity":1},
		{"product_id":"p-5","quantity":1,"inventory_remaining":9}]}`)
	handleAll(t, h, order)
	got := map[string]registry.ProductInventoryLow{}
	for _, ev := range pub.sent {
		p := ev.Payload.(*registry.ProductInventoryLow)
		got[p.ProductID] = *p
		if ev.CausationID != order.ID || ev.CorrelationID != order.ID || ev.ID != inventory.AlertID(order.ID, p.ProductID) {
			t.Errorf("%s: envelope %+v", p.ProductID, ev)
		}
	}
	want := map[string]registry.ProductInventoryLow{
		"p-1": {ProductID: "p-1", SKU: "SKU-p-1", Name: "Tent p-1", InventoryQuantity: 2, LowStockThreshold: 5},
		"p-2": {ProductID: "p-2", SKU: "SKU-p-2", Name: "Tent p-2", InventoryQuantity: 2, LowStockThreshold: 3},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("alerts = %v, want %v", got, want)
	}
	// Every line about the event is logged with its context, which names it.
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	var sawUnknown bool
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		for _, k := range []string{"event_id", "event_type", "tenant_id", "consumer"} {
			if m[k] == nil || m[k] == "" {
				t.Errorf("log line without %s: %s", k, l)
			}
		}
		if m["product_id"] == "p-3" && m["event_id"] == order.ID {
			sawUnknown = true
		}
	}
	if !sawUnknown {
		t.Errorf("no log line about the item of the unknown product p-3:\n%s", logs)
	}
}

func TestInventoryErrorClasses(t *testing.T) {
	h, pub, _ := newInventoryHandler(t)
	if err := h.Handle(context.Background(), invEvent(t, "user.updated", 0, "", `{"user_id":"u-1"}`)); !handling.IsPermanent(err) {
		t.Errorf("an event the consumer does not handle: %v, want permanent", err)
	}
	handleAll(t, h,
		invProduct(t, "product.created", 0, "p-1", 1, 10, ""),
		invProduct(t, "product.created", 0, "p-2", 1, 10, ""),
	)
	both := func(minutes int) *registry.Event {
		return invEvent(t, "order.confirmed", minutes, "", `{"order_id":"o-1","customer_id":"c-1","customer_email":"a@example.com",
			"amount":10,"currency":"EUR","items":[{"product_id":"p-1","quantity":8,"inventory_remaining":2},
			{"product_id":"p-2","quantity":8,"inventory_remaining":1}]}`)
	}
	invalid := fmt.Errorf("refusing to publish: %w", registry.ErrInvalid)
	// One alert is invalid for good, the other fails for now: the event must be retried.
	pub.fail = func(ev publisher.Event) error {
		if ev.Data.(registry.ProductInventoryLow).ProductID == "p-1" {
			return invalid
		}
		return publisher.ErrConnectionLost
	}
	ev := both(1)
	if err := h.Handle(context.Background(), ev); err == nil || handling.IsPermanent(err) {
		t.Errorf("one permanent and one transient failure: %v, want transient", err)
	}
	// Only the invalid one left: nothing a retry can fix.
	pub.fail = func(ev publisher.Event) error {
		if ev.Data.(registry.ProductInventoryLow).ProductID == "p-1" {
			return invalid
		}
		return nil
	}
	if err := h.Handle(context.Background(), ev); !handling.IsPermanent(err) || !errors.Is(err, registry.ErrInvalid) {
		t.Errorf("an invalid derived event: %v, want permanent", err)
	}
	if len(pub.sent) != 1 || pub.sent[0].Payload.(*registry.ProductInventoryLow).ProductID != "p-2" {
		t.Errorf("sent %v, want p-2's alert alone", pub.sent)
	}
}
