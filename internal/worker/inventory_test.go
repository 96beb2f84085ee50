package worker

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/eventworker/eventworker/handlers"
	"github.com/eventworker/eventworker/internal/broker"
	"github.com/eventworker/eventworker/internal/idempotency"
	"github.com/eventworker/eventworker/internal/inventory"
	"github.com/eventworker/eventworker/internal/metrics"
	"github.com/eventworker/eventworker/publisher"
	"github.com/eventworker/eventworker/registry"
)

const invWait = 30 * time.Second

// invStart runs the worker as env.start does, with the real inventory handler, publishing
// through a real publisher on the test's private exchange, in place of the recorder's.
func invStart(e *env) {
	e.t.Helper()
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewJSONHandler(testWriter{e.t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	ctx, cancel := context.WithTimeout(context.Background(), invWait)
	defer cancel()
	pub, err := publisher.New(ctx, publisher.Config{URL: e.cfg.AMQPURL, Registry: e.reg, Producer: "eventworker", Logger: log})
	if err != nil {
		e.t.Fatal(err)
	}
	// Registered after newEnv's cleanup, so it runs first: the worker stops, then the publisher.
	e.t.Cleanup(func() {
		if e.cancel != nil {
			e.cancel()
			<-e.done
			e.cancel = nil
		}
		_ = pub.Close()
	})
	h := builtIn(e.t, handlers.ConsumerInventory, handlers.Deps{
		Inventory: inventory.New(e.rdb, e.cfg.CachePrefix), Publisher: pub, Logger: log,
	})
	hs := e.rec.handlers(e.reg)
	replaced := false
	for i := range hs {
		if hs[i].Consumer() == handlers.ConsumerInventory {
			hs[i], replaced = h, true
		}
	}
	if !replaced {
		e.t.Fatalf("the registry has no %s consumer", handlers.ConsumerInventory)
	}
	e.metrics = metrics.New(metrics.NewRegistry())
	confirmer := broker.NewConfirmer(e.cfg.AMQPURL, "eventworker-test", 5*time.Second, nil)
	w, err := New(Deps{
		Config: workerConfig(e.cfg), Registry: e.reg, Handlers: hs,
		Dedupe:    idempotency.New(e.rdb, e.cfg.CachePrefix, e.cfg.IdempotencyTTL, e.cfg.LeaseTTL),
		Confirmer: confirmer, Metrics: e.metrics, Logger: log,
	})
	if err != nil {
		_ = confirmer.Close()
		e.t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	e.worker, e.cancel, e.done = w, stop, make(chan error, 1)
	go func() { e.done <- w.Run(runCtx); _ = confirmer.Close() }()
	e.waitFor("worker ready", invWait, func() bool { return w.Ready(context.Background()) == nil })
}

// invBody is a contract event for tenant acme.
func invBody(t *testing.T, typ, id string, minutes int, correlationID string, data map[string]any) []byte {
	t.Helper()
	env := map[string]any{
		"event_id": id, "event_type": typ, "event_version": 1,
		"occurred_at": time.Date(2026, 11, 26, 10, minutes, 0, 0, time.UTC).Format(time.RFC3339),
		"tenant_id":   "acme", "producer": "catalog", "data": data,
	}
	if correlationID != "" {
		env["correlation_id"] = correlationID
	}
	b, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func invProductData(id string, version, qty int) map[string]any {
	return map[string]any{
		"product_id": id, "sku": "SKU-" + id, "name": "Trail tent", "price": 199.5, "currency": "EUR",
		"inventory_quantity": qty, "version": version,
	}
}

func invOrderData(items ...map[string]any) map[string]any {
	return map[string]any{
		"order_id": "ord-1", "customer_id": "cus-1", "customer_email": "alice@example.com",
		"amount": 10, "currency": "EUR", "items": items,
	}
}

func TestInventoryDerivesOneLowStockEventPerFall(t *testing.T) {
	e := newEnv(t, nil)
	invStart(e)
	// A queue of our own sees what the inventory consumer publishes on the private exchange.
	ch, err := e.conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err == nil {
		err = ch.QueueBind(q.Name, "product.inventory_low", e.reg.Exchange(), false, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	outcome := func(o string) int {
		return int(testutil.ToFloat64(e.metrics.Outcomes.WithLabelValues(handlers.ConsumerInventory, o)))
	}
	waitOK := func(what string, n int) {
		t.Helper()
		e.waitFor(what, invWait, func() bool { return outcome(metrics.OutcomeOK) >= n })
	}

	const product = "p-tent:1"
	v1, fall := uuid.NewString(), uuid.NewString()
	e.publish("product.updated", invBody(t, "product.updated", v1, 0, "", invProductData(product, 1, 10)), nil)
	waitOK("v1 handled", 1)

	// The fall (threshold absent: 5), delivered twice with the same event_id.
	fallBody := invBody(t, "product.updated", fall, 1, "restock-flow-7", invProductData(product, 2, 3))
	e.publish("product.updated", fallBody, nil)
	e.publish("product.updated", fallBody, nil)
	e.waitFor("the fall and its duplicate handled", invWait, func() bool {
		return outcome(metrics.OutcomeOK) >= 2 && outcome(metrics.OutcomeDuplicate) >= 1
	})
	// Once more, later: the observation on the product's timeline is the event's record, so the
	// handler finds it and publishes nothing.
	e.publish("product.updated", fallBody, nil)
	e.waitFor("the third delivery found a duplicate", invWait, func() bool { return outcome(metrics.OutcomeDuplicate) >= 2 })

	// Still low after an order: no new alert. The unknown product's item is skipped.
	order1 := uuid.NewString()
	e.publish("order.confirmed", invBody(t, "order.confirmed", order1, 2, "", invOrderData(
		map[string]any{"product_id": product, "quantity": 2, "inventory_remaining": 1},
		map[string]any{"product_id": "p-unknown", "quantity": 1, "inventory_remaining": 0},
	)), nil)
	waitOK("the first order handled", 3)

	// Restocked, then an order takes the stock down again: a second fall.
	e.publish("product.updated", invBody(t, "product.updated", uuid.NewString(), 3, "", invProductData(product, 3, 40)), nil)
	waitOK("the restock handled", 4)
	order2 := uuid.NewString()
	e.publish("order.confirmed", invBody(t, "order.confirmed", order2, 4, "", invOrderData(
		map[string]any{"product_id": product, "quantity": 38, "inventory_remaining": 2},
	)), nil)
	waitOK("the second order handled", 5)

	// Every source event is handled and acknowledged, and each derived event was confirmed by
	// the broker before its handler returned, so the test queue holds all there will be.
	work := broker.Names{Prefix: e.cfg.QueuePrefix, Consumer: handlers.ConsumerInventory}.Work()
	e.waitFor("the inventory queue to drain", invWait, func() bool { return e.queueDepth(work) == 0 })
	if n := outcome(metrics.OutcomeDeadLettered); n != 0 {
		t.Errorf("%d inventory events were dead-lettered", n)
	}
	var got []*registry.Event
	for {
		d, ok, err := ch.Get(q.Name, true)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		ev, err := e.reg.Validate("product.inventory_low", d.Body)
		if err != nil {
			t.Fatalf("derived event does not satisfy the contract: %v\n%s", err, d.Body)
		}
		if d.RoutingKey != "product.inventory_low" || d.CorrelationId != ev.CorrelationID || d.MessageId != ev.ID {
			t.Errorf("AMQP properties: routing key %q, correlation %q, message id %q", d.RoutingKey, d.CorrelationId, d.MessageId)
		}
		got = append(got, ev)
	}
	if len(got) != 2 {
		t.Fatalf("received %d product.inventory_low events, want 2 (one per fall)", len(got))
	}
	want := []struct {
		cause, correlation string
		qty                int64
	}{{fall, "restock-flow-7", 3}, {order2, order2, 2}}
	for i, w := range want {
		ev := got[i]
		p, _ := ev.Payload.(*registry.ProductInventoryLow)
		if ev.CausationID != w.cause || ev.CorrelationID != w.correlation || ev.ID != inventory.AlertID(w.cause, product) ||
			ev.TenantID != "acme" || p == nil || p.ProductID != product || p.SKU != "SKU-"+product ||
			p.InventoryQuantity != w.qty || p.LowStockThreshold != 5 {
			t.Errorf("event %d: %+v with data %+v; want causation %s, correlation %s, quantity %d", i, ev, p, w.cause, w.correlation, w.qty)
		}
	}
}
