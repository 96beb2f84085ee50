package broker

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/eventworker/eventworker/internal/testenv"
)

// benchDeliveries are deliveries as the worker receives them: a plain one from a Go producer,
// one from Kombu with the application headers a Python producer adds, and a redelivery from a
// retry queue of a quorum queue with the worker's retry state and x-death.
var benchDeliveries = []struct {
	name string
	d    amqp.Delivery
}{
	{"plain", amqp.Delivery{
		RoutingKey: "product.updated", MessageId: "2775daad-71c5-4e80-a7cf-54509e646edc", ContentType: "application/json",
		Body: []byte(`{"event_id":"2775daad-71c5-4e80-a7cf-54509e646edc"}`),
	}},
	{"kombu", amqp.Delivery{
		RoutingKey: "product.updated", MessageId: "2775daad-71c5-4e80-a7cf-54509e646edc", CorrelationId: "restock-7",
		ContentType: "application/json", AppId: "shop-api", Body: []byte(`{"event_id":"2775daad-71c5-4e80-a7cf-54509e646edc"}`),
		Headers: amqp.Table{
			"producer": "shop-api", "retries": int32(0), "sent_at": time.Date(2026, 11, 26, 10, 30, 0, 0, time.UTC),
			"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "compressed": false, "priority": nil,
			"origin": amqp.Table{"host": "shop-api-7c9f", "pid": int64(4711)},
		},
	}},
	{"redelivered", amqp.Delivery{
		RoutingKey: "eventworker.cache", MessageId: "2775daad-71c5-4e80-a7cf-54509e646edc", Redelivered: true,
		ContentType: "application/json", Body: []byte(`{"event_id":"2775daad-71c5-4e80-a7cf-54509e646edc"}`),
		Headers: amqp.Table{
			"x-delivery-count": int64(2),
			"x-death":          []any{amqp.Table{"count": int64(1), "reason": "expired", "queue": "q", "routing-keys": []any{"eventworker.cache.retry.10s"}}},
			HeaderRoutingKey:   "product.updated", HeaderAttempts: int64(1), HeaderFirstFailure: "2026-11-26T10:00:00Z",
			"producer": "shop-api",
		},
	}},
}

// BenchmarkUnmarshal measures Marshaler.Unmarshal, which every delivery passes through:
// go test ./internal/broker -run '^$' -bench Unmarshal -benchmem
func BenchmarkUnmarshal(b *testing.B) {
	for _, c := range benchDeliveries {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			var m Marshaler
			start := testenv.CPUTime()
			for b.Loop() {
				if _, err := m.Unmarshal(c.d); err != nil {
					b.Fatal(err)
				}
			}
			testenv.ReportCPU(b, start)
		})
	}
}

// TestApplicationHeadersJSONAsMarshal checks that the application headers Unmarshal keeps are
// json.Marshal(JSONValue(ApplicationHeaders(h))), byte for byte, and absent when there are none
// or they do not marshal.
func TestApplicationHeadersJSONAsMarshal(t *testing.T) {
	tables := []amqp.Table{
		nil,
		{},
		{"x-death": []any{}, HeaderAttempts: int64(1)},
		{"bad": make(chan int), "good": "x"},
		{
			"b": "<script>&\u2028", "a": int8(-1), "é": 1.5, "A": float32(2.5), "nan": math.NaN(), "inf": math.Inf(1),
			"nested":          amqp.Table{"z": []any{amqp.Table{"y": nil}, []byte{0xff}, amqp.Decimal{Scale: 1, Value: 5}}, "a": true},
			"x-eventworker-x": "worker's", "x-eventworker": "short", "x-custom": uint64(1 << 60), "when": time.Unix(0, 5),
		},
	}
	for _, d := range benchDeliveries {
		tables = append(tables, d.d.Headers)
	}
	for i, h := range tables {
		msg, err := Marshaler{}.Unmarshal(amqp.Delivery{Headers: h})
		if err != nil {
			t.Fatal(err)
		}
		got, ok := msg.Metadata[MetaHeaders]
		own := ApplicationHeaders(h)
		want, err := json.Marshal(JSONValue(own))
		if wantOK := err == nil && len(own) > 0; ok != wantOK || (ok && got != string(want)) {
			t.Errorf("table %d: got %q, %v; json.Marshal gives %q, %v", i, got, ok, want, wantOK)
		}
	}
}
