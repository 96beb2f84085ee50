package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"runtime"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/eventworker/eventworker/cache"
	"github.com/eventworker/eventworker/config"
	"github.com/eventworker/eventworker/handlers"
	"github.com/eventworker/eventworker/internal/broker"
	"github.com/eventworker/eventworker/internal/health"
	"github.com/eventworker/eventworker/internal/idempotency"
	"github.com/eventworker/eventworker/internal/logging"
	"github.com/eventworker/eventworker/internal/mailer"
	"github.com/eventworker/eventworker/internal/metrics"
	"github.com/eventworker/eventworker/internal/version"
	"github.com/eventworker/eventworker/internal/worker"
	"github.com/eventworker/eventworker/internal/worker/handling"
	"github.com/eventworker/eventworker/publisher"
	"github.com/eventworker/eventworker/registry"
)

// Option changes a part of what Run builds.
type Option func(*options)

type options struct {
	build func(handlers.Deps) []handling.Handler
	rdb   redis.UniversalClient
}

// WithHandlers runs the handlers build returns instead of handlers.All's.
func WithHandlers(build func(handlers.Deps) []handling.Handler) Option {
	return func(o *options) { o.build = build }
}

// WithRedis uses rdb instead of a client for cfg.RedisURL; the caller keeps it and closes it.
func WithRedis(rdb redis.UniversalClient) Option {
	return func(o *options) { o.rdb = rdb }
}

// Run starts the worker with cfg and the handlers of handlers.All, and blocks until ctx ends
// (SIGTERM or SIGINT) and the worker has shut down gracefully.
func Run(ctx context.Context, cfg *config.Config, log *slog.Logger, opts ...Option) error {
	o := options{build: handlers.All}
	for _, opt := range opts {
		opt(&o)
	}
	reg, err := LoadRegistry(cfg.RegistryFile)
	if err != nil {
		return err
	}
	if problems := reg.Lint(); len(problems) > 0 {
		return fmt.Errorf("registry does not pass lint: %w", errors.Join(problems...))
	}

	// go-redis's own lines (a failed dial while Redis is down) join the JSON log.
	redis.SetLogger(logging.NewRedisLogger(log))
	rdb := o.rdb
	if rdb == nil {
		if rdb, err = cache.NewClientWithCA(cfg.RedisURL, cfg.RedisCAFile); err != nil {
			return fmt.Errorf("EVENTWORKER_REDIS_URL: %w", err)
		}
		defer rdb.Close()
	}

	promReg := metrics.NewRegistry()
	m := metrics.New(promReg)
	m.SetBuildInfo(version.Current(), version.Revision(), runtime.Version())

	amqpTLS, err := broker.TLSConfig(cfg.AMQPURL, cfg.AMQPCAFile)
	if err != nil {
		return fmt.Errorf("EVENTWORKER_AMQP_CA_FILE: %w", err)
	}
	derived := &lazyPublisher{cfg: publisher.Config{URL: cfg.AMQPURL, TLSConfig: amqpTLS, Registry: reg, Producer: "eventworker", ConnectionName: "eventworker-derived", Logger: log}}
	defer derived.Close()
	deps, closeDeps, err := HandlerDeps(ctx, cfg, log, rdb, promReg, derived)
	if err != nil {
		return err
	}
	defer closeDeps()
	hs := o.build(deps)

	confirmer := broker.NewConfirmer(cfg.AMQPURL, "eventworker-confirm", 10*time.Second, amqpTLS)
	defer confirmer.Close()

	w, err := worker.New(worker.Deps{
		Config: WorkerConfig(cfg), Registry: reg, Handlers: hs,
		Dedupe:    idempotency.New(rdb, cfg.CachePrefix, cfg.IdempotencyTTL, cfg.LeaseTTL),
		Runs:      idempotency.NewRuns(rdb, cfg.CachePrefix),
		Confirmer: confirmer, TLS: amqpTLS, Metrics: m, Logger: log,
	})
	if err != nil {
		return err
	}

	srv := health.New(cfg.HTTPAddr, promReg,
		health.Check{Name: "rabbitmq", Fn: w.Ready},
		health.Check{Name: "redis", Fn: func(ctx context.Context) error { return rdb.Ping(ctx).Err() }},
	)
	srv.OnReady = func(ready bool) { m.Ready.Set(boolFloat(ready)) }
	if err := srv.Start(ctx); err != nil {
		return err
	}
	// Keep eventworker_ready current when nothing probes /readyz.
	go srv.Watch(ctx, 10*time.Second)
	log.Info("eventworker starting", "version", version.Current(), "http_addr", cfg.HTTPAddr,
		"queue_prefix", cfg.QueuePrefix, "consumers", strings.Join(reg.Consumers(), ","))

	// Readiness turns false the moment shutdown begins, before consumption stops; the
	// listener itself goes last, so probes and scrapes see the drain.
	stop := context.AfterFunc(ctx, srv.SetDraining)
	defer stop()
	runErr := w.Run(ctx)
	// Scrapes and probes answer in milliseconds; the shutdown's deadline is past or near.
	shutdownCtx, cancel := context.WithTimeout(context.Background(), config.ExitMargin/2)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		log.Warn("http shutdown", "error", err.Error())
	}
	return runErr
}

// MailFrom parses EVENTWORKER_MAIL_FROM.
func MailFrom(raw string) (mailer.Address, error) {
	a, err := mail.ParseAddress(raw)
	if err != nil {
		return mailer.Address{}, fmt.Errorf("EVENTWORKER_MAIL_FROM %q: %w", raw, err)
	}
	return mailer.Address{Name: a.Name, Email: a.Address}, nil
}

// LoadRegistry loads the embedded registry, or the file named in EVENTWORKER_REGISTRY_FILE.
func LoadRegistry(path string) (*registry.Registry, error) {
	if path == "" {
		return registry.Default()
	}
	return registry.LoadFile(path)
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
