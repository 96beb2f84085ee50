package tenants

import (
	"fmt"
	"time"
)

// Profile is what the worker knows about a tenant (a shop).
type Profile struct {
	TenantID     string
	Name         string
	OwnerEmail   string
	SupportEmail string
	Locale       string
	Plan         string
	// Timezone is an IANA zone name for dates in emails; empty means UTC.
	Timezone string
	// LogoURL, WebsiteURL and LegalNotice brand the shop's emails; empty when not given.
	LogoURL, WebsiteURL, LegalNotice string
	// Suspended is true between a tenant.suspended and the next tenant.reactivated.
	Suspended bool
}

// profile field names in the tenant's hash.
const (
	fName         = "name"
	fOwnerEmail   = "owner_email"
	fSupportEmail = "support_email"
	fLocale       = "locale"
	fPlan         = "plan"
	fTimezone     = "timezone"
	fLogoURL      = "logo_url"
	fWebsiteURL   = "website_url"
	fLegalNotice  = "legal_notice"
	fProfileAt    = "profile_at"
	fSuspended    = "suspended"
	fSuspendedAt  = "suspended_at"
)

// stamp orders writes. Lua numbers are doubles and cannot hold nanoseconds exactly, so the
// scripts compare these fixed-width decimal strings instead.
func stamp(t time.Time) string {
	return fmt.Sprintf("%020d", t.UTC().UnixNano())
}

func fromHash(tenantID string, h map[string]string) Profile {
	return Profile{
		TenantID:     tenantID,
		Name:         h[fName],
		OwnerEmail:   h[fOwnerEmail],
		SupportEmail: h[fSupportEmail],
		Locale:       h[fLocale],
		Plan:         h[fPlan],
		Timezone:     h[fTimezone],
		LogoURL:      h[fLogoURL],
		WebsiteURL:   h[fWebsiteURL],
		LegalNotice:  h[fLegalNotice],
		Suspended:    h[fSuspended] == "1",
	}
}
