package app

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus/testutil"
	amqp "github.com/rabbitmq/amqp091-go"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/eventworker/eventworker/config"
	"github.com/eventworker/eventworker/internal/logging"
	"github.com/eventworker/eventworker/internal/metrics"
	"github.com/eventworker/eventworker/internal/otlptest"
	"github.com/eventworker/eventworker/internal/smtptest"
	"github.com/eventworker/eventworker/internal/testenv"
)

// TestTraceFromKombuProducerToEmail follows one trace end to end, with the OTEL_* variables
// and the real parts: a Kombu producer publishes product.updated with a traceparent; the worker
// exports its spans over OTLP/HTTP to a receiver that decodes the protobuf. In the producer's
// trace: each consumer's process span, child of the producer's span; Redis command spans; the
// derived product.inventory_low's send span, its processing by the notifications consumer and
// the SMTP send of the owner's email. The log lines and the lag's exemplar name the trace.
func TestTraceFromKombuProducerToEmail(t *testing.T) {
	py := testenv.KombuPython(t)
	amqpURL := testenv.AMQPURL(t)
	rcv := otlptest.Start(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", rcv.URL())
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	t.Setenv("OTEL_SERVICE_NAME", "eventworker-trace-test")
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=test")
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
	smtp := smtptest.Start(t, smtptest.Options{})

	redisAddr, _, _ := privateRedis(t)
	name := testenv.Name("ewtrace")
	reg, regFile := privateRegistry(t, name)
	cfg := config.Default()
	cfg.AMQPURL, cfg.RedisURL, cfg.RegistryFile = amqpURL, "redis://"+redisAddr, regFile
	cfg.QueuePrefix, cfg.CachePrefix = name, "p:"
	cfg.HTTPAddr = fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	cfg.MailURL = smtp.URL("smtp", "", "starttls=none")
	cfg.MailFrom = "Platform <mail@platform.example>"
	cfg.MailRate = 0
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	logs := &testenv.SyncBuffer{}
	a, err := New(context.Background(), cfg, logging.New(logs, -4))
	if err != nil {
		t.Fatal(err)
	}
	if !a.Tracing.Enabled {
		t.Fatal("tracing is off although OTEL_EXPORTER_OTLP_ENDPOINT is set")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		a.Close()
		deleteQueues(t, amqpURL, name, reg.Consumers(), cfg)
		if conn, err := amqp.Dial(amqpURL); err == nil {
			if ch, err := conn.Channel(); err == nil {
				_ = ch.ExchangeDelete(name, false, false)
			}
			conn.Close()
		}
	})
	waitUntil(t, "readiness", 30*time.Second, func() bool { code, _ := readyz("http://" + cfg.HTTPAddr + "/readyz"); return code == http.StatusOK })

	handled := func(consumer string) float64 {
		return testutil.ToFloat64(a.Metrics.Outcomes.WithLabelValues(consumer, metrics.OutcomeOK))
	}
	send := func(routingKey string, data map[string]any, headers map[string]any) string {
		t.Helper()
		id := uuid.NewString()
		line, _ := json.Marshal(map[string]any{"routing_key": routingKey, "headers": headers, "body": map[string]any{
			"event_id": id, "event_type": routingKey, "event_version": 1, "tenant_id": "acme", "producer": "shop-api",
			"occurred_at": time.Now().UTC().Format("2006-01-02T15:04:05.000000"), "correlation_id": "req-" + id[:8], "data": data,
		}})
		cmd := exec.Command(py, "../interop/testdata/kombu_send.py", amqpURL, name)
		cmd.Stdin = strings.NewReader(string(line) + "\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("kombu_send.py: %v\n%s", err, out)
		}
		return id
	}

	// The shop and its product, untraced; the product's stock then falls below its threshold
	// in the traced event.
	send("tenant.provisioned", map[string]any{"tenant_id": "acme", "name": "Acme Shop", "owner_email": "owner@acme.example", "plan": "pro", "locale": "en-US"}, nil)
	waitUntil(t, "the tenant", 30*time.Second, func() bool { return handled("notifications") >= 1 })
	product := map[string]any{"product_id": "prod-7", "sku": "MUG-BLUE", "name": "Blue mug", "price": 19.99, "currency": "USD", "inventory_quantity": 12}
	send("product.created", product, nil)
	waitUntil(t, "the product", 30*time.Second, func() bool { return handled("inventory") >= 1 })
	startMails := len(smtp.Messages())

	const traceID, producerSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	product["inventory_quantity"], product["version"] = 2, 2
	eventID := send("product.updated", product, map[string]any{
		"traceparent": "00-" + traceID + "-" + producerSpan + "-01", "tracestate": "shop=api", "x-retries": 3})
	smtp.WaitMessages(t, startMails+1, 30*time.Second)

	// Every consumer of product.updated, and the low-stock email's SMTP send.
	consumers := reg.ConsumersOf("product.updated")
	inTrace := func(spans []otlptest.Span) []otlptest.Span {
		var out []otlptest.Span
		for _, s := range spans {
			if s.TraceID == traceID {
				out = append(out, s)
			}
		}
		return out
	}
	spans := inTrace(rcv.WaitSpans(t, 30*time.Second, func(all []otlptest.Span) bool {
		n, smtpSeen := 0, false
		for _, s := range inTrace(all) {
			if s.ParentSpanID == producerSpan {
				n++
			}
			smtpSeen = smtpSeen || s.Name == "smtp send"
		}
		return n >= len(consumers) && smtpSeen
	}))
	byID := map[string]otlptest.Span{}
	for _, s := range spans {
		byID[s.SpanID] = s
	}
	process := map[string]otlptest.Span{} // consumer -> its process span of product.updated
	for _, s := range spans {
		if s.ParentSpanID == producerSpan {
			process[fmt.Sprint(s.Attributes["eventworker.consumer"])] = s
		}
	}
	for _, c := range consumers {
		s, ok := process[c]
		if !ok {
			t.Errorf("no process span of consumer %s in the producer's trace", c)
			continue
		}
		want := map[string]any{
			"messaging.system": "rabbitmq", "messaging.operation.type": "process", "messaging.message.id": eventID,
			"messaging.rabbitmq.destination.routing_key": "product.updated", "messaging.destination.name": name,
			"eventworker.tenant_id": "acme", "eventworker.event_type": "product.updated", "eventworker.attempt": int64(1),
			"eventworker.outcome": "ok",
		}
		for k, v := range want {
			if s.Attributes[k] != v {
				t.Errorf("%s's span %q: %s = %v, want %v", c, s.Name, k, s.Attributes[k], v)
			}
		}
		if s.Kind != tracepb.Span_SPAN_KIND_CONSUMER || s.Name != "process "+name+"."+c {
			t.Errorf("%s's span is %q of kind %v, want %q, consumer", c, s.Name, s.Kind, "process "+name+"."+c)
		}
		if s.Resource["service.name"] != "eventworker-trace-test" || s.Resource["deployment.environment.name"] != "test" {
			t.Errorf("resource %v does not follow OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES", s.Resource)
		}
	}

	// Redis commands: children of the process spans, by go-redis's own instrumentation.
	redisSpans := 0
	for _, s := range spans {
		if strings.Contains(s.Scope, "redisotel") {
			redisSpans++
			if _, ok := byID[s.ParentSpanID]; !ok {
				t.Errorf("Redis span %q has no parent in the trace", s.Name)
			}
			if _, leak := s.Attributes["db.statement"]; leak {
				t.Errorf("Redis span %q carries the command's statement, values included", s.Name)
			}
		}
	}
	if redisSpans == 0 {
		t.Error("no Redis command span in the trace")
	}

	// The derived event: published under the inventory consumer's span, processed and emailed
	// in the same trace.
	var derived, lowProcess, smtpSpan otlptest.Span
	for _, s := range spans {
		switch {
		case s.Kind == tracepb.Span_SPAN_KIND_PRODUCER && s.Attributes["messaging.rabbitmq.destination.routing_key"] == "product.inventory_low":
			derived = s
		case s.Name == "smtp send":
			smtpSpan = s
		}
	}
	if derived.SpanID == "" || derived.ParentSpanID != process["inventory"].SpanID {
		t.Fatalf("the derived event's send span %+v is not a child of the inventory consumer's span", derived)
	}
	for _, s := range spans {
		if s.ParentSpanID == derived.SpanID && s.Attributes["eventworker.consumer"] == "notifications" {
			lowProcess = s
		}
	}
	if lowProcess.SpanID == "" || lowProcess.Attributes["eventworker.event_type"] != "product.inventory_low" {
		t.Fatalf("no notifications span of product.inventory_low under the derived event's send span")
	}
	if smtpSpan.ParentSpanID != lowProcess.SpanID || smtpSpan.Kind != tracepb.Span_SPAN_KIND_CLIENT ||
		smtpSpan.Attributes["server.address"] != smtp.Host() {
		t.Errorf("smtp send span %+v is not the low-stock email's client span under %s", smtpSpan, lowProcess.SpanID)
	}

	// The log lines about the event name its trace.
	found := false
	sc := bufio.NewScanner(strings.NewReader(logs.String()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) != nil || line["event_id"] != eventID {
			continue
		}
		found = true
		if line["trace_id"] != traceID || line["span_id"] == "" || line["span_id"] == nil {
			t.Errorf("log line about the event lacks its trace: %s", sc.Text())
		}
	}
	if !found {
		t.Error("no log line names the event")
	}

	// The lag histogram's exemplar, in the OpenMetrics exposition.
	req, _ := http.NewRequest(http.MethodGet, "http://"+cfg.HTTPAddr+"/metrics", nil)
	req.Header.Set("Accept", "application/openmetrics-text; version=1.0.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `trace_id="`+traceID+`"`) {
		t.Errorf("no exemplar names trace %s in the OpenMetrics exposition", traceID)
	}
}
