package registry

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func mustDefault(t testing.TB) *Registry {
	t.Helper()
	r, err := Default()
	if err != nil {
		t.Fatalf("load embedded registry: %v", err)
	}
	return r
}

// body builds an envelope around data, with overrides for envelope fields.
func body(eventType string, version int, data string, env map[string]any) []byte {
	m := map[string]any{
		"event_id":      "0b7e3c1a-9d2f-4c6b-8a1e-2f3d4c5b6a70",
		"event_type":    eventType,
		"event_version": version,
		"occurred_at":   "2026-11-26T10:00:00Z",
		"tenant_id":     "acme",
		"data":          json.RawMessage(data),
	}
	for k, v := range env {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

const orderV1 = `{"order_id":"ord-1","customer_id":"cus-1","customer_email":"a@example.com","amount":19.99,"currency":"USD"}`

func TestValidateAccepts(t *testing.T) {
	r := mustDefault(t)
	tests := []struct {
		name       string
		routingKey string
		body       []byte
	}{
		{"rfc3339 with offset", "order.created", body("order.created", 1, orderV1, map[string]any{"occurred_at": "2026-11-26T11:00:00+01:00"})},
		{"naive python timestamp with micros", "order.created", body("order.created", 1, orderV1, map[string]any{"occurred_at": "2026-11-26T10:00:00.123456"})},
		{"naive python timestamp without micros", "order.created", body("order.created", 1, orderV1, map[string]any{"occurred_at": "2026-11-26T10:00:00"})},
		{"unknown envelope field", "order.created", body("order.created", 1, orderV1, map[string]any{"trace": map[string]any{"x": 1}})},
		{"unknown data field", "order.created", body("order.created", 1, `{"order_id":"ord-1","customer_id":"cus-1","customer_email":"a@example.com","amount":1,"currency":"USD","coupon":"X"}`, nil)},
		{"integral float as integer", "order.created", body("order.created", 2, `{"order_id":"o.1:x_y-z","customer_id":"c1","customer_email":"a@example.com","amount_minor":42.0,"currency":"EUR","items":[{"product_id":"p1","quantity":2.0,"unit_price_minor":21}]}`, nil)},
		{"integral version 1.0", "order.created", []byte(strings.Replace(string(body("order.created", 1, orderV1, nil)), `"event_version":1`, `"event_version":1.0`, 1))},
		{"no routing key given", "", body("order.created", 1, orderV1, nil)},
		{"tenant event with matching tenant id", "tenant.suspended", body("tenant.suspended", 1, `{"tenant_id":"acme"}`, nil)},
		{"optional ids present", "order.created", body("order.created", 1, orderV1, map[string]any{"correlation_id": "flow-1", "causation_id": "cause-1", "producer": "shop"})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := r.Validate(tt.routingKey, tt.body)
			if err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if ev.Payload == nil {
				t.Fatalf("no typed payload for %s v%d", ev.Type, ev.Version)
			}
			if ev.OccurredAt.Location().String() != "UTC" {
				t.Errorf("occurred_at not in UTC: %v", ev.OccurredAt)
			}
		})
	}
}

func TestValidateRejects(t *testing.T) {
	r := mustDefault(t)
	tests := []struct {
		name       string
		routingKey string
		body       []byte
		pointers   []string
		sentinel   error
	}{
		{"not json", "order.created", []byte(`{"event_id":`), []string{""}, ErrInvalid},
		{"not an object", "order.created", []byte(`[1,2]`), []string{""}, ErrInvalid},
		{"invalid utf-8", "order.created", []byte("{\"event_id\":\"\xff\"}"), []string{""}, ErrInvalid},
		{"trailing garbage", "order.created", append(body("order.created", 1, orderV1, nil), []byte(" {}")...), []string{""}, ErrInvalid},
		{"identifier charset", "order.created", body("order.created", 1, `{"order_id":"ord 1!","customer_id":"-cus","customer_email":"a@example.com","amount":1,"currency":"USD"}`, nil), []string{"/data/order_id", "/data/customer_id"}, ErrInvalid},
		{"tenant id too long", "order.created", body("order.created", 1, orderV1, map[string]any{"tenant_id": strings.Repeat("a", 129)}), []string{"/tenant_id"}, ErrInvalid},
		{"currency lower case", "order.created", body("order.created", 1, `{"order_id":"o1","customer_id":"c1","customer_email":"a@example.com","amount":1,"currency":"usd"}`, nil), []string{"/data/currency"}, ErrInvalid},
		{"currency not iso 4217", "order.created", body("order.created", 1, `{"order_id":"o1","customer_id":"c1","customer_email":"a@example.com","amount":1,"currency":"ABC"}`, nil), []string{"/data/currency"}, ErrInvalid},
		{"missing fields everywhere", "order.created", body("order.created", 1, `{"order_id":"o1"}`, map[string]any{"tenant_id": nil}), []string{"/tenant_id", "/data/customer_id", "/data/customer_email", "/data/amount", "/data/currency"}, ErrInvalid},
		{"bad email", "order.created", body("order.created", 1, `{"order_id":"o1","customer_id":"c1","customer_email":"not-an-email","amount":1,"currency":"USD"}`, nil), []string{"/data/customer_email"}, ErrInvalid},
		{"negative amount", "order.created", body("order.created", 1, `{"order_id":"o1","customer_id":"c1","customer_email":"a@example.com","amount":-1,"currency":"USD"}`, nil), []string{"/data/amount"}, ErrInvalid},
		{"fractional integer", "order.created", body("order.created", 2, `{"order_id":"o1","customer_id":"c1","customer_email":"a@example.com","amount_minor":1.5,"currency":"USD"}`, nil), []string{"/data/amount_minor"}, ErrInvalid},
		{"bad timestamp", "order.created", body("order.created", 1, orderV1, map[string]any{"occurred_at": "yesterday"}), []string{"/occurred_at"}, ErrInvalid},
		{"bad event id", "order.created", body("order.created", 1, orderV1, map[string]any{"event_id": "42"}), []string{"/event_id"}, ErrInvalid},
		{"version zero", "order.created", body("order.created", 0, orderV1, nil), []string{"/event_version"}, ErrInvalid},
		{"routing key differs", "order.confirmed", body("order.created", 1, orderV1, nil), []string{"/event_type"}, ErrInvalid},
		{"unknown type", "unregistered.order_shipped", body("unregistered.order_shipped", 1, `{}`, nil), []string{"/event_type"}, ErrUnknownType},
		{"unknown version", "order.created", body("order.created", 9, orderV1, nil), []string{"/event_version"}, ErrUnknownVersion},
		{"tenant id differs", "tenant.suspended", body("tenant.suspended", 1, `{"tenant_id":"globex"}`, nil), []string{"/data/tenant_id"}, ErrInvalid},
		{"data not an object", "order.created", body("order.created", 1, `"x"`, nil), []string{"/data"}, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := r.Validate(tt.routingKey, tt.body)
			if err == nil {
				t.Fatalf("Validate accepted it: %+v", ev)
			}
			if !errors.Is(err, tt.sentinel) || !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not match %v and ErrInvalid", err, tt.sentinel)
			}
			var verr *ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("error is %T, want *ValidationError", err)
			}
			for _, p := range tt.pointers {
				if !verr.HasPointer(p) {
					t.Errorf("no failure at %q; failures: %s", p, verr.Reason())
				}
			}
		})
	}
}

func TestValidateListsEveryFailure(t *testing.T) {
	r := mustDefault(t)
	_, err := r.Validate("order.created", body("order.created", 1,
		`{"order_id":"bad id","customer_id":"c1","customer_email":"nope","amount":-2,"currency":"us"}`,
		map[string]any{"occurred_at": "soon"}))
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("want *ValidationError, got %v", err)
	}
	want := []string{"/occurred_at", "/data/order_id", "/data/customer_email", "/data/amount", "/data/currency"}
	for _, p := range want {
		if !verr.HasPointer(p) {
			t.Errorf("missing failure at %s in %s", p, verr.Reason())
		}
	}
	if verr.EventType != "order.created" || verr.Version != 1 {
		t.Errorf("error should name what the body claimed, got %q v%d", verr.EventType, verr.Version)
	}
	if !strings.Contains(err.Error(), "order.created v1") {
		t.Errorf("message should name the type and version: %v", err)
	}
}

func TestOrderCreatedVersionsDecodeToOneShape(t *testing.T) {
	r := mustDefault(t)
	tests := []struct {
		name      string
		version   int
		data      string
		wantTotal int64
		wantItem  int64
	}{
		{"v1 USD", 1, `{"order_id":"o1","customer_id":"c1","customer_email":"a@example.com","amount":19.99,"currency":"USD","items":[{"product_id":"p","quantity":1,"unit_price":19.99}]}`, 1999, 1999},
		{"v1 JPY", 1, `{"order_id":"o1","customer_id":"c1","customer_email":"a@example.com","amount":100,"currency":"JPY","items":[{"product_id":"p","quantity":1,"unit_price":100}]}`, 100, 100},
		{"v1 BHD", 1, `{"order_id":"o1","customer_id":"c1","customer_email":"a@example.com","amount":1.234,"currency":"BHD","items":[{"product_id":"p","quantity":1,"unit_price":0.617}]}`, 1234, 617},
		{"v1 float noise", 1, `{"order_id":"o1","customer_id":"c1","customer_email":"a@example.com","amount":0.30000000000000004,"currency":"USD","items":[{"product_id":"p","quantity":3,"unit_price":0.1}]}`, 30, 10},
		{"v1 exponent", 1, `{"order_id":"o1","customer_id":"c1","customer_email":"a@example.com","amount":1.999e1,"currency":"USD","items":[{"product_id":"p","quantity":1,"unit_price":1999e-2}]}`, 1999, 1999},
		{"v2", 2, `{"order_id":"o1","customer_id":"c1","customer_email":"a@example.com","amount_minor":1999,"currency":"USD","items":[{"product_id":"p","quantity":1,"unit_price_minor":1999}]}`, 1999, 1999},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := r.Validate("order.created", body("order.created", tt.version, tt.data, nil))
			if err != nil {
				t.Fatal(err)
			}
			oc, ok := ev.Payload.(*OrderCreated)
			if !ok {
				t.Fatalf("payload is %T, want *OrderCreated", ev.Payload)
			}
			if oc.AmountMinor != tt.wantTotal || len(oc.Items) != 1 || oc.Items[0].UnitPriceMinor != tt.wantItem {
				t.Errorf("got amount %d items %+v, want %d and item %d", oc.AmountMinor, oc.Items, tt.wantTotal, tt.wantItem)
			}
		})
	}
}

func TestEventMarshalRoundTrip(t *testing.T) {
	r := mustDefault(t)
	ev, err := r.Validate("", body("order.created", 1, orderV1, map[string]any{"occurred_at": "2026-11-26T10:00:00.5", "correlation_id": "c"}))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"occurred_at":"2026-11-26T10:00:00.5Z"`) {
		t.Errorf("occurred_at should be RFC 3339 UTC: %s", b)
	}
	again, err := r.Validate("order.created", b)
	if err != nil {
		t.Fatalf("marshalled event does not validate: %v", err)
	}
	if !again.OccurredAt.Equal(ev.OccurredAt) || again.ID != ev.ID || again.CorrelationID != "c" {
		t.Errorf("round trip changed the event: %+v vs %+v", again, ev)
	}
}

func TestProductCreatedDefaults(t *testing.T) {
	r := mustDefault(t)
	ev, err := r.Validate("product.created", body("product.created", 1,
		`{"product_id":"p1","sku":"SKU-1","name":"Mug","price":9.5,"currency":"EUR","inventory_quantity":3}`, nil))
	if err != nil {
		t.Fatal(err)
	}
	p := ev.Payload.(*ProductCreated)
	if p.Version != 1 || p.Threshold() != DefaultLowStockThreshold {
		t.Errorf("defaults not applied: version %d threshold %d", p.Version, p.Threshold())
	}
}

func FuzzValidate(f *testing.F) {
	r := mustDefault(f)
	for _, name := range r.Types() {
		typ, _ := r.Type(name)
		for _, v := range typ.Versions {
			for _, ex := range v.Examples {
				f.Add(name, []byte(ex.Event))
			}
			for _, ex := range v.Invalid {
				f.Add(name, []byte(ex.Event))
			}
		}
	}
	f.Add("order.created", []byte(`{"event_version":1e400}`))
	f.Add("x", []byte("\xff"))
	f.Fuzz(func(t *testing.T, routingKey string, b []byte) {
		ev, err := r.Validate(routingKey, b)
		if err != nil {
			var verr *ValidationError
			if !errors.As(err, &verr) || len(verr.Failures) == 0 {
				t.Fatalf("error without failures: %v", err)
			}
			return
		}
		if ev.Type == "" || ev.ID == "" || (routingKey != "" && routingKey != ev.Type) {
			t.Fatalf("accepted an event without type or id, or with a mismatched routing key: %+v", ev)
		}
		if _, err := json.Marshal(ev); err != nil {
			t.Fatalf("valid event does not marshal: %v", err)
		}
	})
}

func BenchmarkValidate(b *testing.B) {
	r := mustDefault(b)
	msg := body("order.created", 1, `{"order_id":"ord-1","customer_id":"cus-1","customer_email":"a@example.com","amount":39.98,"currency":"USD","items":[{"product_id":"p1","name":"Mug","quantity":2,"unit_price":19.99}]}`, nil)
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if _, err := r.Validate("order.created", msg); err != nil {
			b.Fatal(err)
		}
	}
}
