package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/trace"

	"github.com/eventworker/eventworker/cache"
	"github.com/eventworker/eventworker/config"
	"github.com/eventworker/eventworker/handlers"
	"github.com/eventworker/eventworker/internal/analytics"
	"github.com/eventworker/eventworker/internal/emails"
	"github.com/eventworker/eventworker/internal/inventory"
	"github.com/eventworker/eventworker/internal/mailer"
	"github.com/eventworker/eventworker/internal/tenants"
)

// HandlerDeps builds what the handlers need from cfg, on the worker's Redis client and metrics
// registry: templates, the mail sender, the cache and the worker's own stores. derived publishes
// the derived events. tp, when not nil, traces the emails' delivery. `run` and `demo` both
// build their handlers' dependencies here, so they cannot drift apart. close releases the mail
// sender.
func HandlerDeps(ctx context.Context, cfg *config.Config, log *slog.Logger, rdb redis.UniversalClient,
	reg prometheus.Registerer, derived handlers.EventPublisher, tp trace.TracerProvider) (d handlers.Deps, close func(), err error) {
	renderer, err := emails.New(emails.Config{Dir: cfg.TemplateDir})
	if err != nil {
		return handlers.Deps{}, nil, err
	}
	from, err := MailFrom(cfg.MailFrom)
	if err != nil {
		return handlers.Deps{}, nil, err
	}
	shared, err := cache.New(rdb, cache.Config{Prefix: cfg.CachePrefix, TTL: cfg.CacheTTL, RecordTTL: cfg.IdempotencyTTL, Metrics: cache.NewMetrics(reg)})
	if err != nil {
		return handlers.Deps{}, nil, err
	}
	mailMetrics := mailer.NewMetrics(reg)
	sender, err := mailer.Open(ctx, mailer.Config{
		URL: cfg.MailURL, Timeout: cfg.MailTimeout, Rate: cfg.MailRate, Connections: cfg.MailConnections,
		Logger: log, Metrics: mailMetrics, Bounce: cfg.MailBounce, Redirect: cfg.MailRedirect, TracerProvider: tp,
	})
	if err != nil {
		return handlers.Deps{}, nil, fmt.Errorf("EVENTWORKER_MAIL_URL: %w", err)
	}
	extra, err := mailHeaders(cfg)
	if err != nil {
		return handlers.Deps{}, nil, err
	}
	disabled, err := config.ParseMailDisable(cfg.MailDisable)
	if err != nil {
		return handlers.Deps{}, nil, fmt.Errorf("EVENTWORKER_MAIL_DISABLE: %w", err)
	}
	if cfg.MailRedirect != "" {
		log.Warn("every email goes to EVENTWORKER_MAIL_REDIRECT instead of its recipients", "redirect", cfg.MailRedirect)
	}
	if strings.HasPrefix(cfg.MailURL, "log:") {
		log.Warn("emails are not sent: EVENTWORKER_MAIL_URL is log://; set smtp:// or smtps:// to send them")
	}
	return handlers.Deps{
		Logger: log, Tenants: tenants.NewWithOptions(rdb, cfg.CachePrefix, tenants.Options{RecordTTL: cfg.IdempotencyTTL}),
		MailFrom: from, PlatformName: cfg.PlatformName, PlatformSupport: cfg.PlatformSupportEmail, Mail: sender, Emails: renderer, MailMetrics: mailMetrics,
		MailHeaders: extra, MailDisabled: disabled.Disabled,
		Cache: shared, Analytics: analytics.New(rdb, cfg.CachePrefix),
		Inventory: inventory.New(rdb, cfg.CachePrefix), Publisher: derived,
	}, func() { _ = sender.Close() }, nil
}

// mailHeaders reads EVENTWORKER_MAIL_HEADERS and checks each field as the mailer will, with its
// placeholders at their longest, so that a field no email could carry stops the start instead of
// dead-lettering every email.
func mailHeaders(cfg *config.Config) ([]mailer.Header, error) {
	parsed, err := config.ParseMailHeaders(cfg.MailHeaders)
	if err != nil {
		return nil, fmt.Errorf("EVENTWORKER_MAIL_HEADERS: %w", err)
	}
	longest := strings.NewReplacer("{template}", strings.Repeat("t", 32), "{tenant}", strings.Repeat("t", 128),
		"{event_type}", strings.Repeat("t", 128), "{event_id}", strings.Repeat("t", 36))
	var out []mailer.Header
	var errs []error
	for _, h := range parsed {
		if err := mailer.CheckHeader(mailer.Header{Name: h.Name, Value: longest.Replace(h.Value)}); err != nil {
			errs = append(errs, fmt.Errorf("EVENTWORKER_MAIL_HEADERS: %w", err))
		}
		out = append(out, mailer.Header{Name: h.Name, Value: h.Value})
	}
	return out, errors.Join(errs...)
}
