package worker

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wamqp "github.com/ThreeDotsLabs/watermill-amqp/v3/pkg/amqp"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/eventworker/eventworker/config"
	"github.com/eventworker/eventworker/handlers"
	"github.com/eventworker/eventworker/internal/broker"
	"github.com/eventworker/eventworker/internal/idempotency"
	"github.com/eventworker/eventworker/internal/metrics"
	"github.com/eventworker/eventworker/registry"
)

// ackGrace is how long shutdown waits, after the last handler returned, for its ack to be sent.
const ackGrace = 250 * time.Millisecond

// ErrHandlerMismatch: the registry's consumers and the worker's handlers do not match.
var ErrHandlerMismatch = errors.New("registry consumers and handlers do not match")

// Deps is what a Worker is built from; wiring happens in one place (the run command).
type Deps struct {
	Config   *config.Config
	Registry *registry.Registry
	Handlers []handlers.Handler
	Dedupe   *idempotency.Store
	// Confirmer publishes retries and dead letters with publisher confirms.
	Confirmer *broker.Confirmer
	// TLS, when not nil, is the TLS configuration of an amqps:// Config.AMQPURL (see
	// broker.TLSConfig).
	TLS     *tls.Config
	Metrics *metrics.Metrics
	Logger  *slog.Logger
}

// Worker consumes every consumer's queue until its context ends.
type Worker struct {
	d        Deps
	topology *broker.Topology
	gate     *gate
	// local, when set, carries the messages instead of RabbitMQ (NewLocal).
	local *LocalTransport

	// mu guards conn and router, which Run sets while Ready may be asked from the HTTP listener.
	mu     sync.Mutex
	conn   *wamqp.ConnectionWrapper
	router *message.Router
}

func (w *Worker) running() (*wamqp.ConnectionWrapper, *message.Router) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.conn, w.router
}

// New checks that every consumer of the registry has exactly one handler and every handler a
// consumer, naming all mismatches at once.
func New(d Deps) (*Worker, error) {
	var problems []string
	byName := map[string]handlers.Handler{}
	for _, h := range d.Handlers {
		c := h.Consumer()
		if _, dup := byName[c]; dup {
			problems = append(problems, fmt.Sprintf("two handlers for consumer %q", c))
		}
		byName[c] = h
		if _, err := d.Registry.ConsumerDescription(c); err != nil {
			problems = append(problems, fmt.Sprintf("handler %q has no consumer entry in registry.yaml", c))
		}
	}
	for _, c := range d.Registry.Consumers() {
		if _, ok := byName[c]; !ok {
			problems = append(problems, fmt.Sprintf("registry.yaml names consumer %q, which has no handler", c))
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return nil, fmt.Errorf("%w: %s", ErrHandlerMismatch, strings.Join(problems, "; "))
	}
	return &Worker{d: d, topology: Topology(d.Config, d.Registry), gate: newGate()}, nil
}

// Topology is the broker topology the worker declares for cfg and reg: per consumer its work,
// retry and dead-letter queues, the work queue bound to the consumer's event types.
func Topology(cfg *config.Config, reg *registry.Registry) *broker.Topology {
	bindings := map[string][]string{}
	for _, c := range reg.Consumers() {
		bindings[c] = reg.EventsOf(c)
	}
	return &broker.Topology{
		Exchange: reg.Exchange(), Prefix: cfg.QueuePrefix, QueueType: cfg.QueueType,
		DeliveryLimit: cfg.DeliveryLimit, RetryDelays: cfg.RetryDelays, Bindings: bindings,
	}
}

// NewLocal is New for a worker whose messages travel over t, in this process, instead of
// RabbitMQ: the same pipeline (validation, idempotency, handler under its timeout with quick
// retries and panic recovery, durable retries, dead letters, metrics, logs), with t's queues.
// Deps.Confirmer is not used, and Config.AMQPURL is never dialled. From its return on, events
// published through t.Publisher() wait in the consumers' queues until Run takes them. A
// transport serves one worker.
func NewLocal(d Deps, t *LocalTransport) (*Worker, error) {
	if t == nil {
		return nil, errors.New("new local worker: the local transport is nil")
	}
	w, err := New(d)
	if err != nil {
		return nil, err
	}
	if err := t.bind(w.topology.Bindings, w.names, d.Config, d.Logger); err != nil {
		return nil, fmt.Errorf("new local worker: %w", err)
	}
	w.local = t
	return w, nil
}

// Run connects (retrying while the broker is down), consumes until ctx ends, then shuts down
// gracefully: no new messages, in-flight ones finish and are acknowledged, the rest go back to
// their queues. It returns nil after a clean shutdown. A worker made by NewLocal consumes from
// its LocalTransport instead and never dials RabbitMQ.
func (w *Worker) Run(ctx context.Context) error {
	cfg := w.d.Config
	wlog := watermillLogger(w.d.Logger)
	if w.local != nil {
		return w.serve(ctx, wlog, w.local.subscriber(), localStore{w.local})
	}
	conn, err := w.connect(ctx, wlog)
	if err != nil || conn == nil {
		return err
	}
	w.mu.Lock()
	w.conn = conn
	w.mu.Unlock()
	defer conn.Close()

	sub, err := wamqp.NewSubscriberWithConnection(wamqp.Config{
		Connection: wamqp.ConnectionConfig{AmqpURI: cfg.AMQPURL},
		Marshaler:  broker.Marshaler{},
		Exchange:   wamqp.ExchangeConfig{GenerateName: func(string) string { return w.topology.Exchange }, Type: "topic", Durable: true},
		Queue: wamqp.QueueConfig{
			GenerateName: func(consumer string) string { return w.names(consumer).Work() },
			Durable:      true,
		},
		QueueBind: wamqp.QueueBindConfig{GenerateRoutingKey: func(string) string { return "" }},
		Consume: wamqp.ConsumeConfig{
			Qos:      wamqp.QosConfig{PrefetchCount: cfg.Prefetch},
			Consumer: "",
		},
		TopologyBuilder: w.topology,
	}, wlog, conn)
	if err != nil {
		return fmt.Errorf("create subscriber: %w", err)
	}
	return w.serve(ctx, wlog, sub, w.d.Confirmer)
}

// watermillLogger adapts the worker's logger for Watermill, whose per-subscription chatter at
// info level becomes debug.
func watermillLogger(log *slog.Logger) watermill.LoggerAdapter {
	return watermill.NewSlogLoggerWithLevelMapping(log.With("component", "watermill"), map[slog.Level]slog.Level{
		slog.LevelInfo: slog.LevelDebug,
	})
}

// serve drains every consumer's queue from sub through the pipeline, which stores retries and
// dead letters with out, until ctx ends; then it shuts down gracefully. The transport (AMQP or
// local) is only sub and out: everything else is the same.
func (w *Worker) serve(ctx context.Context, wlog watermill.LoggerAdapter, sub message.Subscriber, out confirmPublisher) error {
	cfg := w.d.Config
	// The router closes subscribers as soon as it closes; we close ours after in-flight
	// handlers were acknowledged.
	held := &heldSubscriber{Subscriber: sub}

	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: cfg.ShutdownTimeout}, wlog)
	if err != nil {
		return fmt.Errorf("create router: %w", err)
	}
	w.mu.Lock()
	w.router = router
	w.mu.Unlock()
	router.AddMiddleware(middleware.Recoverer)
	for _, h := range w.d.Handlers {
		c := h.Consumer()
		w.d.Metrics.InitConsumer(c)
		p := &pipeline{
			consumer: c, handler: h, reg: w.d.Registry, dedupe: w.d.Dedupe, out: out,
			m: w.d.Metrics, names: w.names(c), cfg: cfg, log: w.d.Logger, gate: w.gate,
			handles: map[string]bool{}, inEffect: handlers.RecordsInEffect(h),
		}
		for _, t := range w.topology.Bindings[c] {
			p.handles[t] = true
		}
		// One subscription handles one message at a time: parallelism is several handlers
		// on the same queue.
		for i := range cfg.ConcurrencyOf(c) {
			router.AddConsumerHandler(fmt.Sprintf("%s-%d", c, i), c, held, p.handle)
		}
	}

	runErr := make(chan error, 1)
	go func() { runErr <- router.Run(context.WithoutCancel(ctx)) }()
	select {
	case <-router.Running():
		if w.local != nil {
			w.d.Logger.Info("consuming", "transport", "local", "queues", w.queueNames())
		} else {
			w.d.Logger.Info("consuming", "queues", w.queueNames(), "prefetch", cfg.Prefetch)
		}
	case err := <-runErr:
		return fmt.Errorf("start router: %w", err)
	case <-ctx.Done():
	}

	select {
	case <-ctx.Done():
	case err := <-runErr:
		return fmt.Errorf("router stopped: %w", err)
	}
	return w.shutdown(held, runErr)
}

// shutdown drains in-flight handlers before the subscriptions close, within the deadline.
func (w *Worker) shutdown(held *heldSubscriber, runErr chan error) error {
	cfg := w.d.Config
	log := w.d.Logger
	start := time.Now()
	log.Info("shutting down: no new messages; waiting for in-flight handlers", "deadline", cfg.ShutdownTimeout.String())
	finished := w.gate.close(cfg.ShutdownTimeout)
	if !finished {
		log.Warn("in-flight handlers outlived the shutdown deadline; their messages go back to the queue")
	}
	// The router acknowledges a message just after our handler returns, and the subscription
	// sends that ack on its own goroutine: give both a moment before the subscriptions close.
	time.Sleep(ackGrace)
	// Now close the subscriptions: unacknowledged and prefetched messages return to the queue.
	closeErr := held.Subscriber.Close()
	w.gate.open()
	remaining := max(cfg.ShutdownTimeout-time.Since(start), time.Second)
	done := make(chan error, 1)
	go func() { done <- w.router.Close() }() // Run set it before shutdown can start
	select {
	case err := <-done:
		if err != nil {
			log.Warn("router close", "error", err.Error())
		}
	case <-time.After(remaining):
		log.Warn("router did not close within the deadline")
	}
	select {
	case <-runErr:
	case <-time.After(time.Second):
	}
	if closeErr != nil {
		return fmt.Errorf("close subscriber: %w", closeErr)
	}
	log.Info("shut down", "took", time.Since(start).Round(time.Millisecond).String())
	return nil
}

// connect retries with backoff until RabbitMQ accepts a connection or ctx ends (then nil, nil).
func (w *Worker) connect(ctx context.Context, wlog watermill.LoggerAdapter) (*wamqp.ConnectionWrapper, error) {
	backoff := time.Second
	for {
		conn, err := wamqp.NewConnection(wamqp.ConnectionConfig{
			AmqpURI:   w.d.Config.AMQPURL,
			TLSConfig: w.d.TLS,
			Reconnect: wamqp.DefaultReconnectConfig(),
		}, wlog)
		if err == nil {
			return conn, nil
		}
		w.d.Logger.Warn("RabbitMQ unreachable; retrying", "error", redactErr(err, w.d.Config.AMQPURL), "retry_in", backoff.String())
		select {
		case <-ctx.Done():
			return nil, nil
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 30*time.Second)
	}
}

// Ready reports nil while the worker is connected, its router runs and every work queue has a
// consumer; otherwise what is missing. A worker on a LocalTransport is ready while its router
// runs and the transport is open.
func (w *Worker) Ready(ctx context.Context) error {
	conn, router := w.running()
	if w.local != nil {
		if router == nil || !router.IsRunning() {
			return errors.New("router not running")
		}
		if w.local.isClosed() {
			return errors.New("local transport closed")
		}
		return ctx.Err()
	}
	if conn == nil || !conn.IsConnected() {
		return errors.New("not connected to RabbitMQ")
	}
	if router == nil || !router.IsRunning() {
		return errors.New("router not running")
	}
	var missing []string
	for _, q := range w.queueNames() {
		info, err := w.d.Confirmer.Inspect(q)
		if err != nil {
			return err
		}
		if info.Consumers == 0 {
			missing = append(missing, q)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("no consumer on %s", strings.Join(missing, ", "))
	}
	return ctx.Err()
}

func (w *Worker) names(consumer string) broker.Names {
	return broker.Names{Prefix: w.d.Config.QueuePrefix, Consumer: consumer}
}

func (w *Worker) queueNames() []string {
	var qs []string
	for _, h := range w.d.Handlers {
		qs = append(qs, w.names(h.Consumer()).Work())
	}
	slices.Sort(qs)
	return qs
}

// heldSubscriber ignores the router's Close, so that subscriptions stay open until in-flight
// handlers were acknowledged; the worker closes the real subscriber itself.
type heldSubscriber struct{ message.Subscriber }

// Close is called by the router on shutdown; see heldSubscriber.
func (h *heldSubscriber) Close() error { return nil }

// redactErr removes the URL's password from an error message.
func redactErr(err error, rawURL string) string {
	msg := err.Error()
	if u, perr := url.Parse(rawURL); perr == nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			msg = strings.ReplaceAll(msg, pw, "xxxxx")
		}
	}
	return msg
}
