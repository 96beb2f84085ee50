package handlers

import (
	"context"
	"fmt"

	"github.com/eventworker/eventworker/registry"
)

// ConsumerCache is the cache consumer of registry.yaml.
const ConsumerCache = "cache"

// CacheWriter refreshes and invalidates the caches the Python services read.
type CacheWriter interface {
	RefreshProduct(ctx context.Context, tenantID, productID string, version int64, productJSON []byte) (bool, error)
	DropUser(ctx context.Context, tenantID, userID string) error
	PurgeTenant(ctx context.Context, tenantID string) (int64, error)
}

// Cache keeps the shared caches current: product entries and list generations on product
// changes, a user's entry on user.updated, and everything of a tenant on tenant.suspended.
type Cache struct {
	cache CacheWriter
}

// NewCache returns the cache handler.
func NewCache(c CacheWriter) *Cache { return &Cache{cache: c} }

// Consumer implements Handler.
func (h *Cache) Consumer() string { return ConsumerCache }

// Handle applies the event to the cache. Every write or invalidation error is returned, so an
// event is acknowledged only once its invalidation happened.
func (h *Cache) Handle(ctx context.Context, ev *registry.Event) error {
	var err error
	switch p := ev.Payload.(type) {
	case *registry.ProductCreated:
		err = h.refresh(ctx, ev, &p.Product)
	case *registry.ProductUpdated:
		err = h.refresh(ctx, ev, &p.Product)
	case *registry.UserUpdated:
		err = h.cache.DropUser(ctx, ev.TenantID, p.UserID)
	case *registry.TenantSuspended:
		if err := sameTenant(ev, p.TenantID); err != nil {
			return err
		}
		_, err = h.cache.PurgeTenant(ctx, ev.TenantID)
	default:
		return Permanent(fmt.Errorf("%s v%d: the cache consumer does not handle it (payload %T)", ev.Type, ev.Version, ev.Payload))
	}
	if err != nil {
		return fmt.Errorf("%s: %w", ev.Type, err)
	}
	return nil
}

// refresh writes the product's data as it arrived, so the Python readers see the producer's
// JSON, guarded by its version (product.created without one is version 1).
func (h *Cache) refresh(ctx context.Context, ev *registry.Event, p *registry.Product) error {
	version := max(p.Version, 1)
	_, err := h.cache.RefreshProduct(ctx, ev.TenantID, p.ProductID, version, ev.Data)
	return err
}
