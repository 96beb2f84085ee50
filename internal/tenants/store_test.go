package tenants

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/eventworker/eventworker/internal/idempotency"
	"github.com/eventworker/eventworker/internal/testenv"
)

func newStore(t *testing.T) (*Store, *redis.Client, string) {
	t.Helper()
	rdb, prefix := testenv.Redis(t, "test-tenants")
	return New(rdb, prefix), rdb, prefix
}

var t0 = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

func TestProfileOrdering(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		writes []struct {
			name string
			at   time.Time
		}
		want    string
		applied []bool
	}{
		{"in order", []struct {
			name string
			at   time.Time
		}{{"Old", t0}, {"New", t0.Add(time.Second)}}, "New", []bool{true, true}},
		{"out of order", []struct {
			name string
			at   time.Time
		}{{"New", t0.Add(time.Second)}, {"Old", t0}}, "New", []bool{true, false}},
		{"nanoseconds apart", []struct {
			name string
			at   time.Time
		}{{"New", t0.Add(time.Nanosecond)}, {"Old", t0}}, "New", []bool{true, false}},
		{"redelivered", []struct {
			name string
			at   time.Time
		}{{"Same", t0}, {"Same", t0}}, "Same", []bool{true, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _, _ := newStore(t)
			for i, w := range tt.writes {
				ok, err := s.SaveProfile(ctx, idempotency.Mark{}, Profile{TenantID: "shop-1", Name: w.name, OwnerEmail: "o@example.com"}, w.at)
				if err != nil {
					t.Fatal(err)
				}
				if (ok == Stored) != tt.applied[i] {
					t.Errorf("write %d applied = %v, want %v", i, ok, tt.applied[i])
				}
			}
			p, has, err := s.Get(ctx, "shop-1")
			if err != nil || !has {
				t.Fatalf("Get: has=%v err=%v", has, err)
			}
			if p.Name != tt.want || p.OwnerEmail != "o@example.com" {
				t.Errorf("profile = %+v, want name %q", p, tt.want)
			}
		})
	}
}

func TestNewerProfileClearsDroppedFields(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newStore(t)
	full := Profile{TenantID: "t", Name: "A", SupportEmail: "help@a.example", Locale: "de", Timezone: "Europe/Berlin",
		LogoURL: "https://a.example/logo.png", WebsiteURL: "https://a.example/", LegalNotice: "A GmbH\nHRB 1"}
	if _, err := s.SaveProfile(ctx, idempotency.Mark{}, full, t0); err != nil {
		t.Fatal(err)
	}
	if p, _, err := s.Get(ctx, "t"); err != nil || p != full {
		t.Errorf("profile = %+v (%v), want %+v", p, err, full)
	}
	if _, err := s.SaveProfile(ctx, idempotency.Mark{}, Profile{TenantID: "t", Name: "B"}, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	p, _, err := s.Get(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	want := Profile{TenantID: "t", Name: "B"}
	if p != want {
		t.Errorf("profile = %+v, want %+v", p, want)
	}
}

func TestSuspension(t *testing.T) {
	ctx := context.Background()
	type op struct {
		suspend bool
		at      time.Time
	}
	tests := []struct {
		name string
		ops  []op
		want bool
	}{
		{"none", nil, false},
		{"suspended", []op{{true, t0}}, true},
		{"suspended then reactivated", []op{{true, t0}, {false, t0.Add(time.Hour)}}, false},
		{"reactivation arrives first", []op{{false, t0.Add(time.Hour)}, {true, t0}}, false},
		{"suspension redelivered after reactivation", []op{{true, t0}, {false, t0.Add(time.Hour)}, {true, t0}}, false},
		{"suspended again later", []op{{true, t0}, {false, t0.Add(time.Hour)}, {true, t0.Add(2 * time.Hour)}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _, _ := newStore(t)
			for _, o := range tt.ops {
				if _, err := s.SetSuspended(ctx, idempotency.Mark{}, "shop", o.suspend, o.at); err != nil {
					t.Fatal(err)
				}
			}
			p, has, err := s.Get(ctx, "shop")
			if err != nil {
				t.Fatal(err)
			}
			if has {
				t.Error("a suspension alone must not count as a profile")
			}
			if p.Suspended != tt.want {
				t.Errorf("Suspended = %v, want %v", p.Suspended, tt.want)
			}
		})
	}
}

func TestProfileKeepsSuspension(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newStore(t)
	if _, err := s.SetSuspended(ctx, idempotency.Mark{}, "shop", true, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SaveProfile(ctx, idempotency.Mark{}, Profile{TenantID: "shop", Name: "Shop"}, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	p, has, err := s.Get(ctx, "shop")
	if err != nil || !has || !p.Suspended || p.Name != "Shop" {
		t.Errorf("Get = %+v, %v, %v; want the profile and the suspension", p, has, err)
	}
}

func TestKeysStayOutOfTheCacheNamespace(t *testing.T) {
	ctx := context.Background()
	s, rdb, prefix := newStore(t)
	if _, err := s.SaveProfile(ctx, idempotency.Mark{}, Profile{TenantID: "shop", Name: "Shop"}, t0); err != nil {
		t.Fatal(err)
	}
	if err := s.SetUserLocale(ctx, "shop", "u1", "de"); err != nil {
		t.Fatal(err)
	}
	n, err := rdb.Keys(ctx, prefix+"tenant:*").Result() // a tiny test keyspace; KEYS is fine here
	if err != nil {
		t.Fatal(err)
	}
	if len(n) != 0 {
		t.Errorf("keys under tenant: = %v; the worker's state must never live there", n)
	}
}

func TestUserLocale(t *testing.T) {
	ctx := context.Background()
	s, rdb, _ := newStore(t)
	if got, err := s.UserLocale(ctx, "a", "b:c"); err != nil || got != "" {
		t.Fatalf("unknown user: %q, %v", got, err)
	}
	if err := s.SetUserLocale(ctx, "a", "b:c", "de-AT"); err != nil {
		t.Fatal(err)
	}
	// Tenant "a:b" with user "c" would share a key without the length in it.
	if got, err := s.UserLocale(ctx, "a:b", "c"); err != nil || got != "" {
		t.Errorf("other tenant sees %q, %v", got, err)
	}
	if got, err := s.UserLocale(ctx, "a", "b:c"); err != nil || got != "de-AT" {
		t.Errorf("UserLocale = %q, %v; want de-AT", got, err)
	}
	ttl, err := rdb.TTL(ctx, s.localeKey("a", "b:c")).Result()
	if err != nil || ttl <= 0 {
		t.Errorf("locale key TTL = %v, %v; want a TTL", ttl, err)
	}
}

func TestRedisDown(t *testing.T) {
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	defer rdb.Close()
	s := New(rdb, "x:")
	if _, _, err := s.Get(ctx, "t"); err == nil {
		t.Error("Get with Redis down: want an error, a missing suspension flag must not read as false")
	}
	if _, err := s.SetSuspended(ctx, idempotency.Mark{}, "t", true, t0); err == nil {
		t.Error("SetSuspended with Redis down: want an error")
	}
	if _, err := s.SaveProfile(ctx, idempotency.Mark{}, Profile{}, t0); err == nil {
		t.Error("SaveProfile without a tenant: want an error")
	}
}

func TestRecipient(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newStore(t)
	if _, err := s.SaveProfile(ctx, idempotency.Mark{}, Profile{TenantID: "shop", Name: "Shop", Locale: "de"}, t0); err != nil {
		t.Fatal(err)
	}
	if err := s.SetUserLocale(ctx, "shop", "u1", "en-GB"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		tenant, user, locale string
		has                  bool
	}{
		{"shop", "u1", "en-GB", true},
		{"shop", "u2", "", true},
		{"shop", "", "", true},
		{"other", "u1", "", false},
	}
	for _, cluster := range []bool{false, true} {
		store := s
		if cluster {
			store = ForcePipelined(s)
		}
		for _, tt := range tests {
			p, has, locale, err := store.Recipient(ctx, tt.tenant, tt.user, "")
			if err != nil {
				t.Fatal(err)
			}
			want, wantHas, _ := s.Get(ctx, tt.tenant)
			if p != want || has != tt.has || has != wantHas || locale != tt.locale {
				t.Errorf("cluster %v: Recipient(%s, %s) = %+v, %v, %q; want Get's %+v, %v and %q", cluster, tt.tenant, tt.user, p, has, locale, want, wantHas, tt.locale)
			}
		}
		// Remembering a locale stores it and returns it, in the same command.
		user := fmt.Sprintf("new-%v", cluster)
		if _, _, locale, err := store.Recipient(ctx, "shop", user, "fr-CA"); err != nil || locale != "fr-CA" {
			t.Errorf("cluster %v: Recipient remembering fr-CA = %q, %v", cluster, locale, err)
		}
		if got, err := s.UserLocale(ctx, "shop", user); err != nil || got != "fr-CA" {
			t.Errorf("cluster %v: stored locale = %q, %v; want fr-CA", cluster, got, err)
		}
	}
	if _, _, _, err := s.Recipient(ctx, "shop", "", "de"); !errors.Is(err, ErrInvalidID) {
		t.Errorf("remembering a locale without a user: %v, want ErrInvalidID", err)
	}
}

// TestWritesWithAMarkHappenOnce: given the event's Mark, a redelivery changes nothing, even
// where ordering by occurred_at cannot tell (a suspension and a reactivation of one instant).
func TestWritesWithAMarkHappenOnce(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newStore(t)
	suspend := idempotency.Mark{Consumer: "tenants", EventID: "e-suspend"}
	reactivate := idempotency.Mark{Consumer: "tenants", EventID: "e-reactivate"}
	for i, step := range []struct {
		m         idempotency.Mark
		suspended bool
		want      Result
	}{
		{suspend, true, Stored},
		{reactivate, false, Stored},
		{suspend, true, Duplicate}, // without the record, this would suspend the tenant again
	} {
		got, err := s.SetSuspended(ctx, step.m, "shop", step.suspended, t0)
		if err != nil || got != step.want {
			t.Fatalf("step %d: SetSuspended = %v, %v; want %v", i, got, err, step.want)
		}
	}
	if p, _, err := s.Get(ctx, "shop"); err != nil || p.Suspended {
		t.Errorf("suspended = %v, %v; want false", p.Suspended, err)
	}
	provisioned := idempotency.Mark{Consumer: "tenants", EventID: "e-provisioned"}
	for i, want := range []Result{Stored, Duplicate} {
		got, err := s.SaveProfile(ctx, provisioned, Profile{TenantID: "shop", Name: "Shop"}, t0)
		if err != nil || got != want {
			t.Fatalf("SaveProfile %d = %v, %v; want %v", i, got, err, want)
		}
	}
}
