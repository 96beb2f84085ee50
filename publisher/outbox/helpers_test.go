package outbox

import (
	"context"
	"testing"

	"github.com/eventworker/eventworker/publisher"
	"github.com/eventworker/eventworker/registry"
)

func int64p(v int64) *int64 { return &v }

// TestTypedHelpers: every typed helper enqueues a valid event of its type in the transaction.
func TestTypedHelpers(t *testing.T) {
	t.Parallel()
	db := openSQL(t, outboxDB(t))
	enq := NewEnqueuer(publisher.Config{Producer: "shop"})
	ctx := context.Background()
	prod := registry.Product{
		ProductID: "prod-7", SKU: "MUG-BLUE", Name: "Blue mug", Price: "19.99", Currency: "USD",
		InventoryQuantity: 10, LowStockThreshold: int64p(5),
	}
	updated := prod
	updated.Version = 2
	type helper func(tx Execer) (string, error)
	tests := []struct {
		eventType string
		enqueue   helper
	}{
		{"order.created", func(tx Execer) (string, error) { return enq.OrderCreated(ctx, tx, "acme", order("o-1")) }},
		{"order.pending_payment", func(tx Execer) (string, error) {
			return enq.OrderPendingPayment(ctx, tx, "acme", registry.OrderPendingPayment{OrderID: "o-1", CustomerID: "c-1",
				CustomerEmail: "a@example.com", Amount: "39.98", Currency: "USD", PaymentURL: "https://pay.example.com/o-1"})
		}},
		{"order.confirmed", func(tx Execer) (string, error) {
			return enq.OrderConfirmed(ctx, tx, "acme", registry.OrderConfirmed{OrderID: "o-1", CustomerID: "c-1",
				CustomerEmail: "a@example.com", Amount: "39.98", Currency: "USD",
				Items: []registry.OrderConfirmedItem{{ProductID: "prod-7", Quantity: 2, InventoryRemaining: int64p(3)}}})
		}},
		{"order.cancelled", func(tx Execer) (string, error) {
			return enq.OrderCancelled(ctx, tx, "acme", registry.OrderCancelled{OrderID: "o-1", CustomerID: "c-1", CustomerEmail: "a@example.com", Reason: "changed mind"})
		}},
		// A zero product version is enqueued as 1.
		{"product.created", func(tx Execer) (string, error) {
			return enq.ProductCreated(ctx, tx, "acme", registry.ProductCreated{Product: prod})
		}},
		{"product.updated", func(tx Execer) (string, error) {
			return enq.ProductUpdated(ctx, tx, "acme", registry.ProductUpdated{Product: updated})
		}},
		{"product.inventory_low", func(tx Execer) (string, error) {
			return enq.ProductInventoryLow(ctx, tx, "acme", registry.ProductInventoryLow{ProductID: "prod-7", SKU: "MUG-BLUE", Name: "Blue mug", InventoryQuantity: 3, LowStockThreshold: 5})
		}},
		{"user.registered", func(tx Execer) (string, error) {
			return enq.UserRegistered(ctx, tx, "acme", registry.UserRegistered{UserID: "u-1", Email: "b@example.com", Name: "Bob"})
		}},
		{"user.updated", func(tx Execer) (string, error) {
			return enq.UserUpdated(ctx, tx, "acme", registry.UserUpdated{UserID: "u-1", Email: "b@example.org", ChangedFields: []string{"email"}})
		}},
		{"tenant.provisioned", func(tx Execer) (string, error) {
			return enq.TenantProvisioned(ctx, tx, "acme", registry.TenantProvisioned{TenantID: "acme", Name: "Acme", OwnerEmail: "owner@acme.example", Plan: "pro", Locale: "de"})
		}},
		{"tenant.suspended", func(tx Execer) (string, error) {
			return enq.TenantSuspended(ctx, tx, "acme", registry.TenantSuspended{TenantID: "acme", Reason: "unpaid"})
		}},
		{"tenant.reactivated", func(tx Execer) (string, error) {
			return enq.TenantReactivated(ctx, tx, "acme", registry.TenantReactivated{TenantID: "acme"})
		}},
	}
	for _, tt := range tests {
		tx, err := db.Begin()
		if err != nil {
			t.Fatal(err)
		}
		id, err := tt.enqueue(SQL(tx))
		if err != nil {
			_ = tx.Rollback()
			t.Errorf("%s: %v", tt.eventType, err)
			continue
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		var typ string
		if err := db.QueryRow("SELECT event_type FROM "+Table+" WHERE event_id = $1", id).Scan(&typ); err != nil {
			t.Errorf("%s: row of event %s: %v", tt.eventType, id, err)
			continue
		}
		if typ != tt.eventType {
			t.Errorf("helper for %s wrote a %s event", tt.eventType, typ)
		}
	}
	if n := countRows(t, db); n != len(tests) {
		t.Errorf("%d rows, want %d", n, len(tests))
	}
}
