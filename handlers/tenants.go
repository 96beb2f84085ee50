package handlers

import (
	"context"
	"fmt"
	"time"

	"github.com/eventworker/eventworker/internal/tenants"
	"github.com/eventworker/eventworker/registry"
)

// ConsumerTenants is the tenants consumer of registry.yaml.
const ConsumerTenants = "tenants"

// TenantWriter keeps tenant profiles and suspension flags, ordered by the events' times.
type TenantWriter interface {
	SaveProfile(ctx context.Context, p tenants.Profile, occurredAt time.Time) (bool, error)
	SetSuspended(ctx context.Context, tenantID string, suspended bool, occurredAt time.Time) (bool, error)
}

// Tenants keeps each tenant's profile (tenant.provisioned) and suspension flag
// (tenant.suspended, tenant.reactivated), which the notifications consumer reads.
type Tenants struct {
	store TenantWriter
}

// NewTenants returns the tenants handler.
func NewTenants(store TenantWriter) *Tenants { return &Tenants{store: store} }

// Consumer implements Handler.
func (h *Tenants) Consumer() string { return ConsumerTenants }

// Handle stores the profile or flag unless a later event already did: redelivered or reordered
// events never bring back an old profile or undo a later suspension or reactivation.
func (h *Tenants) Handle(ctx context.Context, ev *registry.Event) error {
	var err error
	switch p := ev.Payload.(type) {
	case *registry.TenantProvisioned:
		if err := sameTenant(ev, p.TenantID); err != nil {
			return err
		}
		_, err = h.store.SaveProfile(ctx, tenants.Profile{
			TenantID: p.TenantID, Name: p.Name, OwnerEmail: p.OwnerEmail, SupportEmail: p.SupportEmail,
			Locale: p.Locale, Plan: p.Plan, Timezone: p.Timezone,
		}, ev.OccurredAt)
	case *registry.TenantSuspended:
		if err := sameTenant(ev, p.TenantID); err != nil {
			return err
		}
		_, err = h.store.SetSuspended(ctx, p.TenantID, true, ev.OccurredAt)
	case *registry.TenantReactivated:
		if err := sameTenant(ev, p.TenantID); err != nil {
			return err
		}
		_, err = h.store.SetSuspended(ctx, p.TenantID, false, ev.OccurredAt)
	default:
		return Permanent(fmt.Errorf("%s v%d: the tenants consumer does not handle it (payload %T)", ev.Type, ev.Version, ev.Payload))
	}
	if err != nil {
		return fmt.Errorf("%s: %w", ev.Type, err)
	}
	return nil
}
