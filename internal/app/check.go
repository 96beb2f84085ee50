package app

import (
	"errors"
	"fmt"

	"github.com/eventworker/eventworker/config"
	"github.com/eventworker/eventworker/internal/broker"
	"github.com/eventworker/eventworker/internal/emails"
	"github.com/eventworker/eventworker/internal/mailer"
	"github.com/eventworker/eventworker/internal/redisclient"
)

// Check reports, all at once, every problem of cfg that would stop the worker after it started:
// the registry (loaded and linted), the Redis URL and CA file as the Redis client reads them,
// the AMQP CA file, the mail URL and its ca_file as the mailer reads them, the sender address and
// the template overrides. It connects to nothing. `eventworker config` and `run` call it, so a
// mistake is found before anything connects, with the others.
func Check(cfg *config.Config) error {
	errs := []error{checkWorker(cfg)}
	if reg, err := LoadRegistry(cfg.RegistryFile); err != nil {
		errs = append(errs, fmt.Errorf("EVENTWORKER_REGISTRY_FILE: %w", err))
	} else if problems := reg.Lint(); len(problems) > 0 {
		errs = append(errs, fmt.Errorf("registry does not pass lint: %w", errors.Join(problems...)))
	}
	if err := redisclient.Check(cfg.RedisURL, cfg.RedisCAFile); err != nil {
		errs = append(errs, fmt.Errorf("EVENTWORKER_REDIS_URL: %w", err))
	}
	if _, err := broker.TLSConfig(cfg.AMQPURL, cfg.AMQPCAFile); err != nil {
		errs = append(errs, fmt.Errorf("EVENTWORKER_AMQP_CA_FILE: %w", err))
	}
	if err := mailer.Check(mailer.Config{URL: cfg.MailURL, Timeout: cfg.MailTimeout, Rate: cfg.MailRate, Connections: cfg.MailConnections}); err != nil {
		errs = append(errs, fmt.Errorf("EVENTWORKER_MAIL_URL: %w", err))
	}
	if _, err := MailFrom(cfg.MailFrom); err != nil {
		errs = append(errs, err)
	}
	if _, err := mailHeaders(cfg); err != nil {
		errs = append(errs, err)
	}
	if _, err := emails.New(emails.Config{Dir: cfg.TemplateDir}); err != nil {
		errs = append(errs, fmt.Errorf("EVENTWORKER_TEMPLATE_DIR: %w", err))
	}
	return errors.Join(errs...)
}
