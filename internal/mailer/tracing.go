package mailer

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/eventworker/eventworker/internal/tracing"
)

// spans makes the span of each delivery to the back end, a child of the handler's span.
type spans struct {
	tracer trace.Tracer
	name   string
	attrs  []attribute.KeyValue
}

func newSpans(tp trace.TracerProvider, ep *endpoint) *spans {
	s := &spans{tracer: tp.Tracer("github.com/eventworker/eventworker/internal/mailer"), name: "email " + ep.scheme,
		attrs: []attribute.KeyValue{attribute.String("eventworker.mail.backend", ep.scheme)}}
	if ep.scheme == schemeSMTP || ep.scheme == schemeSMTPS {
		s.name = "smtp send"
		s.attrs = append(s.attrs, attribute.String("network.protocol.name", "smtp"),
			attribute.String("server.address", ep.host), attribute.Int("server.port", ep.port))
	}
	return s
}

// start starts the span of one delivery; a nil spans starts none.
func (s *spans) start(ctx context.Context, template string) (context.Context, trace.Span) {
	if s == nil {
		return ctx, nil
	}
	return s.tracer.Start(ctx, s.name, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(s.attrs...), trace.WithAttributes(attribute.String("eventworker.email.template", template)))
}

// end ends span with the delivery's result: how long it waited for a pooled connection, and
// its error's class (unavailable, permanent or transient).
func (s *spans) end(span trace.Span, waited time.Duration, err error) {
	if span == nil {
		return
	}
	if span.IsRecording() {
		span.SetAttributes(attribute.Float64("eventworker.mail.connection_wait_seconds", waited.Seconds()))
		if err != nil {
			class := "transient"
			switch {
			case IsUnavailable(err):
				class = "unavailable"
			case IsPermanent(err):
				class = "permanent"
			}
			tracing.RecordError(span, err, class)
			span.SetAttributes(attribute.String("error.type", class))
			span.SetStatus(codes.Error, class)
		}
	}
	span.End()
}
