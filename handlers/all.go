package handlers

import (
	"log/slog"

	"github.com/eventworker/eventworker/cache"
	"github.com/eventworker/eventworker/internal/analytics"
	"github.com/eventworker/eventworker/internal/emails"
	"github.com/eventworker/eventworker/internal/mailer"
	"github.com/eventworker/eventworker/internal/tenants"
	"github.com/eventworker/eventworker/internal/worker/handling"
)

// Deps is what the handlers need from the outside; internal/app builds it in one place.
type Deps struct {
	Logger *slog.Logger
	// Tenants holds tenant profiles, suspension flags and customers' locales.
	Tenants *tenants.Store
	// MailFrom is the platform's sender address; its name is the platform's.
	MailFrom mailer.Address
	// PlatformName signs the emails to shop owners; empty: MailFrom's name.
	PlatformName string
	// PlatformSupport is the platform's support address for shop owners; may be empty.
	PlatformSupport string
	// MailHeaders are extra header fields of every email; their values may hold {template},
	// {tenant}, {event_type} and {event_id}.
	MailHeaders []mailer.Header
	// MailDisabled, when set, tells which of a tenant's emails are switched off.
	MailDisabled func(tenant, template string) bool
	Mail         MailSender
	Emails       *emails.Renderer
	MailMetrics  *mailer.Metrics
	// Cache is the shared cache the Python services read.
	Cache     *cache.Cache
	Analytics *analytics.Store
	// Inventory keeps stock observations and pending low-stock alerts.
	Inventory InventoryStore
	// Publisher publishes derived events (product.inventory_low).
	Publisher EventPublisher
}

// All is the one explicit list of the worker's handlers, one per consumer of registry.yaml.
// Adding a consumer is a handler file and a line here; registry.yaml alone decides which events
// reach it. The worker refuses to start while this list and the registry's consumers differ.
func All(d Deps) []handling.Handler {
	return []handling.Handler{
		newNotifications(notificationsDeps{
			From: d.MailFrom, PlatformName: d.PlatformName, PlatformSupport: d.PlatformSupport, Headers: d.MailHeaders, Disabled: d.MailDisabled,
			Renderer: d.Emails, Mail: d.Mail, Tenants: d.Tenants, Products: products(d.Cache),
			Metrics: d.MailMetrics, Logger: d.Logger,
		}),
		newCache(d.Cache),
		newInventory(inventoryDeps{Store: d.Inventory, Publisher: d.Publisher, Logger: d.Logger}),
		newTenants(d.Tenants),
		newAnalytics(d.Analytics),
	}
}

// products is c as the notifications consumer's catalog, or none without a cache (a nil
// *cache.Cache must not become a non-nil interface).
func products(c *cache.Cache) productCatalog {
	if c == nil {
		return nil
	}
	return c
}
