package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/eventworker/eventworker/config"
	"github.com/eventworker/eventworker/internal/app"
	"github.com/eventworker/eventworker/internal/broker"
	"github.com/eventworker/eventworker/internal/health"
	"github.com/eventworker/eventworker/publisher"
	"github.com/eventworker/eventworker/publisher/outbox"
)

const relaySummary = "Relay the producers' PostgreSQL outbox to RabbitMQ until SIGTERM"

const relayUsage = `Sends the committed rows of the transactional outbox (table eventworker_outbox, written by
producers with package publisher/outbox) to the events exchange with publisher confirms, in order
per tenant, and marks them sent; sent rows are deleted after 24h. Several relays may run on one
database: each tenant is served by one at a time. Woken by LISTEN/NOTIFY, it also polls every 5s;
while RabbitMQ or PostgreSQL is down it retries with backoff and the rows wait in the table.

Needs EVENTWORKER_OUTBOX_DSN (or --outbox-dsn) and EVENTWORKER_AMQP_URL; serves /metrics and
/healthz on EVENTWORKER_HTTP_ADDR. Stops on SIGTERM or SIGINT.`

// errNoOutboxDSN is the relay's error when no outbox database is configured.
var errNoOutboxDSN = errors.New("EVENTWORKER_OUTBOX_DSN is empty: set it (or --outbox-dsn) to the PostgreSQL URL of the outbox")

func runRelay(ctx context.Context, e *env, path string, args []string) int {
	f := newFlags(path, "Usage: "+path+" [flags]\n\n"+relayUsage)
	config.RegisterFlags(f.FlagSet)
	if status, ok := f.parseFlagsOnly(e, args); !ok {
		return status
	}
	cfg, err := e.loadConfig(f.FlagSet, nil)
	if err != nil {
		return e.fail(path, err)
	}
	if cfg.OutboxDSN == "" {
		return e.fail(path, errNoOutboxDSN)
	}
	reg, err := app.LoadRegistry(cfg.RegistryFile)
	if err != nil {
		return e.fail(path, err)
	}
	amqpTLS, err := broker.TLSConfig(cfg.AMQPURL, cfg.AMQPCAFile)
	if err != nil {
		return e.fail(path, fmt.Errorf("EVENTWORKER_AMQP_CA_FILE: %w", err))
	}
	log := newLogger(e, cfg.LogLevel)
	promReg := prometheus.NewRegistry()
	relay, err := outbox.NewRelay(outbox.Config{
		DSN:        cfg.OutboxDSN,
		Publisher:  publisher.Config{URL: cfg.AMQPURL, TLSConfig: amqpTLS, Registry: reg, ConnectionName: "eventworker-relay", Logger: log},
		Registerer: promReg,
		Logger:     log,
	})
	if err != nil {
		return e.fail(path, err)
	}
	srv := health.New(cfg.HTTPAddr, promReg)
	if err := srv.Start(ctx); err != nil {
		return e.fail(path, err)
	}
	defer func() { _ = srv.Shutdown(context.WithoutCancel(ctx)) }()
	log.Info("outbox relay started", "http_addr", cfg.HTTPAddr)
	if err := relay.Run(ctx); err != nil {
		log.Error("outbox relay stopped", "error", err.Error())
		return e.fail(path, err)
	}
	log.Info("outbox relay stopped")
	return exitOK
}
