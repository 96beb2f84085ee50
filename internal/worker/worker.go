package worker

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"go.opentelemetry.io/otel/trace"

	"github.com/eventworker/eventworker/internal/broker"
	"github.com/eventworker/eventworker/internal/metrics"
	"github.com/eventworker/eventworker/internal/tracing"
	"github.com/eventworker/eventworker/internal/worker/dedupe"
	"github.com/eventworker/eventworker/internal/worker/handling"
	"github.com/eventworker/eventworker/registry"
)

// ackGrace is how long shutdown waits, after the last handler returned, for its ack to be sent.
const ackGrace = 250 * time.Millisecond

// Deps is what a Worker is built from; wiring happens in one place (the run command).
type Deps struct {
	// Config is the worker's; New applies its defaults and validates it.
	Config   Config
	Registry *registry.Registry
	Handlers []handling.Handler
	// Dedupe records the events handled, across replicas (*idempotency.Store).
	Dedupe dedupe.Store
	// Runs, when not nil, counts the handler runs that died with their process: the poison
	// guard, which dead-letters an event whose handler keeps killing the worker, and lets the
	// worker publish anew a message a crash loop brought to the delivery limit unhandled.
	Runs dedupe.Runs
	// Transport carries the messages; nil means RabbitMQ at Config.AMQPURL, with the worker's
	// own subscriber and Confirmer.
	Transport Transport
	// Confirmer publishes retries and dead letters with publisher confirms, over RabbitMQ.
	Confirmer *broker.Confirmer
	// TLS, when not nil, is the TLS configuration of an amqps:// Config.AMQPURL (see
	// broker.TLSConfig).
	TLS     *tls.Config
	Metrics *metrics.Metrics
	Logger  *slog.Logger
	// Tracer, when not nil, makes the process span of every delivery (see
	// internal/tracing); nil: tracing is off, and the worker only carries a producer's trace
	// context on to the events it derives and to its log lines.
	Tracer trace.TracerProvider
}

// Worker consumes every consumer's queue until its context ends.
type Worker struct {
	d        Deps
	cfg      *Config // d.Config, with its defaults
	topology *broker.Topology
	gate     *gate
	// transport is Deps.Transport, or RabbitMQ; sub its subscriber of the work queues.
	transport Transport
	sub       message.Subscriber
	// seen is what State reports.
	seen *observer

	// mu guards router, which Run sets while Ready may be asked from the HTTP listener.
	mu     sync.Mutex
	router *message.Router
}

func (w *Worker) running() *message.Router {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.router
}

// New checks the handlers against the registry (handling.Check: one handler per consumer, each
// handling exactly the event types registry.yaml maps to its consumer), naming every mismatch
// at once, and returns the worker.
func New(d Deps) (*Worker, error) {
	if err := handling.Check(d.Registry, d.Handlers); err != nil {
		return nil, err
	}
	cfg := d.Config
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("worker configuration: %w", err)
	}
	d.Config = cfg
	w := &Worker{d: d, cfg: &d.Config, topology: Topology(&d.Config, d.Registry), gate: newGate(), transport: d.Transport}
	w.seen = newObserver(w)
	if w.seen.leases = trackLeases(d.Dedupe); w.seen.leases != nil {
		w.d.Dedupe = w.seen.leases
	}
	if w.transport == nil {
		m := d.Metrics
		w.transport = &rabbitTransport{url: cfg.AMQPURL, tls: d.TLS, prefetch: cfg.Prefetch, confirmer: d.Confirmer,
			observe: func(node string, up bool) { m.AMQPConnected(metrics.ClientConsume, node, up) }}
	}
	// Bound now: from here on, what is published waits in the consumers' queues (RabbitMQ's
	// subscriber connects only when Run starts it).
	sub, err := w.transport.Subscriber(w.topology, d.Logger)
	if err != nil {
		return nil, err
	}
	w.sub = sub
	return w, nil
}

// Topology is the broker topology the worker declares for cfg and reg: per consumer its work,
// retry and dead-letter queues, the work queue bound to the consumer's event types.
func Topology(cfg *Config, reg *registry.Registry) *broker.Topology {
	bindings := map[string][]string{}
	for _, c := range reg.Consumers() {
		bindings[c] = reg.EventsOf(c)
	}
	return &broker.Topology{
		Exchange: reg.Exchange(), Prefix: cfg.QueuePrefix, QueueType: cfg.QueueType,
		DeliveryLimit: cfg.DeliveryLimit, RetryDelays: cfg.RetryDelays, Bindings: bindings,
	}
}

// Run consumes until ctx ends (connecting, and retrying while the broker is down), then shuts
// down gracefully: no new messages, those already delivered finish and are acknowledged, the
// rest go back to their queues. It returns nil after a clean shutdown.
func (w *Worker) Run(ctx context.Context) error {
	defer w.sub.Close()
	return w.serve(ctx, watermillLogger(w.d.Logger), w.sub)
}

// serve drains every consumer's queue from sub through the pipeline, which stores retries and
// dead letters over the transport, until ctx ends; then it shuts down gracefully.
func (w *Worker) serve(ctx context.Context, wlog watermill.LoggerAdapter, sub message.Subscriber) error {
	cfg := w.cfg
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
	valid := newValidCache()
	for _, h := range w.d.Handlers {
		c := h.Consumer()
		w.d.Metrics.InitConsumer(c)
		p := &pipeline{
			consumer: c, handler: h, reg: w.d.Registry, dedupe: w.d.Dedupe, out: w.transport,
			m: w.d.Metrics, names: w.names(c), cfg: cfg, log: w.d.Logger, gate: w.gate,
			handles: map[string]bool{}, inEffect: handling.RecordsInEffect(h), valid: valid,
		}
		if w.d.Tracer != nil {
			p.tracer = w.d.Tracer.Tracer(tracing.TracerName)
		}
		for _, t := range w.topology.Bindings[c] {
			p.handles[t] = true
		}
		if d, ok := w.transport.(declarer); ok {
			p.redeclare = func(ctx context.Context) error { return d.Declare(ctx, w.topology, c) }
		}
		// The pipeline runs on ConcurrencyOf(c) goroutines; the consumer's one subscription
		// hands over up to the prefetch at once.
		n := cfg.ConcurrencyOf(c)
		p.runs = w.d.Runs
		p.breaker = newBreaker(cfg.PauseAfter, cfg.PauseMax, w.d.Logger.With("consumer", c), w.d.Metrics.Paused.WithLabelValues(c))
		r := startRunners(n, w.seen.attach(p))
		defer r.stop()
		handle := r.handle
		if cfg.QueueType == QueueQuorum && p.runs != nil {
			// Before the message waits for a goroutine: a crash loop must not bring it
			// to the broker's limit meanwhile.
			handle = func(msg *message.Message) error {
				if p.atDeliveryLimit(msg) {
					if done, err := p.renew(msg); done {
						return err
					}
				}
				return r.handle(msg)
			}
		}
		w.d.Metrics.TrackOldestInFlight(c, w.seen.consumers[c].flights.oldest)
		router.AddConsumerHandler(c, c, held, w.seen.track(c, handle))
	}

	runErr := make(chan error, 1)
	go func() { runErr <- router.Run(context.WithoutCancel(ctx)) }()
	select {
	case <-router.Running():
		w.d.Logger.Info("consuming", "queues", w.queueNames(), "prefetch", cfg.Prefetch)
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

// drainer is a subscriber that can stop taking messages while what it delivered finishes
// (broker.Subscriber).
type drainer interface {
	Stop()
	Wait(ctx context.Context) error
}

// shutdown stops taking messages and lets those already delivered finish and be acknowledged,
// within the deadline; then it closes the subscriptions, which returns the rest to their queues.
// Over RabbitMQ every message the broker delivered is handled before the end (each one returned
// would count toward a quorum queue's delivery limit); another transport's are held back unless
// its subscriber can stop and drain as RabbitMQ's does.
func (w *Worker) shutdown(held *heldSubscriber, runErr chan error) error {
	cfg := w.cfg
	log := w.d.Logger
	start := time.Now()
	deadline, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	log.Info("shutting down: no new messages; finishing those delivered", "deadline", cfg.ShutdownTimeout.String())
	finished := true
	if d, ok := held.Subscriber.(drainer); ok {
		d.Stop()
		finished = d.Wait(deadline) == nil
		// Quick retries stop waiting; what still runs has its message returned.
		w.gate.close(0)
	} else {
		finished = w.gate.close(cfg.ShutdownTimeout)
		// The router acknowledges a message just after our handler returns, and the
		// subscription sends that ack on its own goroutine: give both a moment.
		time.Sleep(ackGrace)
	}
	if !finished {
		log.Warn("handlers outlived the shutdown deadline; they are stopped and their messages go back to the queue")
	}
	// Now close the subscriptions: unacknowledged messages return to the queue. The handlers
	// still running are stopped and store nothing more.
	w.gate.abandon()
	closeErr := held.Subscriber.Close()
	w.gate.open()
	// What remains of the deadline, and a moment past it, for the router: handlers still
	// running are abandoned (their messages went back with the subscriptions).
	remaining := max(time.Until(start.Add(cfg.ShutdownTimeout)), routerCloseGrace)
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
	case <-time.After(routerCloseGrace):
	}
	if closeErr != nil {
		return fmt.Errorf("close subscriber: %w", closeErr)
	}
	log.Info("shut down", "took", time.Since(start).Round(time.Millisecond).String())
	return nil
}

// routerCloseGrace is what the router gets to close after the shutdown's deadline.
const routerCloseGrace = 100 * time.Millisecond

// Ready reports nil while the worker's router runs and its transport delivers: over
// RabbitMQ, while each of its own subscriptions consumes its queue; otherwise what is missing.
func (w *Worker) Ready(ctx context.Context) error {
	if err := w.transport.Ready(); err != nil {
		return err
	}
	if router := w.running(); router == nil || !router.IsRunning() {
		return errors.New("router not running")
	}
	return ctx.Err()
}

// Node returns the RabbitMQ node (host:port) the worker consumes from, and false when it is not
// connected or its transport is not RabbitMQ.
func (w *Worker) Node() (string, bool) {
	if t, ok := w.transport.(interface{ Node() (string, bool) }); ok {
		return t.Node()
	}
	return "", false
}

func (w *Worker) names(consumer string) broker.Names {
	return broker.Names{Prefix: w.cfg.QueuePrefix, Consumer: consumer}
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
