package worker

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/eventworker/eventworker/internal/broker"
	"github.com/eventworker/eventworker/internal/metrics"
	"github.com/eventworker/eventworker/internal/tracing"
)

// runCountTimeout bounds the poison guard's calls to Redis after a run: the handler's context
// may be over by then.
const runCountTimeout = 2 * time.Second

// mayHaveDied reports whether an earlier delivery of msg may have been running when its process
// died: RabbitMQ redelivers it, or it came back from a retry queue or was published anew by the
// worker. Only such deliveries count their runs, so a first delivery costs nothing more.
func mayHaveDied(msg *message.Message) bool {
	md := msg.Metadata
	return md.Get(broker.MetaRedelivered) == "true" || md.Get(broker.MetaFirstFailure) != "" || md.Get(broker.MetaReturns) != ""
}

// startRun counts the run about to begin of a delivery that may follow a run whose process died,
// and returns how many runs of the event began earlier and never ended, and the func that takes
// this run's count back once it ended. Without Redis it counts nothing: the quorum queue's
// delivery limit still guards.
func (p *pipeline) startRun(ctx context.Context, d *delivery) (died int, finish func()) {
	finish = func() {}
	if p.runs == nil || !mayHaveDied(d.msg) {
		return 0, finish
	}
	n, err := p.runs.Start(ctx, p.consumer, d.ev.ID)
	if err != nil {
		d.log.logger().Debug("could not count the handler's run", "error", err.Error())
		return 0, finish
	}
	return n - 1, func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), runCountTimeout)
		defer cancel()
		if err := p.runs.Finish(ctx, p.consumer, d.ev.ID); err != nil {
			d.log.logger().Warn("could not count the end of the handler's run; a redelivery counts it as one that died", "error", err.Error())
		}
	}
}

// poisoned dead-letters an event whose handler began died times without ever ending: each time
// the process running it died, so it is the likely cause.
func (p *pipeline) poisoned(ctx context.Context, log *slog.Logger, d *delivery, died int) error {
	reason := fmt.Sprintf("%d runs of its handler never finished, not counting a first delivery's: the worker running it "+
		"died each time (killed, out of memory, a fatal runtime error), as often as EVENTWORKER_DELIVERY_LIMIT (%d) allows; "+
		"the worker's log before each restart says what happened", died, p.cfg.DeliveryLimit)
	if err := p.giveUp(ctx, log, d, broker.ClassDeliveryLimit, reason, nil); err != nil {
		return err
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), runCountTimeout)
	defer cancel()
	if err := p.runs.Forget(fctx, p.consumer, d.ev.ID); err != nil {
		log.Warn("could not reset the count of the handler's runs; a replay may be dead-lettered again at once", "error", err.Error())
	}
	return nil
}

// atDeliveryLimit reports whether RabbitMQ dead-letters msg if it comes back once more: a
// quorum queue counts every return, the deliveries a stopping or dying worker had only
// prefetched too.
func (p *pipeline) atDeliveryLimit(msg *message.Message) bool {
	n, err := strconv.Atoi(msg.Metadata.Get(broker.MetaDeliveryCount))
	return err == nil && n >= p.cfg.DeliveryLimit
}

// renew publishes a message at the delivery limit anew, with a fresh delivery count, and
// acknowledges it, as it arrives and before it waits for a handler: otherwise a crash loop would
// dead-letter messages that no handler ever saw. It reports false, having done nothing, when the
// message goes through the pipeline as usual: it is invalid, its handler is what keeps dying
// (the pipeline dead-letters it), or Redis or RabbitMQ cannot tell or take the copy (the
// broker's limit then guards as before).
func (p *pipeline) renew(msg *message.Message) (bool, error) {
	orig, ok := broker.DeliveryOf(msg)
	if !ok || p.runs == nil {
		return false, nil
	}
	if !p.gate.enter() {
		return true, errDraining
	}
	defer p.gate.leave()
	ctx, cancel := p.gate.bind(msg.Context())
	defer cancel()
	d := delivery{msg: msg, rk: msg.Metadata.Get(broker.MetaRoutingKey)}
	d.attempts, _ = strconv.Atoi(msg.Metadata.Get(broker.MetaAttempts))
	ev, err := p.valid.validate(p.reg, d.rk, msg.Payload)
	if err != nil || !p.handles[ev.Type] {
		return false, nil
	}
	d.ev = ev
	headers, _ := headersOf(msg)
	ml := &msgLog{base: p.log, consumer: p.consumer, attempt: d.attempts + 1, rk: d.rk, sc: tracing.Extract(tracing.Headers(headers))}
	ml.setEvent(ev)
	log := ml.logger()
	died, err := p.runs.Unfinished(ctx, p.consumer, ev.ID)
	if err != nil || died >= p.cfg.DeliveryLimit {
		return false, nil
	}
	pub := broker.Republish(orig)
	returns, _ := strconv.Atoi(msg.Metadata.Get(broker.MetaReturns))
	count, _ := strconv.Atoi(msg.Metadata.Get(broker.MetaDeliveryCount))
	pub.Headers[broker.HeaderReturns] = int64(returns + count)
	pub.Headers[broker.HeaderRoutingKey] = d.rk
	if d.attempts > 0 {
		pub.Headers[broker.HeaderAttempts] = int64(d.attempts)
	}
	broker.Restore(&pub) // its per-message TTL applies in the work queue as it did
	if err := p.store(ctx, log, p.names.Work(), pub); err != nil {
		log.Warn("could not publish anew an event at the delivery limit; the broker dead-letters it if it comes back once more", "error", err.Error())
		return false, nil
	}
	p.countOutcome(&d, metrics.OutcomeRenewed)
	// WARN: workers keep dying (or stopping past their deadline) with messages prefetched.
	log.Warn("event published anew with a fresh delivery count: it came back unacknowledged as often as the delivery limit allows, and no run of its handler died",
		"returns", returns+count)
	return true, nil
}
