package handlers

import (
	"log/slog"

	"github.com/eventworker/eventworker/internal/emails"
	"github.com/eventworker/eventworker/internal/mailer"
)

// Deps is what the handlers need from the outside; internal/app builds it in one place.
type Deps struct {
	Logger *slog.Logger
	// Tenants holds tenant profiles, suspension flags and customers' locales.
	Tenants TenantDirectory
	// MailFrom is the platform's sender address.
	MailFrom    mailer.Address
	Mail        MailSender
	Emails      *emails.Renderer
	MailMetrics *mailer.Metrics
}

// All is the one explicit list of the worker's handlers, one per consumer of registry.yaml.
// Adding a consumer is a handler file and a line here; registry.yaml alone decides which events
// reach it. The worker refuses to start while this list and the registry's consumers differ.
func All(d Deps) []Handler {
	return []Handler{
		NewNotifications(NotificationsDeps{
			From: d.MailFrom, Renderer: d.Emails, Mail: d.Mail, Tenants: d.Tenants,
			Metrics: d.MailMetrics, Logger: d.Logger,
		}),
		// The cache, inventory, tenants and analytics handlers are added with issue 5.
	}
}
