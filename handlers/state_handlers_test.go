package handlers

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/eventworker/eventworker/internal/tenants"
)

// Pure unit tests of the tenants, cache and analytics handlers' mapping, with in-process
// recorders; the stores themselves are tested against Redis in their packages, and the
// handlers end to end in internal/worker.

type recTenants struct {
	profiles  []tenants.Profile
	suspended []bool
	at        []time.Time
	err       error
}

func (r *recTenants) SaveProfile(_ context.Context, p tenants.Profile, at time.Time) (bool, error) {
	r.profiles = append(r.profiles, p)
	r.at = append(r.at, at)
	return true, r.err
}

func (r *recTenants) SetSuspended(_ context.Context, _ string, s bool, at time.Time) (bool, error) {
	r.suspended = append(r.suspended, s)
	r.at = append(r.at, at)
	return true, r.err
}

func TestTenantsHandler(t *testing.T) {
	tests := []struct {
		typ, data     string
		wantProfile   *tenants.Profile
		wantSuspended []bool
		permanent     bool
	}{
		{"tenant.provisioned", `{"tenant_id":"acme","name":"Acme","owner_email":"o@acme.example","locale":"de","support_email":"s@acme.example","plan":"pro","timezone":"Europe/Berlin"}`,
			&tenants.Profile{TenantID: "acme", Name: "Acme", OwnerEmail: "o@acme.example", Locale: "de", SupportEmail: "s@acme.example", Plan: "pro", Timezone: "Europe/Berlin"}, nil, false},
		{"tenant.suspended", `{"tenant_id":"acme","reason":"unpaid"}`, nil, []bool{true}, false},
		{"tenant.reactivated", `{"tenant_id":"acme"}`, nil, []bool{false}, false},
	}
	for _, tt := range tests {
		t.Run(tt.typ+tt.data, func(t *testing.T) {
			rec := &recTenants{}
			ev := event(t, tt.typ, 1, tt.data)
			err := NewTenants(rec).Handle(context.Background(), ev)
			if IsPermanent(err) != tt.permanent || (err != nil && !tt.permanent) {
				t.Fatalf("Handle = %v, want permanent=%v", err, tt.permanent)
			}
			if tt.wantProfile != nil && (len(rec.profiles) != 1 || rec.profiles[0] != *tt.wantProfile) {
				t.Errorf("profiles = %+v, want %+v", rec.profiles, *tt.wantProfile)
			}
			if len(rec.suspended) != len(tt.wantSuspended) || (len(tt.wantSuspended) == 1 && rec.suspended[0] != tt.wantSuspended[0]) {
				t.Errorf("suspended = %v, want %v", rec.suspended, tt.wantSuspended)
			}
			for _, at := range rec.at {
				if !at.Equal(ev.OccurredAt) {
					t.Errorf("stored at %s, want the event's occurred_at %s", at, ev.OccurredAt)
				}
			}
		})
	}
	// The registry already refuses a data.tenant_id that differs from the envelope's; the
	// handler checks again, so no path can change another tenant's state.
	ev := event(t, "tenant.suspended", 1, `{"tenant_id":"acme"}`)
	ev.TenantID = "other"
	if err := NewTenants(&recTenants{}).Handle(context.Background(), ev); !IsPermanent(err) {
		t.Errorf("mismatched tenant: %v, want a permanent error", err)
	}
	rec := &recTenants{err: errors.New("redis down")}
	if err := NewTenants(rec).Handle(context.Background(), event(t, "tenant.reactivated", 1, `{"tenant_id":"acme"}`)); err == nil || IsPermanent(err) {
		t.Errorf("store error: %v, want transient", err)
	}
}

type recCache struct {
	calls []string
	err   error
}

func (r *recCache) RefreshProduct(_ context.Context, t, p string, v int64, js []byte) (bool, error) {
	r.calls = append(r.calls, "refresh "+t+" "+p+" v"+itoa(v)+" "+string(js))
	return true, r.err
}

func (r *recCache) DropUser(_ context.Context, t, u string) error {
	r.calls = append(r.calls, "drop "+t+" "+u)
	return r.err
}

func (r *recCache) PurgeTenant(_ context.Context, t string) (int64, error) {
	r.calls = append(r.calls, "purge "+t)
	return 0, r.err
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

func TestCacheHandler(t *testing.T) {
	tests := []struct {
		typ, data, want string
	}{
		{"product.created", `{"product_id":"p-1","sku":"S","name":"N","price":1.5,"currency":"EUR","inventory_quantity":3}`,
			`refresh acme p-1 v1 {"product_id":"p-1","sku":"S","name":"N","price":1.5,"currency":"EUR","inventory_quantity":3}`},
		{"product.updated", `{"product_id":"p-1","sku":"S","name":"N","price":1.5,"currency":"EUR","inventory_quantity":3,"version":7}`,
			`refresh acme p-1 v7 {"product_id":"p-1","sku":"S","name":"N","price":1.5,"currency":"EUR","inventory_quantity":3,"version":7}`},
		{"user.updated", `{"user_id":"u-1","changed_fields":["email"]}`, "drop acme u-1"},
		{"tenant.suspended", `{"tenant_id":"acme"}`, "purge acme"},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			rec := &recCache{}
			if err := NewCache(rec).Handle(context.Background(), event(t, tt.typ, 1, tt.data)); err != nil {
				t.Fatal(err)
			}
			if len(rec.calls) != 1 || rec.calls[0] != tt.want {
				t.Errorf("calls = %q, want %q", rec.calls, tt.want)
			}
		})
	}
	rec := &recCache{err: errors.New("redis down")}
	if err := NewCache(rec).Handle(context.Background(), event(t, "user.updated", 1, `{"user_id":"u-1"}`)); err == nil || IsPermanent(err) {
		t.Errorf("invalidation error: %v, want a transient error so the event is not acknowledged", err)
	}
}

type recCounter struct {
	incr []map[string]int64
	ids  []string
}

func (r *recCounter) Count(_ context.Context, _, id string, _ time.Time, incr map[string]int64) (bool, error) {
	r.incr = append(r.incr, incr)
	r.ids = append(r.ids, id)
	return true, nil
}

func TestAnalyticsHandler(t *testing.T) {
	tests := []struct {
		typ     string
		version int
		data    string
		want    map[string]int64
	}{
		{"order.created", 1, `{"order_id":"o","customer_id":"c","customer_email":"a@example.com","amount":19.99,"currency":"EUR"}`, map[string]int64{"orders_created": 1}},
		{"order.created", 2, `{"order_id":"o","customer_id":"c","customer_email":"a@example.com","amount_minor":1999,"currency":"EUR"}`, map[string]int64{"orders_created": 1}},
		{"order.confirmed", 1, `{"order_id":"o","customer_id":"c","customer_email":"a@example.com","amount":19.99,"currency":"EUR"}`, map[string]int64{"orders_confirmed": 1, "revenue:EUR": 1999}},
		{"order.confirmed", 1, `{"order_id":"o","customer_id":"c","customer_email":"a@example.com","amount":1500,"currency":"JPY"}`, map[string]int64{"orders_confirmed": 1, "revenue:JPY": 1500}},
		{"order.cancelled", 1, `{"order_id":"o","customer_id":"c","customer_email":"a@example.com"}`, map[string]int64{"orders_cancelled": 1}},
		{"user.registered", 1, `{"user_id":"u","email":"a@example.com"}`, map[string]int64{"users_registered": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			rec := &recCounter{}
			ev := event(t, tt.typ, tt.version, tt.data)
			if err := NewAnalytics(rec).Handle(context.Background(), ev); err != nil {
				t.Fatal(err)
			}
			if len(rec.incr) != 1 || len(rec.incr[0]) != len(tt.want) || rec.ids[0] != ev.ID {
				t.Fatalf("counted %v for %v, want %v for %s", rec.incr, rec.ids, tt.want, ev.ID)
			}
			for k, v := range tt.want {
				if rec.incr[0][k] != v {
					t.Errorf("%s = %d, want %d", k, rec.incr[0][k], v)
				}
			}
		})
	}
}
