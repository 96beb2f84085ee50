package broker

import (
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

func TestUnmarshalAcceptsAnyHeaderType(t *testing.T) {
	body := []byte(`{"event_id":"x"}`)
	tests := []struct {
		name    string
		d       amqp.Delivery
		want    map[string]string
		headers map[string]any // restored application headers
	}{
		{
			name: "kombu headers of every type",
			d: amqp.Delivery{
				RoutingKey: "order.created", MessageId: "m1", CorrelationId: "c1", Body: body, ContentType: "application/json",
				Headers: amqp.Table{
					"retries": int32(3), "flag": true, "none": nil, "ratio": 0.5, "name": "kombu",
					"nested": amqp.Table{"a": int64(1), "b": []any{"x", int16(2)}}, "when": time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
					"dec": amqp.Decimal{Scale: 2, Value: 1999}, "raw": []byte("bytes"),
				},
			},
			want:    map[string]string{MetaRoutingKey: "order.created", MetaMessageID: "m1", MetaCorrelationID: "c1", MetaRedelivered: "false"},
			headers: map[string]any{"retries": int64(3), "flag": true, "none": nil, "name": "kombu", "when": "2026-01-02T03:04:05Z", "raw": "bytes"},
		},
		{
			name: "quorum redelivery with x-delivery-count and x-death",
			d: amqp.Delivery{
				RoutingKey: "eventworker.cache", Redelivered: true, Body: body,
				Headers: amqp.Table{
					"x-delivery-count": int64(4),
					"x-death":          []any{amqp.Table{"count": int64(1), "reason": "expired", "queue": "q", "routing-keys": []any{"eventworker.cache.retry.10s"}}},
					HeaderRoutingKey:   "product.updated",
					HeaderAttempts:     int64(2),
					HeaderFirstFailure: "2026-11-26T10:00:00Z",
				},
			},
			want: map[string]string{
				MetaRoutingKey: "product.updated", MetaRedelivered: "true", MetaDeliveryCount: "4",
				MetaAttempts: "2", MetaFirstFailure: "2026-11-26T10:00:00Z",
			},
			headers: map[string]any{},
		},
		{
			name:    "no headers at all",
			d:       amqp.Delivery{RoutingKey: "user.registered", Body: body},
			want:    map[string]string{MetaRoutingKey: "user.registered", MetaAttempts: ""},
			headers: map[string]any{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, err := Marshaler{}.Unmarshal(tt.d)
			if err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			if string(msg.Payload) != string(body) {
				t.Errorf("body changed: %q", msg.Payload)
			}
			for k, v := range tt.want {
				if got := msg.Metadata.Get(k); got != v {
					t.Errorf("metadata %s = %q, want %q", k, got, v)
				}
			}
			restored := HeadersFromMetadata(msg.Metadata)
			for k, v := range tt.headers {
				if got, ok := restored[k]; !ok || got != v {
					t.Errorf("header %s restored as %#v (present %v), want %#v", k, got, ok, v)
				}
			}
			for k := range restored {
				if k == "x-death" || k == "x-delivery-count" || k == HeaderAttempts {
					t.Errorf("broker or worker header %s must not be carried over", k)
				}
			}
		})
	}
}

func TestNames(t *testing.T) {
	n := Names{Prefix: "eventworker", Consumer: "cache"}
	if n.Work() != "eventworker.cache" || n.DeadLetter() != "eventworker.cache.dlq" || n.Retry(90*time.Second) != "eventworker.cache.retry.1m30s" {
		t.Errorf("names: %s %s %s", n.Work(), n.DeadLetter(), n.Retry(90*time.Second))
	}
	got := strings.Join(n.Queues([]time.Duration{time.Second, time.Minute}), " ")
	if want := "eventworker.cache eventworker.cache.dlq eventworker.cache.retry.1s eventworker.cache.retry.1m0s"; got != want {
		t.Errorf("Queues = %s, want %s", got, want)
	}
}

func FuzzUnmarshal(f *testing.F) {
	f.Add("order.created", []byte(`{"a":1}`), "k", int64(1), "v", true)
	f.Add("", []byte{0xff}, "x-death", int64(-1), "", false)
	f.Fuzz(func(t *testing.T, rk string, body []byte, hk string, hi int64, hs string, hb bool) {
		d := amqp.Delivery{RoutingKey: rk, Body: body, Headers: amqp.Table{
			hk: hi, hk + "s": hs, hk + "b": hb, hk + "t": amqp.Table{hs: hi}, HeaderAttempts: hs,
		}}
		msg, err := Marshaler{}.Unmarshal(d)
		if err != nil {
			t.Fatalf("Unmarshal must never fail: %v", err)
		}
		if string(msg.Payload) != string(body) {
			t.Fatal("body changed")
		}
		_ = HeadersFromMetadata(msg.Metadata)
	})
}
