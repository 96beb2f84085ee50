package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/eventworker/eventworker/cache"
	"github.com/eventworker/eventworker/config"
	"github.com/eventworker/eventworker/handlers"
	"github.com/eventworker/eventworker/internal/analytics"
	"github.com/eventworker/eventworker/internal/app"
	"github.com/eventworker/eventworker/internal/health"
	"github.com/eventworker/eventworker/internal/localtransport"
	"github.com/eventworker/eventworker/internal/logging"
	"github.com/eventworker/eventworker/internal/mailer"
	"github.com/eventworker/eventworker/internal/metrics"
	"github.com/eventworker/eventworker/internal/redisclient"
	"github.com/eventworker/eventworker/internal/tenants"
	"github.com/eventworker/eventworker/internal/version"
	"github.com/eventworker/eventworker/publisher"
	"github.com/eventworker/eventworker/publisher/watermillbus"
	"github.com/eventworker/eventworker/registry"
)

// DefaultHTTPAddr is where the demo serves /metrics, /healthz and /readyz unless told otherwise.
const DefaultHTTPAddr = "127.0.0.1:9090"

// stepTimeout bounds the wait for the worker to finish one step of the scenario.
const stepTimeout = time.Minute

// Options configures Run.
type Options struct {
	// Out receives the report; default os.Stdout.
	Out io.Writer
	// Dir is the work directory: the outbox (Dir/outbox, which must be empty or absent) and
	// the worker's log (Dir/worker.log). Default: a new temporary directory, kept afterwards.
	Dir string
	// KeepRunning keeps the worker and the HTTP listener up after the report until ctx ends.
	KeepRunning bool
	// HTTPAddr is the listen address of /metrics, /healthz and /readyz; default
	// DefaultHTTPAddr. When it is taken, a free port on the same host is used and the report
	// says so.
	HTTPAddr string
	// Logger receives the worker's logs; default: JSON lines in Dir/worker.log.
	Logger *slog.Logger
}

// Run runs the demo: it starts the worker on an in-process transport and an embedded Redis,
// publishes the scenario's events step by step, waits after each step until every consumer is
// idle, and writes the report to opts.Out. It returns an error when the demo could not run or
// when one of its expectations failed (each one named); the report is written either way.
// With opts.KeepRunning it returns only once ctx ends.
func Run(ctx context.Context, opts Options) error {
	_, err := run(ctx, opts)
	return err
}

// run is Run, returning the report for tests.
func run(ctx context.Context, o Options) (*report, error) {
	if o.Out == nil {
		o.Out = os.Stdout
	}
	r, err := start(ctx, o)
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	defer r.close()
	began := time.Now()
	if err := r.play(); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	rep, err := r.collect(r.ctx, time.Since(began))
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	rep.write(o.Out)
	var failed error
	if len(rep.Problems) > 0 {
		failed = fmt.Errorf("demo: %d expectation(s) failed: %s", len(rep.Problems), strings.Join(rep.Problems, "; "))
	}
	if o.KeepRunning {
		fmt.Fprintf(o.Out, "\n--keep-running: the worker and http://%s/metrics stay up; press Ctrl-C (SIGINT) or send SIGTERM to stop.\n", r.httpAddr)
		<-ctx.Done()
	}
	return rep, failed
}

// rig is the running demo: the worker and everything it was built from.
type rig struct {
	o       Options
	dir     string
	outbox  string
	logPath string // "" when the caller's logger is used

	log     *slog.Logger
	reg     *registry.Registry
	cfg     *config.Config
	redis   *miniredis.Miniredis
	rdb     redis.UniversalClient
	prom    *prometheus.Registry
	from    mailer.Address
	cache   *cache.Cache
	tenants *tenants.Store
	stats   *analytics.Store

	transport *localtransport.Transport
	producer  *publisher.Publisher
	derived   *recordingPublisher
	srv       *health.Server
	httpAddr  string
	httpNote  string

	// ctx is the caller's context, ended early (with the cause) if the worker stops on its own.
	ctx        context.Context
	cancelCtx  context.CancelCauseFunc
	stopWorker context.CancelFunc
	workerDone chan struct{}
	workerErr  error

	closers []func()
	script  *script
}

// start builds the worker as internal/app does, with the local transport and an embedded
// Redis, and starts it and the HTTP listener.
func start(parent context.Context, o Options) (_ *rig, err error) {
	r := &rig{o: o}
	defer func() {
		if err != nil {
			r.close()
		}
	}()
	if err := r.prepareDir(); err != nil {
		return nil, err
	}
	r.log = o.Logger
	if r.log == nil {
		r.logPath = filepath.Join(r.dir, "worker.log")
		f, err := os.Create(r.logPath)
		if err != nil {
			return nil, fmt.Errorf("create the worker's log file: %w", err)
		}
		r.closers = append(r.closers, func() { _ = f.Close() })
		r.log = logging.New(f, slog.LevelInfo)
	}
	r.redis = miniredis.NewMiniRedis()
	if err := r.redis.Start(); err != nil {
		return nil, fmt.Errorf("start the embedded Redis (miniredis): %w", err)
	}
	r.closers = append(r.closers, r.redis.Close)

	r.cfg = config.Default()
	r.cfg.AMQPURL = "" // no broker: the events travel in this process
	r.cfg.RedisURL = "redis://" + r.redis.Addr() + "/0"
	r.cfg.MailURL = (&url.URL{Scheme: "file", Path: r.outbox}).String()
	r.cfg.MailRate = 0                                                // files, not a relay: no need to pace
	r.cfg.RetryDelays = []time.Duration{time.Second, 2 * time.Second} // the shortest Validate allows
	r.cfg.ShutdownTimeout = 5 * time.Second
	r.cfg.HandlerTimeout, r.cfg.MailTimeout = 4*time.Second, 3*time.Second // within the shutdown deadline
	r.cfg.HTTPAddr = o.HTTPAddr
	if r.cfg.HTTPAddr == "" {
		r.cfg.HTTPAddr = DefaultHTTPAddr
	}
	// The worker as `run` builds it (app.New), with the transport and Redis swapped: events
	// travel in this process, and RabbitMQ is never dialled.
	r.rdb, err = redisclient.New(r.cfg.RedisURL, "")
	if err != nil {
		return nil, fmt.Errorf("redis client for the embedded Redis: %w", err)
	}
	r.closers = append(r.closers, func() { _ = r.rdb.Close() })
	r.transport = localtransport.New(r.log)
	r.closers = append(r.closers, func() { _ = r.transport.Close() })
	a, err := app.New(parent, r.cfg, r.log, app.WithTransport(r.transport), app.WithRedis(r.rdb),
		app.WithDerived(func(p handlers.EventPublisher) handlers.EventPublisher {
			r.derived = &recordingPublisher{pub: p}
			return r.derived
		}))
	if err != nil {
		return nil, err
	}
	r.closers = append(r.closers, a.Close)
	r.reg, r.prom = a.Registry, a.Prometheus
	r.from, r.cache, r.tenants, r.stats = a.Deps.MailFrom, a.Deps.Cache, a.Deps.Tenants, a.Deps.Analytics
	w := a.Worker
	r.producer, err = watermillbus.New(r.transport.Publisher(), publisher.Config{
		Registry: a.Registry, Producer: "demo-shop", Logger: r.log,
	})
	if err != nil {
		return nil, err
	}
	r.closers = append(r.closers, func() { _ = r.producer.Close() })

	checks := []health.Check{
		{Name: "worker", Fn: w.Ready},
		{Name: "redis", Fn: func(ctx context.Context) error { return r.rdb.Ping(ctx).Err() }},
	}
	if err := r.listen(parent, a.Metrics, checks); err != nil {
		return nil, err
	}

	r.ctx, r.cancelCtx = context.WithCancelCause(parent)
	workerCtx, stopWorker := context.WithCancel(context.Background())
	r.stopWorker, r.workerDone = stopWorker, make(chan struct{})
	go func() {
		defer close(r.workerDone)
		r.workerErr = w.Run(workerCtx)
		if workerCtx.Err() == nil {
			r.cancelCtx(fmt.Errorf("the worker stopped on its own: %v", r.workerErr))
		}
	}()
	// Last in, first out: the worker stops before what it uses is closed.
	r.closers = append(r.closers, func() {
		stopWorker()
		<-r.workerDone
		if r.workerErr != nil {
			r.log.Warn("worker stopped with an error", "error", r.workerErr.Error())
		}
		r.cancelCtx(nil)
	})
	r.log.Info("eventworker demo starting", "version", version.Current(), "http_addr", r.httpAddr,
		"redis", r.redis.Addr(), "outbox", r.outbox)
	return r, nil
}

// prepareDir makes the work directory and checks that the outbox holds no earlier emails.
func (r *rig) prepareDir() error {
	dir := r.o.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "eventworker-demo-")
		if err != nil {
			return fmt.Errorf("create a work directory: %w", err)
		}
		dir = d
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("work directory %s: %w", dir, err)
	}
	r.dir, r.outbox = abs, filepath.Join(abs, "outbox")
	if err := os.MkdirAll(r.outbox, 0o755); err != nil {
		return fmt.Errorf("create the outbox: %w", err)
	}
	entries, err := os.ReadDir(r.outbox)
	if err != nil {
		return fmt.Errorf("read the outbox: %w", err)
	}
	if len(entries) > 0 {
		return fmt.Errorf("the outbox %s is not empty (%d entries, from an earlier demo?): remove it or choose another directory", r.outbox, len(entries))
	}
	return nil
}

// listen starts the HTTP listener on the configured address, or on a free port of the same
// host when that address is taken.
func (r *rig) listen(ctx context.Context, m *metrics.Metrics, checks []health.Check) error {
	addr := r.cfg.HTTPAddr
	srv := health.New(addr, r.prom, checks...)
	err := srv.Start(ctx)
	if errors.Is(err, syscall.EADDRINUSE) {
		host, _, serr := net.SplitHostPort(addr)
		if serr != nil {
			return fmt.Errorf("HTTP address %q: %w", addr, serr)
		}
		srv = health.New(net.JoinHostPort(host, "0"), r.prom, checks...)
		if err = srv.Start(ctx); err == nil {
			r.httpNote = addr + " was taken, so a free port was chosen"
		}
	}
	if err != nil {
		return err
	}
	srv.OnReady = func(ready bool) {
		if ready {
			m.Ready.Set(1)
		} else {
			m.Ready.Set(0)
		}
	}
	r.srv, r.httpAddr = srv, srv.Addr()
	r.closers = append(r.closers, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	})
	return nil
}

// close stops the worker, then closes what it used, in reverse order of creation.
func (r *rig) close() {
	for i := len(r.closers) - 1; i >= 0; i-- {
		r.closers[i]()
	}
	r.closers = nil
}

// settle waits until every consumer is idle: every published event handled and acknowledged,
// nothing queued, in flight or waiting for a retry.
func (r *rig) settle(step string) error {
	ctx, cancel := context.WithTimeout(r.ctx, stepTimeout)
	defer cancel()
	if err := r.transport.WaitIdle(ctx); err != nil {
		if cause := context.Cause(r.ctx); cause != nil && !errors.Is(cause, context.Canceled) {
			err = fmt.Errorf("%w (%v)", err, cause)
		}
		return fmt.Errorf("step %q: %w", step, err)
	}
	return nil
}

// recordingPublisher publishes the worker's derived events and remembers them for the report.
type recordingPublisher struct {
	pub handlers.EventPublisher

	mu     sync.Mutex
	events []*registry.Event
}

// Publish implements handlers.EventPublisher.
func (p *recordingPublisher) Publish(ctx context.Context, ev publisher.Event) (*registry.Event, error) {
	out, err := p.pub.Publish(ctx, ev)
	if err == nil {
		p.mu.Lock()
		p.events = append(p.events, out)
		p.mu.Unlock()
	}
	return out, err
}

func (p *recordingPublisher) published() []*registry.Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*registry.Event(nil), p.events...)
}
