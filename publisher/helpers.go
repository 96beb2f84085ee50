package publisher

import (
	"context"

	"github.com/eventworker/eventworker/registry"
)

// The typed helpers publish one event of each type of the contract, in the latest version, and
// return its event_id. They are PublishPayload with the payload's type fixed at compile time.

// OrderCreated publishes order.created.
func (p *Publisher) OrderCreated(ctx context.Context, tenantID string, d registry.OrderCreated) (string, error) {
	return p.PublishPayload(ctx, tenantID, d)
}

// OrderPendingPayment publishes order.pending_payment.
func (p *Publisher) OrderPendingPayment(ctx context.Context, tenantID string, d registry.OrderPendingPayment) (string, error) {
	return p.PublishPayload(ctx, tenantID, d)
}

// OrderConfirmed publishes order.confirmed.
func (p *Publisher) OrderConfirmed(ctx context.Context, tenantID string, d registry.OrderConfirmed) (string, error) {
	return p.PublishPayload(ctx, tenantID, d)
}

// OrderCancelled publishes order.cancelled.
func (p *Publisher) OrderCancelled(ctx context.Context, tenantID string, d registry.OrderCancelled) (string, error) {
	return p.PublishPayload(ctx, tenantID, d)
}

// ProductCreated publishes product.created. A zero d.Version is sent as 1, the contract's
// default for a new product (registry.Product marshals a zero version, which the schema
// rejects).
func (p *Publisher) ProductCreated(ctx context.Context, tenantID string, d registry.ProductCreated) (string, error) {
	if d.Version == 0 {
		d.Version = 1
	}
	return p.PublishPayload(ctx, tenantID, d)
}

// ProductUpdated publishes product.updated.
func (p *Publisher) ProductUpdated(ctx context.Context, tenantID string, d registry.ProductUpdated) (string, error) {
	return p.PublishPayload(ctx, tenantID, d)
}

// ProductInventoryLow publishes product.inventory_low.
func (p *Publisher) ProductInventoryLow(ctx context.Context, tenantID string, d registry.ProductInventoryLow) (string, error) {
	return p.PublishPayload(ctx, tenantID, d)
}

// UserRegistered publishes user.registered.
func (p *Publisher) UserRegistered(ctx context.Context, tenantID string, d registry.UserRegistered) (string, error) {
	return p.PublishPayload(ctx, tenantID, d)
}

// UserUpdated publishes user.updated.
func (p *Publisher) UserUpdated(ctx context.Context, tenantID string, d registry.UserUpdated) (string, error) {
	return p.PublishPayload(ctx, tenantID, d)
}

// TenantProvisioned publishes tenant.provisioned; d.TenantID must equal tenantID.
func (p *Publisher) TenantProvisioned(ctx context.Context, tenantID string, d registry.TenantProvisioned) (string, error) {
	return p.PublishPayload(ctx, tenantID, d)
}

// TenantSuspended publishes tenant.suspended; d.TenantID must equal tenantID.
func (p *Publisher) TenantSuspended(ctx context.Context, tenantID string, d registry.TenantSuspended) (string, error) {
	return p.PublishPayload(ctx, tenantID, d)
}

// TenantReactivated publishes tenant.reactivated; d.TenantID must equal tenantID.
func (p *Publisher) TenantReactivated(ctx context.Context, tenantID string, d registry.TenantReactivated) (string, error) {
	return p.PublishPayload(ctx, tenantID, d)
}
