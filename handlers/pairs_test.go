package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/eventworker/eventworker/cache"
	"github.com/eventworker/eventworker/internal/analytics"
	"github.com/eventworker/eventworker/internal/emails"
	"github.com/eventworker/eventworker/internal/inventory"
	"github.com/eventworker/eventworker/internal/mailer"
	"github.com/eventworker/eventworker/internal/tenants"
	"github.com/eventworker/eventworker/internal/testenv"
	"github.com/eventworker/eventworker/internal/worker/handling"
	"github.com/eventworker/eventworker/registry"
)

// TestEveryRegistryPairIsHandled runs, for every (event type, consumer) pair that registry.yaml
// maps, every valid example of every version of the type through that consumer's handler from
// All, on real stores (Redis), the real templates and a file outbox: each must take effect, be
// found a duplicate, or be deliberately suppressed, never be refused as something the handler
// does not handle. The tenant of the examples is provisioned first, as in production.
func TestEveryRegistryPairIsHandled(t *testing.T) {
	reg, err := registry.Default()
	if err != nil {
		t.Fatal(err)
	}
	byConsumer := map[string]handling.Handler{}
	for _, h := range All(pairDeps(t)) {
		byConsumer[h.Consumer()] = h
	}
	if problems := handling.Mismatches(reg, All(Deps{})); len(problems) > 0 {
		t.Fatalf("the handlers and registry.yaml disagree: %v", problems)
	}
	provisioned := map[string]bool{}
	pairs := 0
	for _, name := range reg.Types() {
		typ, err := reg.Type(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range typ.Consumers {
			for _, v := range typ.Versions {
				for _, ex := range v.Examples {
					pairs++
					t.Run(fmt.Sprintf("%s/%s/v%d/%s", name, c, v.Version, ex.Name), func(t *testing.T) {
						ev, err := reg.Validate(name, ex.Event)
						if err != nil {
							t.Fatalf("the example does not validate: %v", err)
						}
						if !provisioned[ev.TenantID] {
							provisionTenant(t, reg, byConsumer[ConsumerTenants], ev.TenantID)
							provisioned[ev.TenantID] = true
						}
						err = byConsumer[c].Handle(context.Background(), ev)
						if err != nil && !errors.Is(err, handling.ErrDuplicate) && !errors.Is(err, handling.ErrSuppressed) {
							t.Errorf("%s handling %s: %v", c, name, err)
						}
					})
				}
			}
		}
	}
	if pairs == 0 {
		t.Fatal("no examples")
	}
}

// pairDeps are the handlers' dependencies on Redis, the embedded templates and a file outbox.
func pairDeps(t *testing.T) Deps {
	t.Helper()
	rdb, prefix := testenv.Redis(t, "test-handlers-pairs")
	outbox := filepath.Join(t.TempDir(), "outbox")
	if err := os.MkdirAll(outbox, 0o755); err != nil {
		t.Fatal(err)
	}
	sender, err := mailer.Open(context.Background(), mailer.Config{URL: "file://" + outbox})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sender.Close() })
	renderer, err := emails.New(emails.Config{})
	if err != nil {
		t.Fatal(err)
	}
	shared, err := cache.New(rdb, cache.Config{Prefix: prefix, Metrics: cache.NewMetrics(prometheus.NewRegistry())})
	if err != nil {
		t.Fatal(err)
	}
	return Deps{
		Tenants: tenants.New(rdb, prefix), MailFrom: mailer.Address{Email: "noreply@platform.example"},
		Mail: sender, Emails: renderer, Cache: shared, Analytics: analytics.New(rdb, prefix),
		Inventory: inventory.New(rdb, prefix), Publisher: newInvPublisher(t),
	}
}

// provisionTenant stores tenantID's profile: the registry's tenant.provisioned example, for
// that tenant.
func provisionTenant(t *testing.T, reg *registry.Registry, h handling.Handler, tenantID string) {
	t.Helper()
	typ, err := reg.Type("tenant.provisioned")
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	if err := json.Unmarshal(typ.Latest().Examples[0].Event, &body); err != nil {
		t.Fatal(err)
	}
	body["event_id"], body["tenant_id"] = uuid.NewSHA1(uuid.NameSpaceOID, []byte(tenantID)).String(), tenantID
	body["data"].(map[string]any)["tenant_id"] = tenantID
	b, _ := json.Marshal(body)
	ev, err := reg.Validate("", b)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Handle(context.Background(), ev); err != nil && !errors.Is(err, handling.ErrDuplicate) {
		t.Fatalf("provision %s: %v", tenantID, err)
	}
}
