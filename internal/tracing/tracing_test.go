package tracing

import (
	"context"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

func TestExtract(t *testing.T) {
	t.Parallel()
	const valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	tests := []struct {
		name    string
		headers amqp.Table
		want    string // trace ID, "" for none
	}{
		{"none", amqp.Table{}, ""},
		{"valid", amqp.Table{"traceparent": valid, "tracestate": "a=b"}, "4bf92f3577b34da6a3ce929d0e0e4736"},
		{"malformed", amqp.Table{"traceparent": "00-zz-00f067aa0ba902b7-01"}, ""},
		{"all-zero trace", amqp.Table{"traceparent": "00-00000000000000000000000000000000-00f067aa0ba902b7-01"}, ""},
		{"not a string", amqp.Table{"traceparent": int64(7)}, ""},
	}
	for _, tc := range tests {
		sc := Extract(Headers(tc.headers))
		got := ""
		if sc.IsValid() {
			got = sc.TraceID().String()
		}
		if got != tc.want {
			t.Errorf("%s: trace %q, want %q", tc.name, got, tc.want)
		}
	}
	if got := Traceparent(ParseTraceparent(valid)); got != valid {
		t.Errorf("Traceparent(ParseTraceparent(%q)) = %q", valid, got)
	}
}

// TestChildrenOnly: spans start under a recording span only, so commands outside an event
// start no trace of their own.
func TestChildrenOnly(t *testing.T) {
	t.Parallel()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer tp.Shutdown(context.Background())
	child := ChildrenOnly(tp).Tracer("redis")

	_, orphan := child.Start(context.Background(), "ping")
	orphan.End()
	ctx, parent := tp.Tracer("worker").Start(context.Background(), "process")
	_, span := child.Start(ctx, "get")
	span.End()
	parent.End()

	spans := exp.GetSpans()
	if len(spans) != 2 || spans[0].Name != "get" || spans[0].Parent.SpanID() != parent.SpanContext().SpanID() {
		t.Errorf("spans %v, want get under process and no span for the ping", spans.Snapshots())
	}
	if orphan.SpanContext().IsValid() || orphan.IsRecording() {
		t.Error("a span started outside a trace records")
	}
	var _ trace.TracerProvider = ChildrenOnly(tp)
}

func TestScrub(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"550 5.1.1 <alice@example.com>: user unknown", "550 5.1.1 <<address>>: user unknown"},
		{"invalid To: bob.smith+shop@mail.example.org, check it", "invalid To: <address>, check it"},
		{"redis: connection refused", "redis: connection refused"},
	}
	for _, tc := range tests {
		if got := Scrub(tc.in); got != tc.want {
			t.Errorf("Scrub(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
