package handlers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/eventworker/eventworker/cache"
	"log/slog"
	"strings"
	"time"

	"github.com/eventworker/eventworker/internal/emails"
	"github.com/eventworker/eventworker/internal/mailer"
	"github.com/eventworker/eventworker/internal/tenants"
	"github.com/eventworker/eventworker/internal/worker/handling"
	"github.com/eventworker/eventworker/registry"
)

// ConsumerNotifications is the notifications consumer of registry.yaml.
const ConsumerNotifications = "notifications"

// errNoTenantProfile reports an email that needs the tenant's profile (the low-stock alert's
// recipient) before tenant.provisioned was seen. It is transient: the profile may arrive.
var errNoTenantProfile = errors.New("no tenant profile yet (tenant.provisioned not seen)")

// MailSender delivers rendered emails.
type MailSender interface {
	Send(ctx context.Context, m *mailer.Message) error
}

// tenantDirectory is what the notifications consumer reads and keeps about tenants and their
// customers; *tenants.Store is one.
type tenantDirectory interface {
	// Recipient returns the tenant's profile and, for a userID, the locale that customer
	// registered with, after storing remember as that locale when it is set: one command.
	Recipient(ctx context.Context, tenantID, userID, remember string) (p tenants.Profile, hasProfile bool, locale string, err error)
}

// productCatalog is where the order emails find the names and SKUs of the products an event
// names by ID only (order.confirmed); *cache.Cache is one. Misses are absent from the result.
type productCatalog interface {
	Products(ctx context.Context, tenantID string, ids []string) map[string]cache.ProductInfo
}

// notifications sends the contract's emails: order received, payment reminder, order
// confirmed and cancelled, welcome, tenant welcome and the low-stock alert.
type notifications struct {
	from     mailer.Address
	platform string // the platform's name
	support  string // the platform's support address
	headers  []mailer.Header
	disabled func(tenant, template string) bool // nil: none
	renderer *emails.Renderer
	mail     MailSender
	tenants  tenantDirectory
	products productCatalog // nil: IDs only
	metrics  *mailer.Metrics
	log      *slog.Logger
}

// notificationsDeps is what the notifications consumer needs.
type notificationsDeps struct {
	// From is the platform's sender address; its name stands in for the shop's until the
	// tenant's profile is known.
	From mailer.Address
	// PlatformName signs owner emails; empty: From's name.
	PlatformName string
	// PlatformSupport is where shop owners write to the platform; may be empty.
	PlatformSupport string
	// Headers are extra header fields, with placeholders (see Deps.MailHeaders).
	Headers []mailer.Header
	// Disabled tells which emails are switched off; nil: none.
	Disabled func(tenant, template string) bool
	Renderer *emails.Renderer
	Mail     MailSender
	Tenants  tenantDirectory
	// Products names the products of order.confirmed; nil shows their IDs.
	Products productCatalog
	Metrics  *mailer.Metrics // may be nil
	Logger   *slog.Logger
}

// newNotifications returns the notifications handler.
func newNotifications(d notificationsDeps) *notifications {
	log := d.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	platform := d.PlatformName
	if platform == "" {
		platform = d.From.Name
	}
	return &notifications{from: d.From, platform: platform, support: d.PlatformSupport, headers: d.Headers, disabled: d.Disabled, renderer: d.Renderer, products: d.Products, mail: d.Mail, tenants: d.Tenants, metrics: d.Metrics, log: log}
}

// Consumer implements handling.Handler.
func (n *notifications) Consumer() string { return ConsumerNotifications }

// EventTypes implements handling.Handler: the events Handle dispatches on.
func (n *notifications) EventTypes() []string {
	return handling.TypesOf(&registry.OrderCreated{}, &registry.OrderPendingPayment{}, &registry.OrderConfirmed{}, &registry.OrderCancelled{}, &registry.UserRegistered{}, &registry.TenantProvisioned{}, &registry.ProductInventoryLow{})
}

// Handle sends the event's email once. A suspended tenant's emails are suppressed; an SMTP
// rejection or an invalid recipient is permanent; a mail server that cannot be reached is
// Unavailable (the email waits for it); everything else is retried.
func (n *notifications) Handle(ctx context.Context, ev *registry.Event) error {
	out, err := compose(ev)
	if err != nil {
		return handling.Permanent(err)
	}
	user := out.customerID
	if out.rememberLocale != "" {
		user = out.userID
	}
	profile, hasProfile, customerLocale, err := n.tenants.Recipient(ctx, ev.TenantID, user, out.rememberLocale)
	if err != nil {
		return storeError(ev, fmt.Errorf("%s email: %w", out.template, err))
	}
	if profile.Suspended {
		if n.metrics != nil {
			n.metrics.Suppressed.WithLabelValues(out.template).Inc()
		}
		return fmt.Errorf("%s email: tenant %s is suspended: %w", out.template, ev.TenantID, handling.ErrSuppressed)
	}
	if n.disabled != nil && n.disabled(ev.TenantID, out.template) {
		if n.metrics != nil {
			n.metrics.Suppressed.WithLabelValues(out.template).Inc()
		}
		return fmt.Errorf("%s email of tenant %s: switched off (EVENTWORKER_MAIL_DISABLE): %w", out.template, ev.TenantID, handling.ErrSuppressed)
	}
	if out.toOwner {
		if !hasProfile || profile.OwnerEmail == "" {
			return fmt.Errorf("%s email to the owner of tenant %s: %w", out.template, ev.TenantID, errNoTenantProfile)
		}
		out.to = mailer.Address{Email: profile.OwnerEmail}
	}
	n.nameProducts(ctx, ev.TenantID, out.view.Order)
	locales := out.locales
	if out.customerID != "" {
		locales = append([]string{customerLocale}, locales...)
	}
	msg, err := n.message(ev, out, profile, hasProfile, locales)
	if err != nil {
		return err
	}
	if err := n.mail.Send(ctx, msg); err != nil {
		err = fmt.Errorf("send %s email: %w", out.template, err)
		switch {
		case mailer.IsPermanent(err):
			return handling.Permanent(err)
		case mailer.IsUnavailable(err):
			return handling.Unavailable(err)
		}
		return err
	}
	// ctx names the event (see logging.WithEvent).
	n.log.InfoContext(ctx, "email sent", "template", out.template, "message_id", msg.MessageID)
	return nil
}

// PreviewEmail renders the email the notifications consumer would send for ev, for a tenant with
// profile, in locale when given (else as it would choose), from d.MailFrom with d.Emails'
// templates, without sending it or reading any state: `eventworker preview`.
func PreviewEmail(d Deps, ev *registry.Event, profile tenants.Profile, locale string) (*mailer.Message, error) {
	return newNotifications(notificationsDeps{From: d.MailFrom, PlatformName: d.PlatformName, PlatformSupport: d.PlatformSupport, Renderer: d.Emails}).preview(ev, profile, locale)
}

// preview renders the email ev would send (PreviewEmail).
func (n *notifications) preview(ev *registry.Event, profile tenants.Profile, locale string) (*mailer.Message, error) {
	out, err := compose(ev)
	if err != nil {
		return nil, err
	}
	if out.toOwner {
		out.to = mailer.Address{Email: profile.OwnerEmail}
	}
	locales := append([]string{out.rememberLocale}, out.locales...)
	if locale != "" {
		locales = []string{locale}
	}
	return n.message(ev, out, profile, true, locales)
}

// message renders out into an email: branded for the tenant when it goes to a customer, from the
// platform when it goes to the shop's owner.
func (n *notifications) message(ev *registry.Event, out *outgoing, profile tenants.Profile, hasProfile bool, locales []string) (*mailer.Message, error) {
	shop := emails.Shop{Name: n.from.Name, SupportEmail: profile.SupportEmail,
		LogoURL: profile.LogoURL, URL: profile.WebsiteURL, LegalNotice: profile.LegalNotice}
	switch {
	case out.shopName != "":
		shop.Name = out.shopName
	case hasProfile && profile.Name != "":
		shop.Name = profile.Name
	}
	if out.supportEmail != "" {
		shop.SupportEmail = out.supportEmail
	}
	out.view.Shop = shop
	out.view.Platform = emails.Platform{Name: n.platform, SupportEmail: n.support}
	locales = append(locales, profile.Locale)
	loc, err := n.renderer.Locale(ev.TenantID, profile.Timezone, locales...)
	if err != nil {
		return nil, fmt.Errorf("%s email: %w", out.template, err)
	}
	e, err := n.renderer.Render(ev.TenantID, out.template, loc, out.view)
	if err != nil {
		return nil, fmt.Errorf("%s email: %w", out.template, err)
	}
	from, replyTo := mailer.Address{Name: shop.Name, Email: n.from.Email}, shop.SupportEmail
	if emails.ToOwner(out.template) {
		// The owner's own shop is not who writes: the platform is, and replies go to it.
		from, replyTo = mailer.Address{Name: n.platform, Email: n.from.Email}, n.support
	}
	msg := &mailer.Message{
		From:      from,
		To:        []mailer.Address{out.to},
		Subject:   e.Subject,
		Text:      e.Text,
		HTML:      e.HTML,
		MessageID: MessageID(ev.ID, out.template, n.from.Email),
		Date:      time.Now(),
		Template:  out.template,
	}
	if replyTo != "" {
		msg.ReplyTo = &mailer.Address{Name: from.Name, Email: replyTo}
	}
	if len(n.headers) > 0 {
		fill := strings.NewReplacer("{template}", out.template, "{tenant}", ev.TenantID, "{event_type}", ev.Type, "{event_id}", ev.ID)
		msg.Headers = make([]mailer.Header, len(n.headers))
		for i, h := range n.headers {
			msg.Headers[i] = mailer.Header{Name: h.Name, Value: fill.Replace(h.Value)}
		}
	}
	return msg, nil
}

// MessageID derives the Message-ID of an event's email from its event ID and template, so a
// resend after a crash carries the same one and receivers can drop the duplicate.
func MessageID(eventID, template, from string) string {
	sum := sha256.Sum256([]byte(eventID + "\x00" + template))
	domain := "eventworker.invalid"
	if i := strings.LastIndexByte(from, '@'); i >= 0 && i < len(from)-1 {
		domain = from[i+1:]
	}
	return hex.EncodeToString(sum[:16]) + "." + template + "@" + domain
}

// nameProducts fills in the names and SKUs the cache knows for the order's items that came
// without a name; an item it does not know keeps its product ID.
func (n *notifications) nameProducts(ctx context.Context, tenantID string, o *emails.Order) {
	if n.products == nil || o == nil {
		return
	}
	var ids []string
	for _, it := range o.Items {
		if it.Name == "" {
			ids = append(ids, it.ProductID)
		}
	}
	if len(ids) == 0 {
		return
	}
	known := n.products.Products(ctx, tenantID, ids)
	for i, it := range o.Items {
		if p, ok := known[it.ProductID]; ok && it.Name == "" {
			o.Items[i].Name, o.Items[i].SKU = p.Name, p.SKU
		}
	}
}
