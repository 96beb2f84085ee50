package worker

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	amqp "github.com/rabbitmq/amqp091-go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/eventworker/eventworker/internal/broker"
	"github.com/eventworker/eventworker/internal/dlq"
	"github.com/eventworker/eventworker/internal/tracing"
	"github.com/eventworker/eventworker/registry"
)

// processSpans returns the worker's spans of consumer for event id, in the order they ended.
func processSpans(exp *tracetest.InMemoryExporter, consumer, id string) []tracetest.SpanStub {
	var out []tracetest.SpanStub
	for _, s := range exp.GetSpans() {
		var c, msgID string
		for _, a := range s.Attributes {
			switch a.Key {
			case tracing.Consumer:
				c = a.Value.AsString()
			case "messaging.message.id":
				msgID = a.Value.AsString()
			}
		}
		if c == consumer && msgID == id {
			out = append(out, s)
		}
	}
	return out
}

func attr(s tracetest.SpanStub, key attribute.Key) attribute.Value {
	for _, a := range s.Attributes {
		if a.Key == key {
			return a.Value
		}
	}
	return attribute.Value{}
}

// TestTraceSurvivesRetriesDeadLetterAndReplay: every attempt of an event continues the
// producer's trace, through the retry queues; the dead letter keeps the producer's traceparent
// and names the first attempt's span; a replay starts a trace of its own, linked to that first
// attempt.
func TestTraceSurvivesRetriesDeadLetterAndReplay(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	e := newEnv(t, nil)
	e.tracer = tp
	var healthy atomic.Bool
	e.rec.fail = func(consumer string, _ *registry.Event, _ int) error {
		if consumer == "tenants" && !healthy.Load() {
			return errFlaky
		}
		return nil
	}
	e.start()
	const traceID, producerSpan = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
	traceparent := "00-" + traceID + "-" + producerSpan + "-01"
	id := uuid.NewString()
	e.publish("tenant.reactivated", e.example("tenant.reactivated", id), amqp.Table{"traceparent": traceparent, "tracestate": "shop=api"})
	dead := e.dead("tenants", 1, 20*time.Second)

	attempts := processSpans(exp, "tenants", id)
	if want := workerConfig(e.cfg).MaxAttempts(); len(attempts) != want {
		t.Fatalf("%d process spans for the attempts, want %d", len(attempts), want)
	}
	for i, s := range attempts {
		if s.SpanContext.TraceID().String() != traceID || s.Parent.SpanID().String() != producerSpan || !s.Parent.IsRemote() {
			t.Errorf("attempt %d: span in trace %s under %s, want trace %s under the producer's span %s",
				i+1, s.SpanContext.TraceID(), s.Parent.SpanID(), traceID, producerSpan)
		}
		if s.SpanKind != trace.SpanKindConsumer || attr(s, tracing.Attempt).AsInt64() != int64(i+1) {
			t.Errorf("attempt %d: kind %v, attempt attribute %v", i+1, s.SpanKind, attr(s, tracing.Attempt))
		}
		if len(s.Events) == 0 || s.Events[0].Name != "exception" {
			t.Errorf("attempt %d: the handler's error is not recorded: events %v", i+1, s.Events)
		}
	}
	last := attempts[len(attempts)-1]
	if attr(last, tracing.Outcome).AsString() != "dead_lettered" || attr(last, tracing.ErrorClass).AsString() != broker.ClassExhausted ||
		last.Status.Code != codes.Error {
		t.Errorf("last attempt: outcome %v, class %v, status %v; want dead_lettered, exhausted, error",
			attr(last, tracing.Outcome), attr(last, tracing.ErrorClass), last.Status)
	}
	if attr(attempts[0], tracing.Outcome).AsString() != "retried" || attr(attempts[0], tracing.ErrorClass).AsString() != classTransient {
		t.Errorf("first attempt: outcome %v, class %v; want retried, transient", attr(attempts[0], tracing.Outcome), attr(attempts[0], tracing.ErrorClass))
	}
	h := dead[0].Headers
	if h["traceparent"] != traceparent || h["tracestate"] != "shop=api" {
		t.Errorf("the dead letter's trace headers are %v, %v; want the producer's", h["traceparent"], h["tracestate"])
	}
	first := tracing.ParseTraceparent(stringHeader(h, broker.HeaderFirstAttemptSpan))
	if first.SpanID() != attempts[0].SpanContext.SpanID() {
		t.Errorf("the dead letter names span %s as the first attempt's, want %s", first.SpanID(), attempts[0].SpanContext.SpanID())
	}
	// The dead letter is put back, as dead() took it off the queue.
	redo := dlq.ReplayPublishing("tenant.reactivated", dead[0])
	healthy.Store(true)
	if err := e.ch.PublishWithContext(context.Background(), "", broker.Names{Prefix: e.cfg.QueuePrefix, Consumer: "tenants"}.Work(), false, false, redo); err != nil {
		t.Fatal(err)
	}
	var replay tracetest.SpanStub
	e.waitFor("the replay's span", 15*time.Second, func() bool {
		spans := processSpans(exp, "tenants", id)
		if len(spans) > len(attempts) {
			replay = spans[len(spans)-1]
			return true
		}
		return false
	})
	if replay.SpanContext.TraceID().String() == traceID || replay.Parent.IsValid() {
		t.Errorf("the replay's span is in trace %s under %s, want a trace of its own", replay.SpanContext.TraceID(), replay.Parent.SpanID())
	}
	if len(replay.Links) != 1 || replay.Links[0].SpanContext.SpanID() != attempts[0].SpanContext.SpanID() ||
		replay.Links[0].SpanContext.TraceID().String() != traceID {
		t.Errorf("the replay's links %v do not name the first attempt %s", replay.Links, attempts[0].SpanContext.SpanID())
	}
	if attr(replay, tracing.Replayed).AsInt64() != 1 || attr(replay, tracing.Outcome).AsString() != "ok" {
		t.Errorf("replay span: replayed %v, outcome %v", attr(replay, tracing.Replayed), attr(replay, tracing.Outcome))
	}
}

// TestRetriesJoinTheTraceTheWorkerStarted: an event that came without a traceparent (an
// untraced producer) starts a trace at its first attempt, and its later attempts and dead
// letter stay in that trace.
func TestRetriesJoinTheTraceTheWorkerStarted(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	e := newEnv(t, nil)
	e.tracer = tp
	e.rec.fail = func(consumer string, _ *registry.Event, _ int) error {
		if consumer == "tenants" {
			return errFlaky
		}
		return nil
	}
	e.start()
	id := uuid.NewString()
	e.publish("tenant.reactivated", e.example("tenant.reactivated", id), nil)
	dead := e.dead("tenants", 1, 20*time.Second)
	attempts := processSpans(exp, "tenants", id)
	if want := workerConfig(e.cfg).MaxAttempts(); len(attempts) != want {
		t.Fatalf("%d process spans, want %d", len(attempts), want)
	}
	first := attempts[0]
	if first.Parent.IsValid() {
		t.Errorf("the first attempt's span has parent %s, want none", first.Parent.SpanID())
	}
	for i, s := range attempts[1:] {
		if s.SpanContext.TraceID() != first.SpanContext.TraceID() || s.Parent.SpanID() != first.SpanContext.SpanID() {
			t.Errorf("attempt %d: trace %s under %s, want the first attempt's trace %s under its span %s",
				i+2, s.SpanContext.TraceID(), s.Parent.SpanID(), first.SpanContext.TraceID(), first.SpanContext.SpanID())
		}
	}
	if got := tracing.ParseTraceparent(stringHeader(dead[0].Headers, "traceparent")); got.TraceID() != first.SpanContext.TraceID() {
		t.Errorf("the dead letter's traceparent names trace %s, want %s", got.TraceID(), first.SpanContext.TraceID())
	}
}
