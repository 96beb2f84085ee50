package publisher

import (
	"context"

	amqp "github.com/rabbitmq/amqp091-go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/eventworker/eventworker/registry"
)

// tracerName is the instrumentation scope of the publisher's spans.
const tracerName = "github.com/eventworker/eventworker/publisher"

// propagator writes the trace context as the event contract says: W3C Trace Context, the
// headers traceparent and tracestate, whatever global propagator the program set.
var propagator propagation.TextMapPropagator = propagation.TraceContext{}

// startSend starts the span of one publish, a child of ctx's span, following OpenTelemetry's
// messaging conventions for RabbitMQ. The span's context is what the message carries.
func (p *Publisher) startSend(ctx context.Context, ev *registry.Event) (context.Context, trace.Span) {
	tp := p.cfg.TracerProvider
	if tp == nil {
		// The caller's span's provider: a traced program's SDK, or a no-op one.
		tp = trace.SpanFromContext(ctx).TracerProvider()
	}
	return tp.Tracer(tracerName).Start(ctx, "send "+p.cfg.Exchange, trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(
			attribute.String("messaging.system", "rabbitmq"),
			attribute.String("messaging.operation.type", "send"),
			attribute.String("messaging.operation.name", "send"),
			attribute.String("messaging.destination.name", p.cfg.Exchange),
			attribute.String("messaging.rabbitmq.destination.routing_key", ev.Type),
			attribute.String("messaging.message.id", ev.ID),
			attribute.String("messaging.message.conversation_id", ev.CorrelationID),
			attribute.String("eventworker.event_type", ev.Type),
			attribute.String("eventworker.tenant_id", ev.TenantID),
		))
}

// endSend ends a publish's span with its result.
func endSend(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// headerCarrier writes the trace context into AMQP headers, as strings.
type headerCarrier amqp.Table

func (h headerCarrier) Get(key string) string {
	s, _ := h[key].(string)
	return s
}

func (h headerCarrier) Set(key, value string) { h[key] = value }

func (h headerCarrier) Keys() []string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	return keys
}

// InjectTraceContext writes the trace context of ctx's span into carrier: traceparent and,
// when there is one, tracestate. A context without a valid span writes nothing. A Sender of
// NewWithSender calls it to put the context on its own messages.
func InjectTraceContext(ctx context.Context, carrier propagation.TextMapCarrier) {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return
	}
	propagator.Inject(ctx, carrier)
}

// traceHeaders returns the headers that carry ctx's trace context, nil when it has none.
func traceHeaders(ctx context.Context) amqp.Table {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return nil
	}
	h := amqp.Table{}
	propagator.Inject(ctx, headerCarrier(h))
	return h
}
