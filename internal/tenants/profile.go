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
		Suspended:    h[fSuspended] == "1",
	}
}
