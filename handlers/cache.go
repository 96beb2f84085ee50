package handlers

import (
	"context"
	"fmt"

	"github.com/eventworker/eventworker/cache"
	"github.com/eventworker/eventworker/internal/worker/handling"
	"github.com/eventworker/eventworker/registry"
)

// ConsumerCache is the cache consumer of registry.yaml.
const ConsumerCache = "cache"

// cacheWriter refreshes and invalidates the caches the Python services read, each write at
// most once per event given its cache.Once; *cache.Cache is one.
type cacheWriter interface {
	RefreshProduct(ctx context.Context, once cache.Once, tenantID, productID string, version int64, productJSON []byte) (cache.Outcome, error)
	DropUser(ctx context.Context, once cache.Once, tenantID, userID string) (cache.Outcome, error)
	PurgeTenant(ctx context.Context, once cache.Once, tenantID string) (int64, cache.Outcome, error)
}

// cacheConsumer keeps the shared caches current: product entries and list generations on product
// changes, a user's entry on user.updated, and everything of a tenant on tenant.suspended.
type cacheConsumer struct {
	cache cacheWriter
}

// newCache returns the cache handler.
func newCache(c cacheWriter) *cacheConsumer { return &cacheConsumer{cache: c} }

// Consumer implements handling.Handler.
func (h *cacheConsumer) Consumer() string { return ConsumerCache }

// EventTypes implements handling.Handler: the events Handle dispatches on.
func (h *cacheConsumer) EventTypes() []string {
	return handling.TypesOf(&registry.ProductCreated{}, &registry.ProductUpdated{}, &registry.UserUpdated{}, &registry.TenantSuspended{})
}

// RecordsInEffect implements handling.InEffectRecorder: every write records the event in its script.
func (h *cacheConsumer) RecordsInEffect() bool { return true }

// Handle applies the event to the cache, once per event. Every write or invalidation error is
// returned, so an event is acknowledged only once its invalidation happened.
func (h *cacheConsumer) Handle(ctx context.Context, ev *registry.Event) error {
	once := cache.Once{Consumer: ConsumerCache, EventID: ev.ID}
	var (
		out cache.Outcome
		err error
	)
	switch p := ev.Payload.(type) {
	case *registry.ProductCreated:
		out, err = h.refresh(ctx, once, ev, &p.Product)
	case *registry.ProductUpdated:
		out, err = h.refresh(ctx, once, ev, &p.Product)
	case *registry.UserUpdated:
		out, err = h.cache.DropUser(ctx, once, ev.TenantID, p.UserID)
	case *registry.TenantSuspended:
		if err := sameTenant(ev, p.TenantID); err != nil {
			return err
		}
		_, out, err = h.cache.PurgeTenant(ctx, once, ev.TenantID)
	default:
		return handling.Permanent(fmt.Errorf("%s v%d: the cache consumer does not handle it (payload %T)", ev.Type, ev.Version, ev.Payload))
	}
	switch {
	case err != nil:
		return storeError(ev, err)
	case out == cache.Duplicate:
		return handling.ErrDuplicate
	}
	return nil
}

// refresh writes the product's data as it arrived, so the Python readers see the producer's
// JSON, guarded by its version (product.created without one is version 1).
func (h *cacheConsumer) refresh(ctx context.Context, once cache.Once, ev *registry.Event, p *registry.Product) (cache.Outcome, error) {
	return h.cache.RefreshProduct(ctx, once, ev.TenantID, p.ProductID, max(p.Version, 1), ev.Data)
}
