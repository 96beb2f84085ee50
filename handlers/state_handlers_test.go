package handlers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/eventworker/eventworker/cache"
	"github.com/eventworker/eventworker/internal/idempotency"
	"github.com/eventworker/eventworker/internal/tenants"
	"github.com/eventworker/eventworker/internal/worker/handling"
)

// Pure unit tests of the tenants, cache and analytics handlers' mapping, with in-process
// recorders; the stores themselves are tested against Redis in their packages, and the
// handlers end to end in internal/worker.

type recTenants struct {
	profiles  []tenants.Profile
	suspended []bool
	at        []time.Time
	marks     []idempotency.Mark
	res       tenants.Result
	err       error
}

func (r *recTenants) result() (tenants.Result, error) {
	if r.err != nil {
		return 0, r.err
	}
	if r.res == 0 {
		return tenants.Stored, nil
	}
	return r.res, nil
}

func (r *recTenants) SaveProfile(_ context.Context, m idempotency.Mark, p tenants.Profile, at time.Time) (tenants.Result, error) {
	r.profiles = append(r.profiles, p)
	r.at = append(r.at, at)
	r.marks = append(r.marks, m)
	return r.result()
}

func (r *recTenants) SetSuspended(_ context.Context, m idempotency.Mark, _ string, s bool, at time.Time) (tenants.Result, error) {
	r.suspended = append(r.suspended, s)
	r.at = append(r.at, at)
	r.marks = append(r.marks, m)
	return r.result()
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
		{"tenant.provisioned", `{"tenant_id":"acme","name":"Acme","owner_email":"o@acme.example","logo_url":"https://acme.example/logo.png","website_url":"https://acme.example/","legal_notice":"  Acme GmbH\nHRB 1  "}`,
			&tenants.Profile{TenantID: "acme", Name: "Acme", OwnerEmail: "o@acme.example", LogoURL: "https://acme.example/logo.png", WebsiteURL: "https://acme.example/", LegalNotice: "Acme GmbH\nHRB 1"}, nil, false},
		// Only absolute https URLs are kept for a logo or a link.
		{"tenant.provisioned", `{"tenant_id":"acme","name":"Acme","owner_email":"o@acme.example","logo_url":"http://acme.example/logo.png","website_url":"javascript:alert(1)"}`,
			&tenants.Profile{TenantID: "acme", Name: "Acme", OwnerEmail: "o@acme.example"}, nil, false},
		{"tenant.suspended", `{"tenant_id":"acme","reason":"unpaid"}`, nil, []bool{true}, false},
		{"tenant.reactivated", `{"tenant_id":"acme"}`, nil, []bool{false}, false},
	}
	for _, tt := range tests {
		t.Run(tt.typ+tt.data, func(t *testing.T) {
			rec := &recTenants{}
			ev := event(t, tt.typ, 1, tt.data)
			err := newTenants(rec).Handle(context.Background(), ev)
			if handling.IsPermanent(err) != tt.permanent || (err != nil && !tt.permanent) {
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
			for _, m := range rec.marks {
				if m != (idempotency.Mark{Consumer: ConsumerTenants, EventID: ev.ID}) {
					t.Errorf("mark = %+v, want the tenants consumer and event %s", m, ev.ID)
				}
			}
		})
	}
	// The registry already refuses a data.tenant_id that differs from the envelope's; the
	// handler checks again, so no path can change another tenant's state.
	ev := event(t, "tenant.suspended", 1, `{"tenant_id":"acme"}`)
	ev.TenantID = "other"
	if err := newTenants(&recTenants{}).Handle(context.Background(), ev); !handling.IsPermanent(err) {
		t.Errorf("mismatched tenant: %v, want a permanent error", err)
	}
	reactivated := event(t, "tenant.reactivated", 1, `{"tenant_id":"acme"}`)
	for _, tc := range []struct {
		name  string
		rec   *recTenants
		check func(error) bool
		want  string
	}{
		{"store error", &recTenants{err: errors.New("ERR wrong kind of value")}, func(err error) bool { return err != nil && !handling.IsPermanent(err) && !handling.IsUnavailable(err) }, "transient"},
		{"redis down", &recTenants{err: &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}}, handling.IsUnavailable, "unavailable"},
		{"record found", &recTenants{res: tenants.Duplicate}, func(err error) bool { return errors.Is(err, handling.ErrDuplicate) }, "ErrDuplicate"},
		{"older", &recTenants{res: tenants.Older}, func(err error) bool { return err == nil }, "nil"},
	} {
		if err := newTenants(tc.rec).Handle(context.Background(), reactivated); !tc.check(err) {
			t.Errorf("%s: Handle = %v, want %s", tc.name, err, tc.want)
		}
	}
	if !handling.RecordsInEffect(newTenants(&recTenants{})) {
		t.Error("the tenants handler must record its events in its effects")
	}
}

type recCache struct {
	calls []string
	onces []cache.Once
	out   cache.Outcome
	err   error
}

func (r *recCache) result(once cache.Once) (cache.Outcome, error) {
	r.onces = append(r.onces, once)
	if r.err != nil {
		return 0, r.err
	}
	if r.out == 0 {
		return cache.Written, nil
	}
	return r.out, nil
}

func (r *recCache) RefreshProduct(_ context.Context, once cache.Once, t, p string, v int64, js []byte) (cache.Outcome, error) {
	r.calls = append(r.calls, "refresh "+t+" "+p+" v"+itoa(v)+" "+string(js))
	return r.result(once)
}

func (r *recCache) DropUser(_ context.Context, once cache.Once, t, u string) (cache.Outcome, error) {
	r.calls = append(r.calls, "drop "+t+" "+u)
	return r.result(once)
}

func (r *recCache) PurgeTenant(_ context.Context, once cache.Once, t string) (int64, cache.Outcome, error) {
	r.calls = append(r.calls, "purge "+t)
	out, err := r.result(once)
	return 0, out, err
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
			ev := event(t, tt.typ, 1, tt.data)
			if err := newCache(rec).Handle(context.Background(), ev); err != nil {
				t.Fatal(err)
			}
			if len(rec.calls) != 1 || rec.calls[0] != tt.want {
				t.Errorf("calls = %q, want %q", rec.calls, tt.want)
			}
			if len(rec.onces) != 1 || rec.onces[0] != (cache.Once{Consumer: ConsumerCache, EventID: ev.ID}) {
				t.Errorf("once = %+v, want the cache consumer and event %s", rec.onces, ev.ID)
			}
			// The record was there: the write changed nothing, and the event is a duplicate.
			if err := newCache(&recCache{out: cache.Duplicate}).Handle(context.Background(), ev); !errors.Is(err, handling.ErrDuplicate) {
				t.Errorf("record found: Handle = %v, want handling.ErrDuplicate", err)
			}
		})
	}
	updated := event(t, "user.updated", 1, `{"user_id":"u-1"}`)
	rec := &recCache{err: errors.New("ERR wrong kind of value")}
	if err := newCache(rec).Handle(context.Background(), updated); err == nil || handling.IsPermanent(err) || handling.IsUnavailable(err) {
		t.Errorf("invalidation error: %v, want a transient error so the event is not acknowledged", err)
	}
	rec = &recCache{err: fmt.Errorf("drop user: %w", io.EOF)}
	if err := newCache(rec).Handle(context.Background(), updated); !handling.IsUnavailable(err) {
		t.Errorf("Redis gone: %v, want Unavailable, so the outage spends no attempt", err)
	}
	if !handling.RecordsInEffect(newCache(&recCache{})) {
		t.Error("the cache handler must record its events in its effects")
	}
}

type recCounter struct {
	incr []map[string]int64
	ids  []string
	seen bool
}

func (r *recCounter) Count(_ context.Context, _, id string, _ time.Time, incr map[string]int64) (bool, error) {
	r.incr = append(r.incr, incr)
	r.ids = append(r.ids, id)
	return !r.seen, nil
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
			if err := newAnalytics(rec).Handle(context.Background(), ev); err != nil {
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
			if err := newAnalytics(&recCounter{seen: true}).Handle(context.Background(), ev); !errors.Is(err, handling.ErrDuplicate) {
				t.Errorf("counted before: Handle = %v, want handling.ErrDuplicate", err)
			}
		})
	}
}
