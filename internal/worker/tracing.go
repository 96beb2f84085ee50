package worker

import (
	"context"
	"errors"

	"github.com/ThreeDotsLabs/watermill/message"
	amqp "github.com/rabbitmq/amqp091-go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/eventworker/eventworker/internal/broker"
	"github.com/eventworker/eventworker/internal/tracing"
	"github.com/eventworker/eventworker/internal/worker/handling"
	"github.com/eventworker/eventworker/registry"
)

// Error classes of a span, beside broker.ClassPermanent and broker.ClassExhausted.
const (
	classTransient   = "transient"
	classUnavailable = "unavailable"
	classLater       = "later"
	classSuppressed  = "suppressed"
	classInvalid     = "invalid"
)

// startSpan continues the trace the message carries (its traceparent header): with tracing on,
// it starts the delivery's process span, following OpenTelemetry's messaging conventions;
// off, ctx only carries the producer's span context on, so the events the handler derives
// carry it too and the log lines name the trace. The first attempt after `eventworker dlq
// replay` starts a trace of its own, linked to the event's first failed attempt.
func (p *pipeline) startSpan(ctx context.Context, d *delivery) context.Context {
	headers, tag := headersOf(d.msg)
	parent := tracing.Extract(tracing.Headers(headers))
	d.continued = parent.IsValid()
	replayed, _ := broker.HeaderInt(headers[broker.HeaderReplayed])
	d.replayRoot = replayed > 0 && d.msg.Metadata.Get(broker.MetaFirstFailure) == ""
	if p.tracer == nil {
		if parent.IsValid() {
			d.spanCtx = parent
			return trace.ContextWithRemoteSpanContext(ctx, parent)
		}
		return ctx
	}
	opts := make([]trace.SpanStartOption, 0, 4)
	opts = append(opts, trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(
		attribute.String("messaging.system", "rabbitmq"),
		attribute.String("messaging.operation.type", "process"),
		attribute.String("messaging.operation.name", "process"),
		attribute.String("messaging.destination.name", p.reg.Exchange()),
		attribute.String("messaging.destination.subscription.name", p.names.Work()),
		attribute.String("messaging.rabbitmq.destination.routing_key", d.rk),
		attribute.Int("messaging.message.body.size", len(d.msg.Payload)),
		attribute.Int64("messaging.rabbitmq.message.delivery_tag", int64(tag)),
		tracing.Consumer.String(p.consumer),
		tracing.Attempt.Int(d.attempts+1),
	))
	switch {
	case d.replayRoot:
		first := tracing.ParseTraceparent(stringHeader(headers, broker.HeaderFirstAttemptSpan))
		if !first.IsValid() {
			first = parent
		}
		opts = append(opts, trace.WithNewRoot(), trace.WithAttributes(tracing.Replayed.Int64(replayed)))
		if first.IsValid() {
			opts = append(opts, trace.WithLinks(trace.Link{SpanContext: first,
				Attributes: []attribute.KeyValue{attribute.String("eventworker.link", "first_attempt")}}))
		}
	case parent.IsValid():
		ctx = trace.ContextWithRemoteSpanContext(ctx, parent)
	}
	ctx, d.span = p.tracer.Start(ctx, "process "+p.names.Work(), opts...)
	d.spanCtx = d.span.SpanContext()
	return ctx
}

// spanEvent adds the valid event's attributes to the delivery's span.
func (d *delivery) spanEvent(ev *registry.Event) {
	if d.span == nil || !d.span.IsRecording() {
		return
	}
	// The event_id, not the message_id property, which Kombu leaves out.
	d.span.SetAttributes(attribute.String("messaging.message.id", ev.ID),
		tracing.EventType.String(ev.Type), tracing.TenantID.String(ev.TenantID),
		attribute.String("messaging.message.conversation_id", ev.CorrelationID))
}

// fail records on the delivery's span the failure err of class (for a suppressed event, its
// reason); endSpan sets the span's error status unless the event was suppressed.
func (d *delivery) fail(class string, err error) {
	if d.errClass == "" || class == broker.ClassExhausted || class == broker.ClassPermanent {
		d.errClass = class
	}
	if d.span == nil || !d.span.IsRecording() || err == nil {
		return
	}
	tracing.RecordError(d.span, err, class)
}

// endSpan ends the delivery's span with its outcome and error class.
func (d *delivery) endSpan() {
	if d.span == nil {
		return
	}
	if d.span.IsRecording() {
		d.span.SetAttributes(tracing.Outcome.String(d.outcome))
		switch d.errClass {
		case "":
		case classSuppressed:
			// Deliberately not acted on: no failure.
			d.span.SetAttributes(tracing.ErrorClass.String(d.errClass))
		default:
			// The attempt failed, even when the event only waits for a service to come back.
			d.span.SetAttributes(tracing.ErrorClass.String(d.errClass), attribute.String("error.type", d.errClass))
			d.span.SetStatus(codes.Error, d.errClass)
		}
	}
	d.span.End()
}

// classOf names the class of a handler's error for its span.
func classOf(err error) string {
	switch {
	case handling.IsPermanent(err):
		return broker.ClassPermanent
	case errors.Is(err, handling.ErrSuppressed):
		return classSuppressed
	case handling.IsUnavailable(err):
		return classUnavailable
	case handling.IsLater(err):
		return classLater
	}
	return classTransient
}

// traceHeaders writes into the headers of a retry or dead letter what its trace needs: the
// span of the event's first failed attempt (kept once set), and, when this attempt's span
// started the trace (the message carried none, or it is the first attempt of a replay), that
// span as the parent of the attempts that follow, so they join its trace.
func (d *delivery) traceHeaders(h amqp.Table) {
	if d.span == nil || !d.spanCtx.IsValid() {
		return
	}
	if _, ok := h[broker.HeaderFirstAttemptSpan]; !ok {
		h[broker.HeaderFirstAttemptSpan] = tracing.Traceparent(d.spanCtx)
	}
	if d.replayRoot || !d.continued {
		h[tracing.HeaderTraceparent] = tracing.Traceparent(d.spanCtx)
		delete(h, "tracestate")
	}
}

// headersOf returns the headers and delivery tag of the delivery msg came from; none over a
// transport without one.
func headersOf(msg *message.Message) (amqp.Table, uint64) {
	if orig, ok := broker.DeliveryOf(msg); ok {
		return orig.Headers, orig.DeliveryTag
	}
	return nil, 0
}

func stringHeader(h amqp.Table, key string) string {
	s, _ := h[key].(string)
	return s
}

// traceID is the ID of the delivery's trace when it is sampled, for the metrics' exemplars; ""
// otherwise.
func (d *delivery) traceID() string {
	if !d.spanCtx.IsSampled() {
		return ""
	}
	return d.spanCtx.TraceID().String()
}

// traceIDOf is the ID of ctx's trace when it is sampled; "" otherwise.
func traceIDOf(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsSampled() {
		return ""
	}
	return sc.TraceID().String()
}
