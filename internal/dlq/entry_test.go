package dlq

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/eventworker/eventworker/internal/broker"
)

func TestLenientFields(t *testing.T) {
	tests := []struct {
		body string
		want map[string]string
	}{
		{`{"event_id":"a","event_type":"order.created","tenant_id":"t"}`, map[string]string{"event_id": "a", "event_type": "order.created", "tenant_id": "t"}},
		{`{"event_id":"a","data":{"x":[1,2,{"y":null}]},"tenant_id":"t"}`, map[string]string{"event_id": "a", "tenant_id": "t"}},
		{`{"event_id":"a","tenant_id":"t","data":{"order_id":`, map[string]string{"event_id": "a", "tenant_id": "t"}},
		{`{"event_id":42,"tenant_id":null}`, map[string]string{}},
		{`not json`, map[string]string{}},
		{`["event_id","a"]`, map[string]string{}},
		{``, map[string]string{}},
		{"\xff\xfe", map[string]string{}},
	}
	for _, tt := range tests {
		got := lenientFields([]byte(tt.body), "event_id", "event_type", "tenant_id")
		if len(got) != len(tt.want) {
			t.Errorf("%q: %v, want %v", tt.body, got, tt.want)
			continue
		}
		for k, v := range tt.want {
			if got[k] != v {
				t.Errorf("%q: %s = %q, want %q", tt.body, k, got[k], v)
			}
		}
	}
}

func TestDecodeBrokerDeadLetter(t *testing.T) {
	died := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	d := amqp.Delivery{
		Body: []byte(`{"event_id":"x","tenant_id":"t"}`),
		Headers: amqp.Table{
			"x-death": []any{
				amqp.Table{"reason": "delivery_limit", "queue": "p.c", "count": int64(1), "time": died, "routing-keys": []any{"p.c"}},
				amqp.Table{"reason": "expired", "queue": "p.c.retry.10s", "count": int64(1), "time": died.Add(-time.Hour), "routing-keys": []any{"order.created"}},
			},
			"x-delivery-count": int64(3),
		},
	}
	e := decode("c", "p.c.dlq", d)
	if !strings.HasPrefix(e.Reason, "broker: delivered from p.c 3 times, its x-delivery-limit, without an acknowledgement") ||
		e.Class != broker.ClassDeliveryLimit || e.RoutingKey != "order.created" ||
		!e.LastFailure.Equal(died) || !e.FirstFailure.Equal(died.Add(-time.Hour)) || e.Attempts != 3 || e.EventType != "order.created" {
		t.Errorf("decode: %+v", e)
	}
	// The worker's own headers win over x-death.
	d.Headers[broker.HeaderReason] = "handler failed"
	d.Headers[broker.HeaderErrorClass] = broker.ClassPermanent
	d.Headers[broker.HeaderRoutingKey] = "order.confirmed"
	d.Headers[broker.HeaderAttempts] = int32(2)
	e = decode("c", "p.c.dlq", d)
	if e.Reason != "handler failed" || e.Class != broker.ClassPermanent || e.RoutingKey != "order.confirmed" || e.Attempts != 2 {
		t.Errorf("decode with worker headers: %+v", e)
	}
}

func TestReplayPublishing(t *testing.T) {
	d := amqp.Delivery{
		Body: []byte("raw"), MessageId: "m", CorrelationId: "c", ContentType: "application/json", AppId: "a",
		DeliveryMode: amqp.Transient, UserId: "someone", Expiration: "1000",
		Headers: amqp.Table{
			"x-custom": "kept", "x-death": []any{}, "x-delivery-count": int64(3),
			broker.HeaderAttempts: int64(4), broker.HeaderReplayed: int32(2), broker.HeaderRoutingKey: "old",
			broker.HeaderFirstFailure: "2026-11-26T10:00:00Z", broker.HeaderReason: "r",
		},
	}
	p := ReplayPublishing("order.created", d)
	if string(p.Body) != "raw" || p.MessageId != "m" || p.CorrelationId != "c" || p.ContentType != "application/json" ||
		p.AppId != "a" || p.DeliveryMode != amqp.Persistent || p.UserId != "" || p.Expiration != "1000" {
		t.Errorf("publishing: %+v (the expiration restored, the user-id kept in a header)", p)
	}
	want := amqp.Table{"x-custom": "kept", broker.HeaderRoutingKey: "order.created", broker.HeaderReplayed: int64(3), broker.HeaderUserID: "someone"}
	if len(p.Headers) != len(want) {
		t.Errorf("headers %v, want %v", p.Headers, want)
	}
	for k, v := range want {
		if p.Headers[k] != v {
			t.Errorf("header %s = %#v, want %#v", k, p.Headers[k], v)
		}
	}
}

func TestEntryJSON(t *testing.T) {
	e := Entry{
		Consumer: "c", EventID: "x", Body: []byte(`{"a":1}`), LastFailure: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Headers: amqp.Table{"t": time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), "n": amqp.Table{"b": []byte{0xff}}, "d": amqp.Decimal{Scale: 2, Value: 5}},
	}
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"body":{"a":1}`, `"last_failure":"2026-01-02T03:04:05Z"`, `"t":"2026-01-02T03:04:05Z"`, `"b":"/w=="`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON lacks %s: %s", want, b)
		}
	}
	e.Body = []byte("not json")
	b, _ = json.Marshal(e)
	if !strings.Contains(string(b), `"body_text":"not json"`) {
		t.Errorf("text body: %s", b)
	}
	e.Body = []byte{0xff}
	b, _ = json.Marshal(e)
	if !strings.Contains(string(b), `"body_base64":"/w=="`) {
		t.Errorf("binary body: %s", b)
	}
}
