package handlers

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/eventworker/eventworker/internal/idempotency"
	"github.com/eventworker/eventworker/internal/tenants"
	"github.com/eventworker/eventworker/internal/worker/handling"
	"github.com/eventworker/eventworker/registry"
)

// ConsumerTenants is the tenants consumer of registry.yaml.
const ConsumerTenants = "tenants"

// tenantWriter keeps tenant profiles and suspension flags, ordered by the events' times, each
// write at most once per event given its Mark; *tenants.Store is one.
type tenantWriter interface {
	SaveProfile(ctx context.Context, m idempotency.Mark, p tenants.Profile, occurredAt time.Time) (tenants.Result, error)
	SetSuspended(ctx context.Context, m idempotency.Mark, tenantID string, suspended bool, occurredAt time.Time) (tenants.Result, error)
}

// tenantsConsumer keeps each tenant's profile (tenant.provisioned) and suspension flag
// (tenant.suspended, tenant.reactivated), which the notifications consumer reads.
type tenantsConsumer struct {
	store tenantWriter
}

// newTenants returns the tenants handler.
func newTenants(store tenantWriter) *tenantsConsumer { return &tenantsConsumer{store: store} }

// Consumer implements handling.Handler.
func (h *tenantsConsumer) Consumer() string { return ConsumerTenants }

// EventTypes implements handling.Handler: the events Handle dispatches on.
func (h *tenantsConsumer) EventTypes() []string {
	return handling.TypesOf(&registry.TenantProvisioned{}, &registry.TenantSuspended{}, &registry.TenantReactivated{})
}

// RecordsInEffect implements handling.InEffectRecorder: every write records the event in its script.
func (h *tenantsConsumer) RecordsInEffect() bool { return true }

// Handle stores the profile or flag unless a later event already did, once per event:
// redelivered or reordered events never bring back an old profile or undo a later suspension
// or reactivation.
func (h *tenantsConsumer) Handle(ctx context.Context, ev *registry.Event) error {
	m := idempotency.Mark{Consumer: ConsumerTenants, EventID: ev.ID}
	var (
		res tenants.Result
		err error
	)
	switch p := ev.Payload.(type) {
	case *registry.TenantProvisioned:
		if err := sameTenant(ev, p.TenantID); err != nil {
			return err
		}
		res, err = h.store.SaveProfile(ctx, m, tenants.Profile{
			TenantID: p.TenantID, Name: p.Name, OwnerEmail: p.OwnerEmail, SupportEmail: p.SupportEmail,
			Locale: p.Locale, Plan: p.Plan, Timezone: p.Timezone,
			LogoURL: httpsURL(p.LogoURL), WebsiteURL: httpsURL(p.WebsiteURL), LegalNotice: legalNotice(p.LegalNotice),
		}, ev.OccurredAt)
	case *registry.TenantSuspended:
		if err := sameTenant(ev, p.TenantID); err != nil {
			return err
		}
		res, err = h.store.SetSuspended(ctx, m, p.TenantID, true, ev.OccurredAt)
	case *registry.TenantReactivated:
		if err := sameTenant(ev, p.TenantID); err != nil {
			return err
		}
		res, err = h.store.SetSuspended(ctx, m, p.TenantID, false, ev.OccurredAt)
	default:
		return handling.Permanent(fmt.Errorf("%s v%d: the tenants consumer does not handle it (payload %T)", ev.Type, ev.Version, ev.Payload))
	}
	switch {
	case err != nil:
		return storeError(ev, err)
	case res == tenants.Duplicate:
		return handling.ErrDuplicate
	}
	return nil
}

// httpsURL keeps raw when it is an absolute https URL of at most 2,048 bytes, for a logo or a
// link in an email; anything else is dropped rather than shown.
func httpsURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || len(raw) > 2048 || u.Scheme != "https" || u.Host == "" || u.User != nil {
		return ""
	}
	return raw
}

// maxLegalNotice bounds the legal notice kept for the footer.
const maxLegalNotice = 2000

// legalNotice keeps the shop's legal notice as plain text: line breaks stay, every other control
// character becomes a space, and it is cut to at most maxLegalNotice bytes.
func legalNotice(s string) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\r\n", "\n")
	s = strings.Map(func(r rune) rune {
		if r != '\n' && unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if len(s) <= maxLegalNotice {
		return s
	}
	const ellipsis = "…"
	cut := maxLegalNotice - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}
