package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/extra/redisotel/v9"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/trace"

	"github.com/eventworker/eventworker/config"
	"github.com/eventworker/eventworker/handlers"
	"github.com/eventworker/eventworker/internal/backlog"
	"github.com/eventworker/eventworker/internal/broker"
	"github.com/eventworker/eventworker/internal/idempotency"
	"github.com/eventworker/eventworker/internal/logging"
	"github.com/eventworker/eventworker/internal/metrics"
	"github.com/eventworker/eventworker/internal/redisclient"
	"github.com/eventworker/eventworker/internal/tracing"
	"github.com/eventworker/eventworker/internal/tracing/otlp"
	"github.com/eventworker/eventworker/internal/version"
	"github.com/eventworker/eventworker/internal/worker"
	"github.com/eventworker/eventworker/internal/worker/handling"
	"github.com/eventworker/eventworker/publisher"
	"github.com/eventworker/eventworker/publisher/amqpnodes"
	"github.com/eventworker/eventworker/publisher/watermillbus"
	"github.com/eventworker/eventworker/registry"
)

// Option changes a part of what New builds.
type Option func(*options)

type options struct {
	build     func(handlers.Deps) []handling.Handler
	rdb       redis.UniversalClient
	transport worker.Transport
	derived   func(handlers.EventPublisher) handlers.EventPublisher
	tracing   *otlp.Tracing
}

// WithTracing traces with t instead of as the OTEL_* variables say; the caller shuts it down.
func WithTracing(t *otlp.Tracing) Option {
	return func(o *options) { o.tracing = t }
}

// WithHandlers runs the handlers build returns instead of handlers.All's.
func WithHandlers(build func(handlers.Deps) []handling.Handler) Option {
	return func(o *options) { o.build = build }
}

// WithRedis uses rdb instead of a client for cfg.RedisURL; the caller keeps it and closes it.
func WithRedis(rdb redis.UniversalClient) Option {
	return func(o *options) { o.rdb = rdb }
}

// WithTransport carries the messages over t instead of RabbitMQ (the demo's in-process
// transport); cfg.AMQPURL is then never dialled. When t has a Watermill publisher
// (Publisher() message.Publisher), the derived events are published through it.
func WithTransport(t worker.Transport) Option {
	return func(o *options) { o.transport = t }
}

// WithDerived wraps the publisher of derived events (the demo records what it publishes).
func WithDerived(wrap func(handlers.EventPublisher) handlers.EventPublisher) Option {
	return func(o *options) { o.derived = wrap }
}

// App is the worker and everything it was built from, in one place: `run`, `demo` and
// `bench` all build it with New.
type App struct {
	Config   *config.Config
	Registry *registry.Registry
	Logger   *slog.Logger
	Worker   *worker.Worker
	// Redis is the client of the worker's stores and the shared cache.
	Redis redis.UniversalClient
	// Metrics are the worker's, registered with Prometheus, the registry /metrics serves.
	Metrics    *metrics.Metrics
	Prometheus *prometheus.Registry
	// Deps are what the handlers were built from: the cache, the tenants, the counters, the
	// sender address.
	Deps handlers.Deps
	// Tracing is the tracer provider of the worker's spans, as the OTEL_* variables set it up.
	Tracing *otlp.Tracing
	// Backlog reads the depth of the worker's queues from RabbitMQ while Serve runs; nil over
	// another transport (there is no broker to read) or with EVENTWORKER_BACKLOG_INTERVAL=0.
	Backlog *backlog.Poller

	closers []func()
	// stopBy is when what is left to stop after the worker must be done, set by Serve.
	stopBy time.Time
}

// New builds the worker from cfg: the registry (loaded and linted), the Redis client, the
// metrics, the handlers and what they need, the store of handled events, and the transport
// (RabbitMQ, with a confirmer for retries and dead letters, unless WithTransport). It connects
// to nothing that may be down: the worker connects when it runs. Close releases what New
// opened.
func New(ctx context.Context, cfg *config.Config, log *slog.Logger, opts ...Option) (a *App, err error) {
	o := options{build: handlers.All}
	for _, opt := range opts {
		opt(&o)
	}
	a = &App{Config: cfg, Logger: log}
	// A failure returns a nil *App, and the closers refer to a: give it back to them while
	// they release what was opened.
	built := a
	defer func() {
		if err != nil {
			a = built
			a.Close()
			a = nil
		}
	}()
	if a.Registry, err = LoadRegistry(cfg.RegistryFile); err != nil {
		return nil, err
	}
	if problems := a.Registry.Lint(); len(problems) > 0 {
		return nil, fmt.Errorf("registry does not pass lint: %w", errors.Join(problems...))
	}

	if a.Tracing = o.tracing; a.Tracing == nil {
		if a.Tracing, err = StartTracing(ctx, log); err != nil {
			return nil, err
		}
		// Registered first, closed last: the spans of the worker's last events are flushed.
		a.onClose(func() { a.stopTracing(log) })
	}
	// The spans the worker makes itself; nil when tracing is off.
	var tp trace.TracerProvider
	if a.Tracing.Enabled {
		tp = a.Tracing.Provider
	}

	// go-redis's own lines (a failed dial while Redis is down) join the JSON log.
	redis.SetLogger(logging.NewRedisLogger(log))
	a.Redis = o.rdb
	if a.Redis == nil {
		if a.Redis, err = redisclient.New(cfg.RedisURL, cfg.RedisCAFile); err != nil {
			return nil, fmt.Errorf("EVENTWORKER_REDIS_URL: %w", err)
		}
		a.onClose(func() { _ = a.Redis.Close() })
	}
	if tp != nil {
		// A span per command inside an event's trace. The statements stay out of the spans:
		// they hold the cached data, customers' emails among them. So does the caller's file
		// and line, which costs a stack walk per command.
		if err := redisotel.InstrumentTracing(a.Redis, redisotel.WithTracerProvider(tracing.ChildrenOnly(tp)),
			redisotel.WithDBStatement(false), redisotel.WithCallerEnabled(false)); err != nil {
			return nil, fmt.Errorf("trace the Redis client: %w", err)
		}
	}
	a.Prometheus = metrics.NewRegistry()
	a.Metrics = metrics.New(a.Prometheus)
	a.Metrics.SetBuildInfo(version.Current(), version.Revision(), runtime.Version())

	deps := worker.Deps{
		Config: WorkerConfig(cfg), Registry: a.Registry, Transport: o.transport,
		Dedupe:  idempotency.New(a.Redis, cfg.CachePrefix, cfg.IdempotencyTTL, cfg.LeaseTTL),
		Runs:    idempotency.NewRuns(a.Redis, cfg.CachePrefix),
		Metrics: a.Metrics, Logger: log, Tracer: tp,
	}
	var derived handlers.EventPublisher
	if withBus, ok := o.transport.(interface{ Publisher() message.Publisher }); ok {
		pub, err := watermillbus.New(withBus.Publisher(), publisher.Config{Registry: a.Registry, Producer: "eventworker", Logger: log,
			TracerProvider: a.Tracing.Provider})
		if err != nil {
			return nil, err
		}
		a.onClose(func() { _ = pub.Close() })
		derived = pub
	} else if o.transport == nil {
		if deps.TLS, err = broker.TLSConfig(cfg.AMQPURL, cfg.AMQPCAFile); err != nil {
			return nil, fmt.Errorf("EVENTWORKER_AMQP_CA_FILE: %w", err)
		}
		// Every AMQP client has its series of eventworker_amqp_connected_node, one per node.
		nodes, err := amqpnodes.Parse(cfg.AMQPURL)
		if err != nil {
			return nil, fmt.Errorf("EVENTWORKER_AMQP_URL: %w", err)
		}
		for _, c := range metrics.AllClients() {
			a.Metrics.InitAMQPNodes(c, amqpnodes.Addrs(nodes))
		}
		lazy := &lazyPublisher{cfg: publisher.Config{URL: cfg.AMQPURL, TLSConfig: deps.TLS, Registry: a.Registry,
			Producer: "eventworker", ConnectionName: "eventworker-derived", Logger: log, TracerProvider: a.Tracing.Provider,
			NodeObserver: nodeGauge{a.Metrics, metrics.ClientDerived}}}
		a.onClose(func() { _ = lazy.Close() })
		derived = lazy
		deps.Confirmer = broker.NewConfirmer(cfg.AMQPURL, "eventworker-confirm", 10*time.Second, deps.TLS,
			broker.WithConfirmerLogger(log), broker.WithConfirmerObserve(nodeGauge{a.Metrics, metrics.ClientConfirm}.ObserveNode))
		a.onClose(func() { _ = deps.Confirmer.Close() })
		// The worker declares its queues when it starts consuming: no missing queue before.
		consuming := func() bool { return a.Worker != nil && a.Worker.Ready(context.Background()) == nil }
		if a.Backlog, err = newBacklog(cfg, a.Registry, deps.TLS, a.Prometheus, log, consuming,
			nodeGauge{a.Metrics, metrics.ClientBacklog}.ObserveNode); err != nil {
			return nil, err
		}
	} else {
		return nil, errors.New("the transport has no Watermill publisher for the derived events")
	}
	if o.derived != nil {
		derived = o.derived(derived)
	}
	var closeDeps func()
	if a.Deps, closeDeps, err = HandlerDeps(ctx, cfg, log, a.Redis, a.Prometheus, derived, tp); err != nil {
		return nil, err
	}
	a.onClose(closeDeps)
	deps.Handlers = o.build(a.Deps)
	if a.Worker, err = worker.New(deps); err != nil {
		return nil, err
	}
	return a, nil
}

// nodeGauge sets an AMQP client's series of eventworker_amqp_connected_node; it is a
// publisher.NodeObserver.
type nodeGauge struct {
	m      *metrics.Metrics
	client string
}

// ObserveNode implements publisher.NodeObserver.
func (g nodeGauge) ObserveNode(node string, connected bool) {
	g.m.AMQPConnected(g.client, node, connected)
}

// onClose registers f for Close, which runs them last in, first out.
func (a *App) onClose(f func()) { a.closers = append(a.closers, f) }

// Close releases what New opened, in reverse order. Stop the worker's Run first.
func (a *App) Close() {
	for _, f := range slices.Backward(a.closers) {
		f()
	}
	a.closers = nil
}

// RedisReady pings Redis, for readiness.
func (a *App) RedisReady(ctx context.Context) error { return a.Redis.Ping(ctx).Err() }
