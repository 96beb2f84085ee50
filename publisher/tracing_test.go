package publisher

import (
	"context"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/eventworker/eventworker/registry"
)

// TestAMQPTraceContext: a publish puts the caller's trace context in the traceparent and
// tracestate headers, so consumers continue the caller's trace. With a tracer provider the
// header names the publisher's own send span, a child of the caller's; without one, the
// caller's span. Without a span in the context, a provider's send span starts the trace, and
// without a provider no header is sent.
func TestAMQPTraceContext(t *testing.T) {
	t.Parallel()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })

	ts, _ := trace.ParseTraceState("shop=api")
	caller := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		SpanID:  trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7}, TraceFlags: trace.FlagsSampled,
		TraceState: ts, Remote: true,
	})
	traced := trace.ContextWithRemoteSpanContext(context.Background(), caller)
	data := registry.OrderCancelled{OrderID: "ord-1", CustomerID: "cus-1", CustomerEmail: "c@example.com"}

	tests := []struct {
		name     string
		tp       trace.TracerProvider
		ctx      context.Context
		wantSpan bool // the header names a new span of the publisher's, not the caller's
		wantNone bool
		wantRoot bool // the send span starts the trace
	}{
		{name: "with a tracer provider", tp: tp, ctx: traced, wantSpan: true},
		{name: "without one", ctx: traced},
		{name: "no trace in the context", ctx: context.Background(), wantNone: true},
		{name: "no trace in the context, with a tracer provider", tp: tp, ctx: context.Background(), wantSpan: true, wantRoot: true},
	}
	for _, tc := range tests {
		p, cfg := newAMQPPublisher(t, Config{TracerProvider: tc.tp})
		q := bindQueue(t, cfg.URL, cfg.Exchange, "order.cancelled")
		ev, err := p.Publish(tc.ctx, Event{TenantID: "acme", Data: data})
		if err != nil {
			t.Fatalf("%s: publish: %v", tc.name, err)
		}
		d := q.next(t, waitMessage)
		tp, _ := d.Headers["traceparent"].(string)
		if tc.wantNone {
			if _, ok := d.Headers["traceparent"]; ok {
				t.Errorf("%s: traceparent %q sent without a trace", tc.name, tp)
			}
			continue
		}
		got := trace.SpanContextFromContext(propagation.TraceContext{}.Extract(context.Background(), headerCarrier(d.Headers)))
		if tc.wantRoot {
			if got.TraceID() == caller.TraceID() || !got.IsValid() {
				t.Errorf("%s: traceparent %q does not start a trace", tc.name, tp)
			}
		} else if got.TraceID() != caller.TraceID() || !got.IsSampled() || d.Headers["tracestate"] != "shop=api" {
			t.Errorf("%s: headers %v do not carry the caller's trace %s", tc.name, d.Headers, caller.TraceID())
		}
		if !tc.wantSpan {
			if got.SpanID() != caller.SpanID() {
				t.Errorf("%s: traceparent %s names span %s, want the caller's %s", tc.name, tp, got.SpanID(), caller.SpanID())
			}
			continue
		}
		var send *tracetest.SpanStub
		for _, s := range exp.GetSpans() {
			if s.SpanContext.SpanID() == got.SpanID() {
				send = &s
			}
		}
		if send == nil {
			t.Fatalf("%s: traceparent %s names no span the publisher ended", tc.name, tp)
		}
		wantParent := caller.SpanID()
		if tc.wantRoot {
			wantParent = trace.SpanID{}
		}
		if send.Parent.SpanID() != wantParent || send.SpanKind != trace.SpanKindProducer || !strings.HasPrefix(send.Name, "send ") {
			t.Errorf("%s: send span %q of kind %v under %s, want a producer span under %s", tc.name, send.Name, send.SpanKind, send.Parent.SpanID(), wantParent)
		}
		found := false
		for _, a := range send.Attributes {
			found = found || (a.Key == "messaging.message.id" && a.Value.AsString() == ev.ID)
		}
		if !found {
			t.Errorf("%s: send span lacks messaging.message.id %s: %v", tc.name, ev.ID, send.Attributes)
		}
	}
}
