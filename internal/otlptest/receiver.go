package otlptest

import (
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// Span is one received span, with the IDs in hex as logs and traceparent headers write them.
type Span struct {
	TraceID, SpanID, ParentSpanID string
	Name                          string
	Kind                          tracepb.Span_SpanKind
	// Attributes, Resource: string, int, bool and double values, by key.
	Attributes map[string]any
	Resource   map[string]any
	// Scope is the instrumentation scope's name.
	Scope string
	// Links are the linked spans, as "traceID/spanID".
	Links []string
	// Events are the names of the span's events ("exception" for a recorded error).
	Events []string
	// StatusCode is the span's status.
	StatusCode tracepb.Status_StatusCode
}

// Receiver is an OTLP trace receiver, over HTTP (Start) or gRPC (StartGRPC).
type Receiver struct {
	srv  *httptest.Server
	addr string // gRPC's host:port

	mu      sync.Mutex
	spans   []Span
	exports int
}

// Start starts a receiver on 127.0.0.1 and a free port; it stops when the test ends.
func Start(t testing.TB) *Receiver {
	t.Helper()
	r := &Receiver{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/traces", r.serveTraces)
	r.srv = httptest.NewServer(mux)
	t.Cleanup(r.srv.Close)
	return r
}

// URL is the base URL, the value for OTEL_EXPORTER_OTLP_ENDPOINT.
func (r *Receiver) URL() string {
	if r.srv == nil {
		return "http://" + r.addr
	}
	return r.srv.URL
}

func (r *Receiver) serveTraces(w http.ResponseWriter, req *http.Request) {
	var body io.Reader = req.Body
	if req.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(req.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var export coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(raw, &export); err != nil {
		http.Error(w, "not an OTLP protobuf trace export: "+err.Error(), http.StatusBadRequest)
		return
	}
	r.keep(&export)
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = io.Copy(w, bytes.NewReader(out))
}

// keep stores the spans of one export.
func (r *Receiver) keep(export *coltracepb.ExportTraceServiceRequest) {
	var got []Span
	for _, rs := range export.GetResourceSpans() {
		res := attrs(rs.GetResource().GetAttributes())
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				sp := Span{
					TraceID: hex.EncodeToString(s.GetTraceId()), SpanID: hex.EncodeToString(s.GetSpanId()),
					ParentSpanID: hex.EncodeToString(s.GetParentSpanId()), Name: s.GetName(), Kind: s.GetKind(),
					Attributes: attrs(s.GetAttributes()), Resource: res, Scope: ss.GetScope().GetName(),
					StatusCode: s.GetStatus().GetCode(),
				}
				for _, l := range s.GetLinks() {
					sp.Links = append(sp.Links, hex.EncodeToString(l.GetTraceId())+"/"+hex.EncodeToString(l.GetSpanId()))
				}
				for _, e := range s.GetEvents() {
					sp.Events = append(sp.Events, e.GetName())
				}
				got = append(got, sp)
			}
		}
	}
	r.mu.Lock()
	r.spans = append(r.spans, got...)
	r.exports++
	r.mu.Unlock()
}

// Spans returns the spans received so far.
func (r *Receiver) Spans() []Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Span(nil), r.spans...)
}

// WaitSpans waits until done holds for the spans received, or fails the test after timeout
// listing what came.
func (r *Receiver) WaitSpans(t testing.TB, timeout time.Duration, done func([]Span) bool) []Span {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		spans := r.Spans()
		if done(spans) {
			return spans
		}
		if time.Now().After(deadline) {
			for _, s := range spans {
				t.Logf("received: %s %s parent=%s trace=%s scope=%s", s.Name, s.SpanID, s.ParentSpanID, s.TraceID, s.Scope)
			}
			t.Fatalf("the receiver did not get the spans awaited within %s (%d spans in all)", timeout, len(spans))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// attrs flattens OTLP attributes to Go values.
func attrs(kvs []*commonpb.KeyValue) map[string]any {
	m := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		v := kv.GetValue()
		switch v.GetValue().(type) {
		case *commonpb.AnyValue_StringValue:
			m[kv.GetKey()] = v.GetStringValue()
		case *commonpb.AnyValue_IntValue:
			m[kv.GetKey()] = v.GetIntValue()
		case *commonpb.AnyValue_BoolValue:
			m[kv.GetKey()] = v.GetBoolValue()
		case *commonpb.AnyValue_DoubleValue:
			m[kv.GetKey()] = v.GetDoubleValue()
		default:
			m[kv.GetKey()] = v.String()
		}
	}
	return m
}
