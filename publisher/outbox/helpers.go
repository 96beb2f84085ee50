package outbox

import (
	"context"

	"github.com/eventworker/eventworker/registry"
)

// The typed helpers enqueue one event of each type of the contract, in the latest version, in
// tx, and return its event_id: publisher's typed helpers for the outbox, EnqueuePayload with the
// payload's type fixed at compile time.

// OrderCreated enqueues order.created.
func (e *Enqueuer) OrderCreated(ctx context.Context, tx Execer, tenantID string, d registry.OrderCreated) (string, error) {
	return e.EnqueuePayload(ctx, tx, tenantID, d)
}

// OrderPendingPayment enqueues order.pending_payment.
func (e *Enqueuer) OrderPendingPayment(ctx context.Context, tx Execer, tenantID string, d registry.OrderPendingPayment) (string, error) {
	return e.EnqueuePayload(ctx, tx, tenantID, d)
}

// OrderConfirmed enqueues order.confirmed.
func (e *Enqueuer) OrderConfirmed(ctx context.Context, tx Execer, tenantID string, d registry.OrderConfirmed) (string, error) {
	return e.EnqueuePayload(ctx, tx, tenantID, d)
}

// OrderCancelled enqueues order.cancelled.
func (e *Enqueuer) OrderCancelled(ctx context.Context, tx Execer, tenantID string, d registry.OrderCancelled) (string, error) {
	return e.EnqueuePayload(ctx, tx, tenantID, d)
}

// ProductCreated enqueues product.created. A zero d.Version is enqueued as 1, the contract's
// default for a new product (registry.Product marshals a zero version, which the schema
// rejects).
func (e *Enqueuer) ProductCreated(ctx context.Context, tx Execer, tenantID string, d registry.ProductCreated) (string, error) {
	if d.Version == 0 {
		d.Version = 1
	}
	return e.EnqueuePayload(ctx, tx, tenantID, d)
}

// ProductUpdated enqueues product.updated.
func (e *Enqueuer) ProductUpdated(ctx context.Context, tx Execer, tenantID string, d registry.ProductUpdated) (string, error) {
	return e.EnqueuePayload(ctx, tx, tenantID, d)
}

// ProductInventoryLow enqueues product.inventory_low.
func (e *Enqueuer) ProductInventoryLow(ctx context.Context, tx Execer, tenantID string, d registry.ProductInventoryLow) (string, error) {
	return e.EnqueuePayload(ctx, tx, tenantID, d)
}

// UserRegistered enqueues user.registered.
func (e *Enqueuer) UserRegistered(ctx context.Context, tx Execer, tenantID string, d registry.UserRegistered) (string, error) {
	return e.EnqueuePayload(ctx, tx, tenantID, d)
}

// UserUpdated enqueues user.updated.
func (e *Enqueuer) UserUpdated(ctx context.Context, tx Execer, tenantID string, d registry.UserUpdated) (string, error) {
	return e.EnqueuePayload(ctx, tx, tenantID, d)
}

// TenantProvisioned enqueues tenant.provisioned; d.TenantID must equal tenantID.
func (e *Enqueuer) TenantProvisioned(ctx context.Context, tx Execer, tenantID string, d registry.TenantProvisioned) (string, error) {
	return e.EnqueuePayload(ctx, tx, tenantID, d)
}

// TenantSuspended enqueues tenant.suspended; d.TenantID must equal tenantID.
func (e *Enqueuer) TenantSuspended(ctx context.Context, tx Execer, tenantID string, d registry.TenantSuspended) (string, error) {
	return e.EnqueuePayload(ctx, tx, tenantID, d)
}

// TenantReactivated enqueues tenant.reactivated; d.TenantID must equal tenantID.
func (e *Enqueuer) TenantReactivated(ctx context.Context, tx Execer, tenantID string, d registry.TenantReactivated) (string, error) {
	return e.EnqueuePayload(ctx, tx, tenantID, d)
}
