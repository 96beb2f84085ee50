package handlers

import (
	"context"
	"fmt"
	"time"

	"github.com/eventworker/eventworker/internal/analytics"
	"github.com/eventworker/eventworker/internal/worker/handling"
	"github.com/eventworker/eventworker/registry"
)

// ConsumerAnalytics is the analytics consumer of registry.yaml.
const ConsumerAnalytics = "analytics"

// counter counts an event's increments once per event ID.
type counter interface {
	Count(ctx context.Context, tenantID, eventID string, at time.Time, incr map[string]int64) (bool, error)
}

// analyticsConsumer keeps per-tenant daily counters: orders created, confirmed and cancelled, the
// revenue of confirmed orders per currency, and users registered.
type analyticsConsumer struct {
	counter counter
}

// newAnalytics returns the analytics handler.
func newAnalytics(c counter) *analyticsConsumer { return &analyticsConsumer{counter: c} }

// Consumer implements handling.Handler.
func (h *analyticsConsumer) Consumer() string { return ConsumerAnalytics }

// EventTypes implements handling.Handler: the events Handle dispatches on.
func (h *analyticsConsumer) EventTypes() []string {
	return handling.TypesOf(&registry.OrderCreated{}, &registry.OrderConfirmed{}, &registry.OrderCancelled{}, &registry.UserRegistered{})
}

// RecordsInEffect implements handling.InEffectRecorder: the counting script records the event's ID.
func (h *analyticsConsumer) RecordsInEffect() bool { return true }

// Handle counts the event on the UTC day it occurred, once per event.
func (h *analyticsConsumer) Handle(ctx context.Context, ev *registry.Event) error {
	incr := map[string]int64{}
	switch p := ev.Payload.(type) {
	case *registry.OrderCreated:
		incr[analytics.OrdersCreated] = 1
	case *registry.OrderConfirmed:
		incr[analytics.OrdersConfirmed] = 1
		minor, err := p.Amount.Minor(p.Currency)
		if err != nil {
			// Only an amount beyond 64-bit minor units gets here; retrying cannot fix it.
			return handling.Permanent(fmt.Errorf("%s: revenue %s %s: %w", ev.Type, p.Amount, p.Currency, err))
		}
		incr[analytics.RevenuePrefix+p.Currency] = minor
	case *registry.OrderCancelled:
		incr[analytics.OrdersCancelled] = 1
	case *registry.UserRegistered:
		incr[analytics.UsersRegistered] = 1
	default:
		return handling.Permanent(fmt.Errorf("%s v%d: the analytics consumer does not handle it (payload %T)", ev.Type, ev.Version, ev.Payload))
	}
	counted, err := h.counter.Count(ctx, ev.TenantID, ev.ID, ev.OccurredAt, incr)
	switch {
	case err != nil:
		return storeError(ev, err)
	case !counted:
		return handling.ErrDuplicate
	}
	return nil
}
