package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/eventworker/eventworker/cache"
	"github.com/eventworker/eventworker/internal/emails"
	"github.com/eventworker/eventworker/internal/mailer"
	"github.com/eventworker/eventworker/internal/tenants"
	"github.com/eventworker/eventworker/internal/worker/handling"
	"github.com/eventworker/eventworker/registry"
)

// memSender and memTenants are in-process fakes for these unit tests; the worker and app
// tests send through a real SMTP server with the Redis-backed tenant store.
type memSender struct {
	mu   sync.Mutex
	sent []*mailer.Message
	err  error
}

func (s *memSender) Send(_ context.Context, m *mailer.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.sent = append(s.sent, m)
	return nil
}

type memTenants struct {
	profiles map[string]tenants.Profile
	locales  map[string]string
	err      error
}

func (m *memTenants) Recipient(_ context.Context, id, user, remember string) (tenants.Profile, bool, string, error) {
	if m.err != nil {
		return tenants.Profile{}, false, "", m.err
	}
	if remember != "" {
		m.locales[id+"/"+user] = remember
	}
	p, ok := m.profiles[id]
	return p, ok && p.Name != "", m.locales[id+"/"+user], nil
}

const shopID = "acme"

func testNotifications(t *testing.T) (*notifications, *memSender, *memTenants, *mailer.Metrics) {
	t.Helper()
	r, err := emails.New(emails.Config{})
	if err != nil {
		t.Fatal(err)
	}
	s := &memSender{}
	ts := &memTenants{
		profiles: map[string]tenants.Profile{shopID: {
			TenantID: shopID, Name: "Acme Outdoor", OwnerEmail: "owner@acme.example",
			SupportEmail: "help@acme.example", Locale: "en",
		}},
		locales: map[string]string{},
	}
	m := mailer.NewMetrics(prometheus.NewRegistry())
	n := newNotifications(notificationsDeps{
		From: mailer.Address{Name: "Shopfront", Email: "noreply@platform.example"}, PlatformSupport: "support@platform.example", Renderer: r,
		Mail: s, Tenants: ts, Metrics: m,
	})
	return n, s, ts, m
}

// event builds a validated event of type typ from data, for tenant shopID.
func event(t *testing.T, typ string, version int, data string) *registry.Event {
	t.Helper()
	reg, err := registry.Default()
	if err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf(`{"event_id":"6f1c2a9e-4b7d-4f7a-9a51-2d3c4e5f6a7b","event_type":%q,"event_version":%d,
		"occurred_at":"2026-11-26T10:00:00Z","tenant_id":%q,"data":%s}`, typ, version, shopID, data)
	ev, err := reg.Validate(typ, []byte(body))
	if err != nil {
		t.Fatalf("event %s: %v", typ, err)
	}
	return ev
}

func TestNotificationsEmails(t *testing.T) {
	tests := []struct {
		typ     string
		version int
		data    string
		to      string
		subject string
		text    []string
	}{
		{"order.created", 1, `{"order_id":"o-1","customer_id":"c-1","customer_email":"alice@example.com","customer_name":"Alice","amount":1234.5,"currency":"EUR","items":[{"product_id":"p-1","name":"Tent","quantity":2,"unit_price":617.25}]}`,
			"alice@example.com", "Acme Outdoor: we have received your order o-1", []string{"Hello Alice,", "2 × Tent: €1,234.50 (€617.25 each)", "Total: €1,234.50"}},
		{"order.created", 2, `{"order_id":"o-2","customer_id":"c-1","customer_email":"alice@example.com","amount_minor":1999,"currency":"USD"}`,
			"alice@example.com", "Acme Outdoor: we have received your order o-2", []string{"Hello,", "Total: $19.99"}},
		{"order.pending_payment", 1, `{"order_id":"o-3","customer_id":"c-1","customer_email":"alice@example.com","amount":10,"currency":"EUR","payment_url":"https://pay.example/o-3","expires_at":"2026-11-27T12:00:00"}`,
			"alice@example.com", "Acme Outdoor: payment for order o-3 is still outstanding", []string{"Please pay by 27 November 2026, 12:00 UTC", "Pay now: https://pay.example/o-3"}},
		{"order.confirmed", 1, `{"order_id":"o-4","customer_id":"c-1","customer_email":"alice@example.com","amount":0.1,"currency":"EUR","items":[{"product_id":"p-9","quantity":1}]}`,
			"alice@example.com", "Acme Outdoor: your order o-4 is confirmed", []string{"1 × p-9", "Total: €0.10"}},
		{"order.cancelled", 1, `{"order_id":"o-5","customer_id":"c-1","customer_email":"alice@example.com","reason":"out of stock"}`,
			"alice@example.com", "Acme Outdoor: your order o-5 has been cancelled", []string{"Reason: out of stock"}},
		{"user.registered", 1, `{"user_id":"u-1","email":"bob@example.com","name":"Bob"}`,
			"bob@example.com", "Welcome to Acme Outdoor", []string{"Hello Bob,"}},
		{"tenant.provisioned", 1, `{"tenant_id":"acme","name":"Acme Outdoor","owner_email":"owner@acme.example","plan":"growth"}`,
			"owner@acme.example", "Acme Outdoor is ready", []string{"Your plan: growth"}},
		{"product.inventory_low", 1, `{"product_id":"p-1","sku":"TENT-2","name":"Tent","inventory_quantity":2,"low_stock_threshold":5}`,
			"owner@acme.example", "Acme Outdoor: Tent is running low (2 left)", []string{"In stock: 2", "Low-stock threshold: 5"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/v%d", tt.typ, tt.version), func(t *testing.T) {
			n, s, _, _ := testNotifications(t)
			ev := event(t, tt.typ, tt.version, tt.data)
			if err := n.Handle(context.Background(), ev); err != nil {
				t.Fatal(err)
			}
			if len(s.sent) != 1 {
				t.Fatalf("sent %d emails, want 1", len(s.sent))
			}
			m := s.sent[0]
			if len(m.To) != 1 || m.To[0].Email != tt.to {
				t.Errorf("To = %+v, want %s", m.To, tt.to)
			}
			if m.Subject != tt.subject {
				t.Errorf("Subject = %q, want %q", m.Subject, tt.subject)
			}
			// A customer hears from the shop; an owner from the platform, which also answers.
			from, replyTo := mailer.Address{Name: "Acme Outdoor", Email: "noreply@platform.example"}, "help@acme.example"
			if emails.ToOwner(m.Template) {
				from, replyTo = mailer.Address{Name: "Shopfront", Email: "noreply@platform.example"}, "support@platform.example"
				for _, want := range []string{"Shopfront", "the owner of Acme Outdoor", "support@platform.example"} {
					if !strings.Contains(m.Text, want) || !strings.Contains(m.HTML, want) {
						t.Errorf("the owner's email does not say %q:\n%s", want, m.Text)
					}
				}
				if strings.Contains(m.Text, "help@acme.example") {
					t.Errorf("the owner's email points to the shop's own support address:\n%s", m.Text)
				}
			}
			if m.From != from {
				t.Errorf("From = %+v, want %+v", m.From, from)
			}
			if m.ReplyTo == nil || m.ReplyTo.Email != replyTo {
				t.Errorf("Reply-To = %+v, want %s", m.ReplyTo, replyTo)
			}
			if m.MessageID != MessageID(ev.ID, m.Template, "noreply@platform.example") || !strings.HasSuffix(m.MessageID, "@platform.example") {
				t.Errorf("Message-ID = %q", m.MessageID)
			}
			for _, want := range tt.text {
				if !strings.Contains(m.Text, want) {
					t.Errorf("text part lacks %q:\n%s", want, m.Text)
				}
			}
			if !strings.Contains(m.HTML, "<html") || !strings.Contains(m.HTML, "Acme Outdoor") {
				t.Errorf("HTML part is not the branded layout")
			}
		})
	}
}

func TestMessageIDIsStable(t *testing.T) {
	a := MessageID("e-1", "welcome", "x@shop.example")
	if a != MessageID("e-1", "welcome", "x@shop.example") {
		t.Error("the same event and template must give the same Message-ID")
	}
	for _, other := range []string{MessageID("e-2", "welcome", "x@shop.example"), MessageID("e-1", "order_received", "x@shop.example")} {
		if other == a {
			t.Errorf("Message-ID %s repeats for a different event or template", a)
		}
	}
}

func TestSuspendedTenantIsSuppressed(t *testing.T) {
	for _, typ := range []struct{ typ, data, template string }{
		{"order.cancelled", `{"order_id":"o-5","customer_id":"c-1","customer_email":"alice@example.com"}`, emails.OrderCancelled},
		{"product.inventory_low", `{"product_id":"p-1","sku":"S","name":"Tent","inventory_quantity":2,"low_stock_threshold":5}`, emails.LowStock},
	} {
		t.Run(typ.typ, func(t *testing.T) {
			n, s, ts, m := testNotifications(t)
			p := ts.profiles[shopID]
			p.Suspended = true
			ts.profiles[shopID] = p
			err := n.Handle(context.Background(), event(t, typ.typ, 1, typ.data))
			if !errors.Is(err, handling.ErrSuppressed) {
				t.Fatalf("Handle = %v, want handling.ErrSuppressed", err)
			}
			if len(s.sent) != 0 {
				t.Errorf("sent %d emails for a suspended tenant", len(s.sent))
			}
			if got := testutil.ToFloat64(m.Suppressed.WithLabelValues(typ.template)); got != 1 {
				t.Errorf("suppressed{%s} = %v, want 1", typ.template, got)
			}
		})
	}
}

func TestLowStockWithoutProfileIsTransient(t *testing.T) {
	n, s, ts, _ := testNotifications(t)
	delete(ts.profiles, shopID)
	err := n.Handle(context.Background(), event(t, "product.inventory_low", 1, `{"product_id":"p-1","sku":"S","name":"Tent","inventory_quantity":2,"low_stock_threshold":5}`))
	if !errors.Is(err, errNoTenantProfile) || handling.IsPermanent(err) {
		t.Fatalf("Handle = %v (permanent %v), want a transient errNoTenantProfile", err, handling.IsPermanent(err))
	}
	if !strings.Contains(err.Error(), "tenant.provisioned") {
		t.Errorf("error %q should say what is missing", err)
	}
	if len(s.sent) != 0 {
		t.Error("sent an alert without a recipient")
	}
}

func TestCustomerEmailWithoutProfileUsesThePlatformName(t *testing.T) {
	n, s, ts, _ := testNotifications(t)
	delete(ts.profiles, shopID)
	if err := n.Handle(context.Background(), event(t, "order.cancelled", 1, `{"order_id":"o-5","customer_id":"c-1","customer_email":"alice@example.com"}`)); err != nil {
		t.Fatal(err)
	}
	if m := s.sent[0]; m.From.Name != "Shopfront" || m.ReplyTo != nil || !strings.HasPrefix(m.Subject, "Shopfront: ") {
		t.Errorf("From %+v, Reply-To %+v, Subject %q", m.From, m.ReplyTo, m.Subject)
	}
}

func TestSendErrors(t *testing.T) {
	tests := []struct {
		name        string
		err         error
		permanent   bool
		unavailable bool
	}{
		{"rejected", fmt.Errorf("%w: 550 5.1.1 no such user", mailer.ErrRejected), true, false},
		{"invalid address", fmt.Errorf("to: %w", mailer.ErrInvalidAddress), true, false},
		{"temporary", errors.New("451 4.7.0 try again later"), false, false},
		{"server unavailable", fmt.Errorf("%w: connection refused", mailer.ErrUnavailable), false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, s, _, _ := testNotifications(t)
			s.err = tt.err
			err := n.Handle(context.Background(), event(t, "order.cancelled", 1, `{"order_id":"o-5","customer_id":"c-1","customer_email":"alice@example.com"}`))
			if err == nil || handling.IsPermanent(err) != tt.permanent || !strings.Contains(err.Error(), tt.err.Error()) {
				t.Errorf("Handle = %v (permanent %v), want permanent=%v carrying the server's reply", err, handling.IsPermanent(err), tt.permanent)
			}
			if handling.IsUnavailable(err) != tt.unavailable {
				t.Errorf("Handle = %v: IsUnavailable %v, want %v", err, handling.IsUnavailable(err), tt.unavailable)
			}
		})
	}
}

func TestStateErrorsAreTransient(t *testing.T) {
	n, s, ts, _ := testNotifications(t)
	ts.err = errors.New("redis: connection refused")
	err := n.Handle(context.Background(), event(t, "order.cancelled", 1, `{"order_id":"o-5","customer_id":"c-1","customer_email":"alice@example.com"}`))
	if err == nil || handling.IsPermanent(err) || len(s.sent) != 0 {
		t.Errorf("Handle = %v, sent %d; want a transient error and nothing sent", err, len(s.sent))
	}
}

func TestLocaleChoice(t *testing.T) {
	n, s, ts, _ := testNotifications(t)
	ctx := context.Background()
	// The tenant writes German; a customer who registered in English gets English.
	p := ts.profiles[shopID]
	p.Locale = "de-DE"
	ts.profiles[shopID] = p
	if err := n.Handle(ctx, event(t, "user.registered", 1, `{"user_id":"c-en","email":"en@example.com","locale":"en-GB"}`)); err != nil {
		t.Fatal(err)
	}
	if ts.locales[shopID+"/c-en"] != "en-GB" {
		t.Fatalf("the customer's locale was not remembered: %v", ts.locales)
	}
	for _, c := range []struct{ customer, wantSubject string }{
		{"c-en", "Acme Outdoor: your order o-5 has been cancelled"},
		{"c-unknown", "Acme Outdoor: Ihre Bestellung o-5 wurde storniert"},
	} {
		s.sent = nil
		data := fmt.Sprintf(`{"order_id":"o-5","customer_id":%q,"customer_email":"a@example.com"}`, c.customer)
		if err := n.Handle(ctx, event(t, "order.cancelled", 1, data)); err != nil {
			t.Fatal(err)
		}
		if got := s.sent[0].Subject; got != c.wantSubject {
			t.Errorf("customer %s: subject %q, want %q", c.customer, got, c.wantSubject)
		}
	}
	s.sent = nil
	if err := n.Handle(ctx, event(t, "user.registered", 1, `{"user_id":"c-de","email":"de@example.com"}`)); err != nil {
		t.Fatal(err)
	}
	if got := s.sent[0].Subject; got != "Willkommen bei Acme Outdoor" {
		t.Errorf("no customer locale: subject %q, want the tenant's German", got)
	}
}

func TestPreview(t *testing.T) {
	n, _, _, _ := testNotifications(t)
	ev := event(t, "product.inventory_low", 1, `{"product_id":"p-1","sku":"S","name":"Tent","inventory_quantity":2,"low_stock_threshold":5}`)
	m, err := n.preview(ev, tenants.Profile{Name: "Preview Shop", OwnerEmail: "o@preview.example"}, "de")
	if err != nil {
		t.Fatal(err)
	}
	if m.To[0].Email != "o@preview.example" || m.Subject != "Preview Shop: Tent wird knapp (noch 2)" {
		t.Errorf("preview: to %+v, subject %q", m.To, m.Subject)
	}
	if _, err := n.preview(event(t, "user.updated", 1, `{"user_id":"u"}`), tenants.Profile{}, ""); err == nil {
		t.Error("preview of an event without an email: want an error")
	}
}

// Every example of every type the notifications consumer receives makes an email.
func TestEveryExampleRenders(t *testing.T) {
	reg, err := registry.Default()
	if err != nil {
		t.Fatal(err)
	}
	n, s, _, _ := testNotifications(t)
	for _, typ := range reg.EventsOf(ConsumerNotifications) {
		et, err := reg.Type(typ)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range et.Versions {
			for _, ex := range v.Examples {
				var env struct {
					Type string `json:"event_type"`
				}
				if err := json.Unmarshal(ex.Event, &env); err != nil {
					t.Fatal(err)
				}
				ev, err := reg.Validate(env.Type, ex.Event)
				if err != nil {
					t.Fatal(err)
				}
				ev.TenantID = shopID
				s.sent = nil
				if err := n.Handle(context.Background(), ev); err != nil {
					t.Errorf("%s v%d example %s: %v", typ, v.Version, ex.Name, err)
				} else if len(s.sent) != 1 {
					t.Errorf("%s v%d example %s: %d emails", typ, v.Version, ex.Name, len(s.sent))
				}
			}
		}
	}
}

// TestSwitchedOffEmailsAndExtraHeaders: an email switched off for the tenant is suppressed and
// counted, as for a suspended tenant; the extra headers carry the email's own values.
func TestSwitchedOffEmailsAndExtraHeaders(t *testing.T) {
	n, s, _, m := testNotifications(t)
	n.disabled = func(tenant, template string) bool { return tenant == shopID && template == emails.OrderCancelled }
	n.headers = []mailer.Header{{Name: "Feedback-ID", Value: "{template}:{tenant}:{event_type}"}, {Name: "X-PM-Tag", Value: "transactional"}}

	err := n.Handle(context.Background(), event(t, "order.cancelled", 1, `{"order_id":"o-5","customer_id":"c-1","customer_email":"alice@example.com"}`))
	if !errors.Is(err, handling.ErrSuppressed) || len(s.sent) != 0 {
		t.Errorf("Handle = %v with %d emails sent, want ErrSuppressed and none", err, len(s.sent))
	}
	if got := testutil.ToFloat64(m.Suppressed.WithLabelValues(emails.OrderCancelled)); got != 1 {
		t.Errorf("suppressed = %v, want 1", got)
	}

	if err := n.Handle(context.Background(), event(t, "order.confirmed", 1, `{"order_id":"o-4","customer_id":"c-1","customer_email":"alice@example.com","amount":1,"currency":"EUR"}`)); err != nil {
		t.Fatal(err)
	}
	want := []mailer.Header{{Name: "Feedback-ID", Value: "order_confirmed:" + shopID + ":order.confirmed"}, {Name: "X-PM-Tag", Value: "transactional"}}
	if len(s.sent) != 1 || !slices.Equal(s.sent[0].Headers, want) {
		t.Errorf("headers %+v, want %+v", s.sent, want)
	}
}

// memCatalog is a product catalog of known products.
type memCatalog map[string]cache.ProductInfo

func (c memCatalog) Products(_ context.Context, _ string, ids []string) map[string]cache.ProductInfo {
	out := map[string]cache.ProductInfo{}
	for _, id := range ids {
		if p, ok := c[id]; ok {
			out[id] = p
		}
	}
	return out
}

// TestOrderConfirmedNamesItsProducts: order.confirmed names its items by product ID only; the
// email shows the cached name and SKU where the cache knows the product, else the ID.
func TestOrderConfirmedNamesItsProducts(t *testing.T) {
	n, s, _, _ := testNotifications(t)
	n.products = memCatalog{"p-1": {Name: "Trail Tent", SKU: "TENT-2P"}}
	ev := event(t, "order.confirmed", 1, `{"order_id":"o-4","customer_id":"c-1","customer_email":"alice@example.com","amount":10,"currency":"EUR","items":[{"product_id":"p-1","quantity":1},{"product_id":"p-2","quantity":2}]}`)
	if err := n.Handle(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"1 × Trail Tent (TENT-2P)", "2 × p-2"} {
		if !strings.Contains(s.sent[0].Text, want) || !strings.Contains(s.sent[0].HTML, want) {
			t.Errorf("the email lacks %q:\n%s", want, s.sent[0].Text)
		}
	}
}

// TestPlatformNameSignsOwnerEmails: EVENTWORKER_PLATFORM_NAME, when set, is the From name and the
// header of the emails to owners; customers still hear from the shop.
func TestPlatformNameSignsOwnerEmails(t *testing.T) {
	n, s, _, _ := testNotifications(t)
	n.platform = "Shopfront Commerce"
	if err := n.Handle(context.Background(), event(t, "product.inventory_low", 1, `{"product_id":"p-1","sku":"TENT-2","name":"Tent","inventory_quantity":2,"low_stock_threshold":5}`)); err != nil {
		t.Fatal(err)
	}
	if m := s.sent[0]; m.From.Name != "Shopfront Commerce" || !strings.HasPrefix(m.Text, "Shopfront Commerce\n") {
		t.Errorf("From %+v, text starting %.40q: want the platform's name", m.From, m.Text)
	}
}
