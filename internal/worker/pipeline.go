package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/prometheus/client_golang/prometheus"
	amqp "github.com/rabbitmq/amqp091-go"
	"go.opentelemetry.io/otel/trace"

	"github.com/eventworker/eventworker/internal/broker"
	"github.com/eventworker/eventworker/internal/logging"
	"github.com/eventworker/eventworker/internal/metrics"
	"github.com/eventworker/eventworker/internal/worker/dedupe"
	"github.com/eventworker/eventworker/internal/worker/handling"
	"github.com/eventworker/eventworker/registry"
)

// confirmPublisher stores a message in a queue and returns once the broker confirmed it.
type confirmPublisher interface {
	Publish(ctx context.Context, exchange, key string, p amqp.Publishing) error
}

// maxReasonBytes and maxStackBytes keep a dead letter's reason and stack headers well below the
// AMQP frame size.
const (
	maxReasonBytes = 4096
	maxStackBytes  = 16 << 10
)

// pipeline is what every message of one consumer goes through.
type pipeline struct {
	consumer string
	handler  handling.Handler
	reg      *registry.Registry
	dedupe   dedupe.Store
	// runs, when not nil, counts the handler runs that died with their process (the poison
	// guard).
	runs  dedupe.Runs
	out   confirmPublisher
	m     *metrics.Metrics
	names broker.Names
	cfg   *Config
	log   *slog.Logger
	gate  *gate
	// handles holds the event types registry.yaml maps to this consumer.
	handles map[string]bool
	// valid is the worker's cache of validated events, shared by its consumers.
	valid *validCache
	// redeclare, when not nil, declares the consumer's queues again (over RabbitMQ).
	redeclare func(ctx context.Context) error
	// inEffect is true for a handler whose effects record their events (handling.InEffectRecorder).
	inEffect bool
	// breaker pauses the consumer while a service its handlers need is down; nil never does.
	breaker *breaker
	// kept holds the consumer's metric children once looked up.
	kept keptMetrics
	// tracer starts the process span of every delivery; nil when tracing is off.
	tracer trace.Tracer
}

// handle is the Watermill handler. It returns nil once the message is acknowledged-worthy (done,
// retried durably or dead-lettered) and an error only when neither could be stored, so Watermill
// nacks and the broker redelivers: nothing is acknowledged without its outcome being safe.
//
// A message goes through the steps in order, each of which may settle it: the pause of a
// consumer whose service is down (breaker), decode (size, validation, routing), begin (the
// processing lease of a handler whose effect is outside Redis), execute (the poison guard, the
// handler under its timeout with quick retries) and settle (what the outcome means: fateOf).
func (p *pipeline) handle(msg *message.Message) error {
	if !p.gate.enter() {
		return errDraining
	}
	defer p.gate.leave()
	// A paused consumer's messages wait here, unacknowledged, until a probe gets through.
	probe := p.breaker.admit(p.gate.drain)
	d := &delivery{msg: msg, rk: msg.Metadata.Get(broker.MetaRoutingKey), told: untold}
	defer func() { p.breaker.done(probe, d.told, d.cause) }()
	defer d.endSpan()
	inFlight := p.inFlight()
	inFlight.Inc()
	defer inFlight.Dec()

	// Router.Close cancels the message's context; what we started must still be able to finish,
	// be recorded and be acknowledged, until the shutdown's deadline.
	ctx, cancel := p.gate.bind(msg.Context())
	defer cancel()
	d.attempts, _ = strconv.Atoi(msg.Metadata.Get(broker.MetaAttempts))
	ctx = p.startSpan(ctx, d)
	d.log = &msgLog{base: p.log, consumer: p.consumer, attempt: d.attempts + 1, rk: d.rk, sc: d.spanCtx}
	// The handler's lines, logged with ctx, name the event as the pipeline's do.
	ctx = logging.WithEvent(ctx, d.log)

	if settled, err := p.decode(ctx, d); settled {
		return err
	}
	lease, settled, err := p.begin(ctx, d)
	if settled {
		return err
	}
	herr, settled, err := p.execute(ctx, d, lease)
	if settled {
		return err
	}
	return p.settle(ctx, d, lease, herr)
}

// delivery is one message on its way through the pipeline.
type delivery struct {
	msg      *message.Message
	rk       string
	attempts int // failed attempts before this one, then including it
	ev       *registry.Event
	log      *msgLog
	// told and cause are what the outcome says of the services the handler needs, for the
	// breaker.
	told  verdict
	cause error
	// span is the delivery's process span, nil when tracing is off; spanCtx is its context, or
	// the producer's when tracing is off. replayRoot is true for the first attempt after a
	// replay, whose span starts a trace of its own.
	span       trace.Span
	spanCtx    trace.SpanContext
	replayRoot bool
	// continued is true when the message carried a valid trace context.
	continued bool
	// outcome and errClass are what the span says of the delivery.
	outcome, errClass string
}

// decode checks the body's size, validates the event against the registry and that the
// consumer handles its type; an event that fails is dead-lettered (settled).
func (p *pipeline) decode(ctx context.Context, d *delivery) (settled bool, err error) {
	msg := d.msg
	if len(msg.Payload) > p.cfg.MaxBodyBytes {
		reason := fmt.Sprintf("body of %d bytes exceeds the limit of %d bytes (EVENTWORKER_MAX_BODY_BYTES); not parsed", len(msg.Payload), p.cfg.MaxBodyBytes)
		return true, p.reject(ctx, d.log.logger().With("event_id", msg.UUID, "event_type", d.rk, "tenant_id", "", "correlation_id", msg.Metadata.Get(broker.MetaCorrelationID)), d, reason)
	}
	ev, err := p.valid.validate(p.reg, d.rk, msg.Payload)
	if err != nil {
		var verr *registry.ValidationError
		reason := err.Error()
		log := d.log.logger()
		// What the body claims, as far as it could be read: an operator looks for these.
		claimed := log.With("event_id", msg.UUID, "event_type", d.rk, "tenant_id", "", "correlation_id", msg.Metadata.Get(broker.MetaCorrelationID))
		if errors.As(err, &verr) {
			reason = verr.Reason()
			claimed = log.With("event_id", verr.EventID, "event_type", verr.EventType, "tenant_id", verr.TenantID, "correlation_id", verr.CorrelationID)
		}
		return true, p.reject(ctx, claimed, d, "invalid event: "+reason)
	}
	d.ev = ev
	d.log.setEvent(ev)
	d.spanEvent(ev)
	if !p.handles[ev.Type] {
		// A binding left over from an older registry.yaml routes it here.
		return true, p.reject(ctx, d.log.logger(), d, fmt.Sprintf("consumer %s does not handle %s in this registry (a stale queue binding?)", p.consumer, ev.Type))
	}
	if msg.Metadata.Get(broker.MetaFirstFailure) == "" {
		// A message back from a retry queue, with an attempt spent or not, was counted already.
		p.m.EventsReceived.WithLabelValues(p.consumer, ev.Type, strconv.Itoa(ev.Version)).Inc()
	}
	return false, nil
}

// begin takes the processing lease of a handler whose effect lives outside Redis (an email):
// an event done before is acknowledged, one held elsewhere or whose store is down is retried
// later (settled). A handler whose effects record the event themselves needs no lease: one
// round trip per effect.
func (p *pipeline) begin(ctx context.Context, d *delivery) (lease dedupe.Lease, settled bool, err error) {
	d.told = available // unless Redis or the handler says otherwise
	if p.inEffect {
		return nil, false, nil
	}
	state, lease, err := p.dedupe.Begin(ctx, p.consumer, d.ev.ID)
	if err == nil && state != dedupe.Done && state != dedupe.Held {
		return lease, false, nil
	}
	log := d.log.logger() // built only when there is something to say
	switch {
	case err != nil:
		// Redis is down: no effect without its record. Retry later without spending an attempt.
		d.told, d.cause = unavailable, err
		d.fail(classUnavailable, err)
		log.Warn("idempotency store unavailable; retrying later", "error", err.Error())
		return nil, true, p.retry(ctx, log, d, d.attempts, fmt.Errorf("idempotency store: %w", err))
	case state == dedupe.Done:
		p.countOutcome(d, metrics.OutcomeDuplicate)
		log.Info("duplicate event skipped: already handled")
		return nil, true, nil
	case state == dedupe.Held:
		log.Info("event is being handled elsewhere; retrying later")
		return nil, true, p.retry(ctx, log, d, d.attempts, errors.New("held by a live lease of another worker"))
	}
	return lease, false, nil
}

// execute runs the handler, under its lease (renewed while it runs) when it has one, unless the
// poison guard finds that its runs keep dying with the worker (dead-lettered: settled).
func (p *pipeline) execute(ctx context.Context, d *delivery, lease dedupe.Lease) (herr error, settled bool, err error) {
	died, finish := p.startRun(ctx, d)
	defer finish()
	if died >= p.cfg.DeliveryLimit {
		log := d.log.logger()
		p.release(ctx, log, lease)
		return nil, true, p.poisoned(ctx, log, d, died)
	}
	if lease == nil {
		return p.runHandler(ctx, d.ev), false, nil
	}
	hctx, stop := keepLease(ctx, lease, d.log.logger)
	defer stop()
	return p.runHandler(hctx, d.ev), false, nil
}

// fate is what a handler's outcome means for its message.
type fate int

const (
	// fateDone: the effect happened; acknowledge.
	fateDone fate = iota
	// fateDuplicate: the effect had happened before; acknowledge.
	fateDuplicate
	// fateSuppressed: deliberately not acted on; acknowledge.
	fateSuppressed
	// fateWait: a service the handler needs is down, or another delivery is handling the event:
	// retry later without spending an attempt.
	fateWait
	// fatePermanent: no retry can help; dead-letter at once.
	fatePermanent
	// fateTransient: retry, spending an attempt, then dead-letter once they are spent.
	fateTransient
)

// fateOf classifies a handler's outcome (see handling's marks). Permanent wins over every other
// mark.
func fateOf(herr error) fate {
	switch {
	case herr == nil:
		return fateDone
	case handling.IsPermanent(herr):
		return fatePermanent
	case errors.Is(herr, handling.ErrDuplicate):
		return fateDuplicate
	case errors.Is(herr, handling.ErrSuppressed):
		return fateSuppressed
	case handling.IsUnavailable(herr), handling.IsLater(herr):
		return fateWait
	}
	return fateTransient
}

// settle acts on the handler's outcome: it records the lease done or gives it back, and
// acknowledges, retries or dead-letters the message.
func (p *pipeline) settle(ctx context.Context, d *delivery, lease dedupe.Lease, herr error) error {
	ev := d.ev
	f := fateOf(herr)
	if herr != nil {
		d.fail(classOf(herr), herr)
	}
	switch f {
	case fateDone, fateDuplicate, fateSuppressed:
		if lease != nil {
			if err := lease.Complete(ctx); err != nil {
				// The effect happened; acknowledging is right. A redelivery may repeat it.
				d.log.logger().Warn("handled, but the done marker was not stored", "error", err.Error())
			}
		}
	default:
		p.release(ctx, d.log.logger(), lease)
	}
	if f == fateDone {
		// The common case builds no logger unless it logs.
		p.m.ObserveLagTraced(ev.Type, time.Since(ev.OccurredAt), d.traceID())
		p.countOutcome(d, metrics.OutcomeOK)
		if d.log.base.Enabled(ctx, slog.LevelDebug) {
			d.log.logger().Debug("event handled")
		}
		return nil
	}
	log := d.log.logger()
	switch f {
	case fateDuplicate:
		p.countOutcome(d, metrics.OutcomeDuplicate)
		log.Info("duplicate event skipped: already handled")
		return nil
	case fateSuppressed:
		p.m.ObserveLagTraced(ev.Type, time.Since(ev.OccurredAt), d.traceID())
		p.countOutcome(d, metrics.OutcomeSuppressed)
		log.Info("event suppressed", "reason", herr.Error())
		return nil
	case fateWait:
		if handling.IsUnavailable(herr) {
			d.told, d.cause = unavailable, herr
		}
		// A service the handler needs is down (the mail server, Redis), or another delivery of
		// the event is handling it: not the event at fault. It waits in the retry queue,
		// without spending an attempt, so an outage of any length delays events and never
		// dead-letters them.
		return p.retry(ctx, log.With("attempt_spent", false), d, d.attempts, herr)
	}
	d.attempts++
	if f == fatePermanent {
		return p.giveUp(ctx, log, d, broker.ClassPermanent, herr.Error(), herr)
	}
	if d.attempts >= p.cfg.MaxAttempts() {
		return p.giveUp(ctx, log, d, broker.ClassExhausted, fmt.Sprintf("failed %d attempts, last: %v", d.attempts, herr), herr)
	}
	return p.retry(ctx, log, d, d.attempts, herr)
}

// release gives a lease back after a run that did not take effect, so the next delivery may run
// it; nil is no lease.
func (p *pipeline) release(ctx context.Context, log *slog.Logger, lease dedupe.Lease) {
	if lease == nil {
		return
	}
	if err := lease.Release(ctx); err != nil {
		log.Warn("could not release the processing lease; it expires by itself", "error", err.Error())
	}
}

// runHandler calls the handler under the consumer's timeout, with quick in-process retries of
// transient errors; it stops retrying early when the worker is shutting down.
func (p *pipeline) runHandler(ctx context.Context, ev *registry.Event) error {
	backoff := p.cfg.QuickBackoff
	for try := 0; ; try++ {
		err := p.call(ctx, ev)
		if err == nil || handling.IsPermanent(err) || errors.Is(err, handling.ErrSuppressed) ||
			errors.Is(err, handling.ErrDuplicate) || handling.IsLater(err) || try >= p.cfg.QuickRetries || ctx.Err() != nil {
			return err
		}
		// Full jitter keeps replicas that failed together from retrying together.
		wait := time.Duration(rand.Int64N(int64(backoff) + 1))
		if !p.gate.sleep(wait) {
			return err
		}
		backoff *= 2
	}
}

func (p *pipeline) call(ctx context.Context, ev *registry.Event) (err error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.HandlerTimeout)
	defer cancel()
	start := time.Now()
	defer func() {
		if r := recover(); r != nil {
			err = &panicError{value: r, stack: string(debug.Stack())}
		}
		metrics.ObserveTraced(p.handlerDuration(), time.Since(start).Seconds(), traceIDOf(ctx))
	}()
	if err := p.handler.Handle(ctx, ev); err != nil {
		switch cause := context.Cause(ctx); {
		case ctx.Err() == context.DeadlineExceeded:
			return fmt.Errorf("handler timed out after %s: %w", p.cfg.HandlerTimeout, err)
		case errors.Is(cause, errLeaseLost):
			return fmt.Errorf("handler stopped: %w: %w", cause, err)
		}
		return err
	}
	return nil
}

// reject dead-letters a message that can never succeed: invalid, too large, or not ours.
func (p *pipeline) reject(ctx context.Context, log *slog.Logger, d *delivery, reason string) error {
	d.attempts++
	d.fail(classInvalid, errors.New(reason))
	if err := p.deadLetter(ctx, log, d, broker.ClassPermanent, reason, nil); err != nil {
		return err
	}
	p.countOutcome(d, metrics.OutcomeInvalid)
	return nil
}

// giveUp dead-letters a valid event whose handling failed for good with cause.
func (p *pipeline) giveUp(ctx context.Context, log *slog.Logger, d *delivery, class, reason string, cause error) error {
	d.fail(class, nil)
	if err := p.deadLetter(ctx, log, d, class, reason, cause); err != nil {
		return err
	}
	p.countOutcome(d, metrics.OutcomeDeadLettered)
	return nil
}

// retry stores the message in the retry queue for its attempt; the queue's TTL sends it back.
func (p *pipeline) retry(ctx context.Context, log *slog.Logger, d *delivery, attempts int, cause error) error {
	if len(p.cfg.RetryDelays) == 0 {
		return p.giveUp(ctx, log, d, broker.ClassExhausted, "no retry delays configured; last error: "+cause.Error(), cause)
	}
	level := min(max(attempts-1, 0), len(p.cfg.RetryDelays)-1)
	delay := p.cfg.RetryDelays[level]
	pub := p.publishing(d, attempts, "")
	if err := p.store(ctx, log, p.names.Retry(delay), pub); err != nil {
		return p.storeFailed(log, "retry", err)
	}
	p.countOutcome(d, metrics.OutcomeRetried)
	log.Warn("event failed; retrying later", "error", cause.Error(), "retry_in", delay.String())
	return nil
}

// deadLetter stores the message, byte for byte, in the consumer's dead-letter queue, with what
// an operator needs to know why: the class and reason, the consumer, the host, the time (the
// last failure), the chain of errors and, for a handler that panicked, its stack trace.
func (p *pipeline) deadLetter(ctx context.Context, log *slog.Logger, d *delivery, class, reason string, cause error) error {
	reason = truncate(reason, maxReasonBytes)
	pub := p.publishing(d, d.attempts, reason)
	pub.Headers[broker.HeaderErrorClass] = class
	pub.Headers[broker.HeaderConsumer] = p.consumer
	pub.Headers[broker.HeaderHost] = hostname
	var stack string
	if cause != nil {
		pub.Headers[broker.HeaderErrors] = errorChain(cause)
		var pe *panicError
		if errors.As(cause, &pe) {
			stack = truncate(pe.stack, maxStackBytes)
			pub.Headers[broker.HeaderStack] = stack
		}
	}
	if err := p.store(ctx, log, p.names.DeadLetter(), pub); err != nil {
		return p.storeFailed(log, "dead letter", err)
	}
	p.m.DeadLetters.WithLabelValues(p.consumer, class).Inc()
	if stack != "" {
		log.Error("event dead-lettered", "class", class, "reason", reason, "queue", p.names.DeadLetter(), "stack", stack)
	} else {
		log.Error("event dead-lettered", "class", class, "reason", reason, "queue", p.names.DeadLetter())
	}
	return nil
}

// store publishes pub to queue and waits for the broker's confirm. A queue that is gone (an
// operator deleted it) makes the publish unroutable: the consumer's queues are declared again
// and it is tried once more, so the message is never acknowledged without its copy.
func (p *pipeline) store(ctx context.Context, log *slog.Logger, queue string, pub amqp.Publishing) error {
	if p.gate.abandoned() {
		// Past the shutdown's deadline the message went back to its queue: no second copy.
		return errDraining
	}
	err := p.out.Publish(ctx, "", queue, pub)
	if !errors.Is(err, broker.ErrUnroutable) || p.redeclare == nil {
		return err
	}
	log.Warn("a queue of the consumer is missing; declaring its queues again", "queue", queue)
	if derr := p.redeclare(ctx); derr != nil {
		return fmt.Errorf("%w; declaring the consumer's queues again failed: %w", err, derr)
	}
	return p.out.Publish(ctx, "", queue, pub)
}

// publishing rebuilds the message for a retry or dead-letter queue: the original body,
// properties and headers as they came (broker.Republish; over a local transport, from the
// message's metadata), and the retry state.
func (p *pipeline) publishing(d *delivery, attempts int, reason string) amqp.Publishing {
	now := broker.FailureTime(time.Now())
	var pub amqp.Publishing
	if orig, ok := broker.DeliveryOf(d.msg); ok {
		pub = broker.Republish(orig)
	} else {
		md := d.msg.Metadata
		pub = amqp.Publishing{
			Headers: broker.HeadersFromMetadata(md), Body: d.msg.Payload, DeliveryMode: amqp.Persistent,
			ContentType: md.Get(broker.MetaContentType), MessageId: md.Get(broker.MetaMessageID),
			CorrelationId: md.Get(broker.MetaCorrelationID), AppId: md.Get(broker.MetaAppID), Timestamp: time.Now(),
		}
		if first := md.Get(broker.MetaFirstFailure); first != "" {
			pub.Headers[broker.HeaderFirstFailure] = first
		}
	}
	h := pub.Headers
	d.traceHeaders(h)
	if _, ok := h[broker.HeaderFirstFailure]; !ok {
		h[broker.HeaderFirstFailure] = now
	}
	h[broker.HeaderRoutingKey] = d.rk
	h[broker.HeaderAttempts] = int64(attempts)
	h[broker.HeaderLastFailure] = now
	if reason != "" {
		h[broker.HeaderReason] = reason
	}
	return pub
}

// storeFailed waits a moment and returns an error, so Watermill nacks and the broker redelivers
// the message later instead of at once.
func (p *pipeline) storeFailed(log *slog.Logger, what string, err error) error {
	log.Error("could not store the "+what+"; the message goes back to its queue", "error", err.Error())
	p.gate.sleep(time.Second)
	return fmt.Errorf("store %s: %w", what, err)
}

// msgLog is the logger of one message: the pipeline's with the consumer, attempt and routing
// key, and the event's ID, type, tenant and correlation ID once it is valid. It is built on
// first use only:
// slog's JSON handler formats the attributes as With adds them, which every message paid for
// although at info level a handled one logs nothing.
type msgLog struct {
	base     *slog.Logger
	consumer string
	attempt  int
	rk       string
	ev       *registry.Event
	// sc is the span the lines are about, or the producer's; invalid when there is none.
	sc trace.SpanContext
	l  *slog.Logger
}

// logger returns the message's logger, with the attributes and in the order that
// base.With(consumer, attempt, routing key).With(event ID, type, tenant) gives.
func (m *msgLog) logger() *slog.Logger {
	if m.l == nil {
		m.l = m.base.With("consumer", m.consumer, "attempt", m.attempt, "routing_key", m.rk)
		if m.sc.IsValid() {
			m.l = m.l.With("trace_id", m.sc.TraceID().String(), "span_id", m.sc.SpanID().String())
		}
		if m.ev != nil {
			m.l = m.l.With("event_id", m.ev.ID, "event_type", m.ev.Type, "tenant_id", m.ev.TenantID, "correlation_id", m.ev.CorrelationID)
		}
	}
	return m.l
}

// LogAttrs implements logging.Event: the attributes of the handler's lines.
func (m *msgLog) LogAttrs() []slog.Attr {
	attrs := []slog.Attr{slog.String("consumer", m.consumer), slog.Int("attempt", m.attempt), slog.String("routing_key", m.rk)}
	if m.sc.IsValid() {
		attrs = append(attrs, slog.String("trace_id", m.sc.TraceID().String()), slog.String("span_id", m.sc.SpanID().String()))
	}
	if m.ev != nil {
		attrs = append(attrs, slog.String("event_id", m.ev.ID), slog.String("event_type", m.ev.Type),
			slog.String("tenant_id", m.ev.TenantID), slog.String("correlation_id", m.ev.CorrelationID))
	}
	return attrs
}

// setEvent adds the valid event's attributes.
func (m *msgLog) setEvent(ev *registry.Event) {
	m.ev = ev
	if m.l != nil {
		m.l = m.l.With("event_id", ev.ID, "event_type", ev.Type, "tenant_id", ev.TenantID, "correlation_id", ev.CorrelationID)
	}
}

// keptMetrics are the metric children of a pipeline's consumer, each looked up on first use,
// as before, and then kept: WithLabelValues hashes the labels and takes a lock on every call.
// The vectors are never reset, so a kept child stays the one WithLabelValues returns; two
// goroutines that both look one up first get the same child.
type keptMetrics struct {
	inFlight atomic.Pointer[prometheus.Gauge]
	duration atomic.Pointer[prometheus.Observer]
	outcomes [8]atomic.Pointer[prometheus.Counter]
}

// outcomeSlot indexes keptMetrics.outcomes by outcome label.
var outcomeSlot = func() map[string]int {
	m := map[string]int{}
	for i, o := range metrics.AllOutcomes() {
		m[o] = i
	}
	return m
}()

// keep returns the child slot holds, looking it up the first time.
func keep[T any](slot *atomic.Pointer[T], lookUp func() T) T {
	if c := slot.Load(); c != nil {
		return *c
	}
	c := lookUp()
	slot.Store(&c)
	return c
}

func (p *pipeline) inFlight() prometheus.Gauge {
	return keep(&p.kept.inFlight, func() prometheus.Gauge { return p.m.InFlight.WithLabelValues(p.consumer) })
}

func (p *pipeline) handlerDuration() prometheus.Observer {
	return keep(&p.kept.duration, func() prometheus.Observer { return p.m.HandlerDuration.WithLabelValues(p.consumer) })
}

// countOutcome counts one delivery of the consumer with outcome.
func (p *pipeline) countOutcome(d *delivery, outcome string) {
	d.outcome = outcome
	i, ok := outcomeSlot[outcome]
	if !ok || i >= len(p.kept.outcomes) {
		p.m.Outcomes.WithLabelValues(p.consumer, outcome).Inc()
		return
	}
	keep(&p.kept.outcomes[i], func() prometheus.Counter { return p.m.Outcomes.WithLabelValues(p.consumer, outcome) }).Inc()
}
