package publisher

import (
	"context"

	"github.com/eventworker/eventworker/registry"
)

// typedCase is one event type of the contract: a valid payload and the typed helper that sends
// it.
type typedCase struct {
	eventType string
	tenantID  string
	payload   registry.Payload
	helper    func(p *Publisher, ctx context.Context, tenantID string) (string, error)
}

func int64p(v int64) *int64 { return &v }

// typedCases covers every event type of the registry with its typed helper.
func typedCases() []typedCase {
	oc := registry.OrderCreated{
		OrderID: "ord-1", CustomerID: "cus-1", CustomerEmail: "alice@example.com", CustomerName: "Alice",
		AmountMinor: 3998, Currency: "USD",
		Items: []registry.OrderCreatedItem{{ProductID: "prod-7", Name: "Blue mug", Quantity: 2, UnitPriceMinor: 1999}},
	}
	opp := registry.OrderPendingPayment{
		OrderID: "ord-1", CustomerID: "cus-1", CustomerEmail: "alice@example.com", Amount: "39.98", Currency: "USD",
		PaymentURL: "https://pay.example.com/ord-1",
	}
	ocf := registry.OrderConfirmed{
		OrderID: "ord-1", CustomerID: "cus-1", CustomerEmail: "alice@example.com", Amount: "39.98", Currency: "USD",
		Items: []registry.OrderConfirmedItem{{ProductID: "prod-7", Quantity: 2, InventoryRemaining: int64p(3)}},
	}
	occ := registry.OrderCancelled{OrderID: "ord-1", CustomerID: "cus-1", CustomerEmail: "alice@example.com", Reason: "changed mind"}
	prod := registry.Product{
		ProductID: "prod-7", SKU: "MUG-BLUE", Name: "Blue mug", Price: "19.99", Currency: "USD",
		InventoryQuantity: 10, LowStockThreshold: int64p(5), Version: 1,
	}
	pc := registry.ProductCreated{Product: prod}
	prod.Version = 2
	pu := registry.ProductUpdated{Product: prod}
	pil := registry.ProductInventoryLow{ProductID: "prod-7", SKU: "MUG-BLUE", Name: "Blue mug", InventoryQuantity: 3, LowStockThreshold: 5}
	ur := registry.UserRegistered{UserID: "usr-1", Email: "bob@example.com", Name: "Bob", Locale: "en-GB"}
	uu := registry.UserUpdated{UserID: "usr-1", Email: "bob@example.org", ChangedFields: []string{"email"}}
	tp := registry.TenantProvisioned{TenantID: "acme", Name: "Acme", OwnerEmail: "owner@acme.example", Plan: "pro", Locale: "de"}
	ts := registry.TenantSuspended{TenantID: "acme", Reason: "unpaid"}
	tr := registry.TenantReactivated{TenantID: "acme"}
	return []typedCase{
		{"order.created", "acme", oc, func(p *Publisher, ctx context.Context, t string) (string, error) { return p.OrderCreated(ctx, t, oc) }},
		{"order.pending_payment", "acme", opp, func(p *Publisher, ctx context.Context, t string) (string, error) {
			return p.OrderPendingPayment(ctx, t, opp)
		}},
		{"order.confirmed", "acme", ocf, func(p *Publisher, ctx context.Context, t string) (string, error) {
			return p.OrderConfirmed(ctx, t, ocf)
		}},
		{"order.cancelled", "acme", occ, func(p *Publisher, ctx context.Context, t string) (string, error) {
			return p.OrderCancelled(ctx, t, occ)
		}},
		{"product.created", "acme", pc, func(p *Publisher, ctx context.Context, t string) (string, error) { return p.ProductCreated(ctx, t, pc) }},
		{"product.updated", "acme", pu, func(p *Publisher, ctx context.Context, t string) (string, error) { return p.ProductUpdated(ctx, t, pu) }},
		{"product.inventory_low", "acme", pil, func(p *Publisher, ctx context.Context, t string) (string, error) {
			return p.ProductInventoryLow(ctx, t, pil)
		}},
		{"user.registered", "acme", ur, func(p *Publisher, ctx context.Context, t string) (string, error) { return p.UserRegistered(ctx, t, ur) }},
		{"user.updated", "acme", uu, func(p *Publisher, ctx context.Context, t string) (string, error) { return p.UserUpdated(ctx, t, uu) }},
		{"tenant.provisioned", "acme", tp, func(p *Publisher, ctx context.Context, t string) (string, error) {
			return p.TenantProvisioned(ctx, t, tp)
		}},
		{"tenant.suspended", "acme", ts, func(p *Publisher, ctx context.Context, t string) (string, error) {
			return p.TenantSuspended(ctx, t, ts)
		}},
		{"tenant.reactivated", "acme", tr, func(p *Publisher, ctx context.Context, t string) (string, error) {
			return p.TenantReactivated(ctx, t, tr)
		}},
	}
}
