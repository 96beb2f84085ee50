package registry_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/eventworker/eventworker/internal/testenv"
	"github.com/eventworker/eventworker/registry"
)

// benchBodies are the bodies BenchmarkValidate validates: a small product.updated (the cache
// and inventory hot path), a large order.created v2 with 50 items, a version 1 order.created
// that is upcast from major units, and an invalid body with several failures.
func benchBodies(b *testing.B) []struct {
	name, rk string
	body     []byte
	valid    bool
} {
	b.Helper()
	var items []string
	for i := range 50 {
		items = append(items, fmt.Sprintf(`{"product_id":"prod-%d","name":"Item number %d","quantity":%d,"unit_price_minor":%d}`, i, i, i%5+1, 1000+i))
	}
	large := `{"event_id":"6b0d7e2a-1c3f-4a5b-8d9e-0f1a2b3c4d5e","event_type":"order.created","event_version":2,` +
		`"occurred_at":"2026-11-26T10:00:00.5Z","tenant_id":"acme","correlation_id":"checkout-77","producer":"shop-api",` +
		`"data":{"order_id":"ord-1001","customer_id":"cus-42","customer_email":"alice@example.com","customer_name":"Alice Example",` +
		`"amount_minor":123450,"currency":"EUR","items":[` + strings.Join(items, ",") + `]}}`
	return []struct {
		name, rk string
		body     []byte
		valid    bool
	}{
		{"product.updated", "product.updated", []byte(`{"event_id":"2775daad-71c5-4e80-a7cf-54509e646edc","event_type":"product.updated","event_version":1,` +
			`"occurred_at":"2026-11-20T08:00:00Z","tenant_id":"acme","producer":"catalog-go","data":{"product_id":"prod-12","sku":"TEE-ORG-M",` +
			`"name":"Organic cotton T-shirt, size M","price":22.5,"currency":"USD","inventory_quantity":95,"version":2}}`), true},
		{"order.created.v2-50-items", "order.created", []byte(large), true},
		{"order.created.v1", "order.created", []byte(`{"event_id":"8a1c1f0e-2b3d-4c5e-8f70-112233445566","event_type":"order.created","event_version":1,` +
			`"occurred_at":"2026-11-26T10:00:00","tenant_id":"acme","data":{"order_id":"ord-1001","customer_id":"cus-42",` +
			`"customer_email":"alice@example.com","amount":39.98,"currency":"USD","items":[{"product_id":"prod-7","name":"Blue mug","quantity":2,"unit_price":19.99}]}}`), true},
		{"invalid", "order.created", []byte(`{"event_id":"not-a-uuid","event_type":"order.created","event_version":2,` +
			`"occurred_at":"yesterday","tenant_id":"acme","data":{"order_id":"ord-1002","customer_id":"cus-42",` +
			`"customer_email":"alice at example","amount_minor":-1,"currency":"usd"}}`), false},
	}
}

// BenchmarkValidateEvent measures Registry.Validate, decode and validation of a whole body into a
// typed event, per kind of body: go test ./registry -run '^$' -bench ValidateEvent -benchmem
func BenchmarkValidateEvent(b *testing.B) {
	r, err := registry.Default()
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range benchBodies(b) {
		if !json.Valid(c.body) {
			b.Fatalf("%s: body is not JSON", c.name)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.body)))
			start := testenv.CPUTime()
			for b.Loop() {
				ev, err := r.Validate(c.rk, c.body)
				if (err == nil) != c.valid {
					b.Fatalf("Validate = %v, %v; valid %v", ev, err, c.valid)
				}
			}
			testenv.ReportCPU(b, start)
		})
	}
}

// TestValidateEnvelopeAsUnmarshalJSON checks that the envelope Validate builds from its own
// parse of a body, without decoding it again, is the one Event.UnmarshalJSON decodes: for every
// example of the registry and for bodies with whitespace, escapes, repeated and case-variant
// keys that the shortcut must get right or leave to Event.UnmarshalJSON.
func TestValidateEnvelopeAsUnmarshalJSON(t *testing.T) {
	r, err := registry.Default()
	if err != nil {
		t.Fatal(err)
	}
	var bodies [][]byte
	for _, name := range r.Types() {
		typ, _ := r.Type(name)
		for _, v := range typ.Versions {
			for _, ex := range v.Examples {
				bodies = append(bodies, ex.Event)
			}
		}
	}
	const id = `"event_id":"2775daad-71c5-4e80-a7cf-54509e646edc"`
	const data = `{"product_id":"p-1","sku":"SKU-1","name":"Blue \"mug\" }{[ \\ \u00e9 ]}","price":19.99,"currency":"USD","inventory_quantity":3,"version":4}`
	head := id + `,"event_type":"product.updated","event_version":1,"occurred_at":"2026-11-26T10:30:00.250000","tenant_id":"acme"`
	bodies = append(bodies,
		[]byte("{"+head+`,"data":`+data+"}"),
		[]byte(" \n\t{ "+id+` , "event_type" : "product.updated" ,"event_version":1.0,"occurred_at":"2026-11-26T10:30:00+02:00",`+
			`"tenant_id":"acme", "data" :  `+data+" \r\n,\"producer\":\"x\\u0020y\"}\n "),
		[]byte("{"+head+`,"data":{"product_id":"old"},"extra":{"data":{"a":[1,{"b":"}"}]}},"data":`+data+"}"),
		[]byte("{"+head+`,"d\u0061ta":`+data+`,"\u0064ata_x":1}`),
		[]byte("{"+head+`,"data":`+data+`,"Producer":"shadowing","producer":"catalog"}`),
		[]byte("{"+head+`,"data":`+data+`,"Data":{"product_id":"other"}}`),
		[]byte("{"+head+`,"data":`+data+`,"EVENT_ID":"someone-else","causation_id":"c-1","correlation_id":"k-1"}`),
		[]byte("{"+head+`,"data":`+data+`,"tenant_\u212a":"kelvin"}`),
	)
	for i, b := range bodies {
		ev, err := r.Validate("", b)
		var want registry.Event
		uerr := want.UnmarshalJSON(b)
		if err != nil {
			t.Errorf("body %d does not validate: %v", i, err)
			continue
		}
		if uerr != nil {
			t.Errorf("body %d: Validate accepts what UnmarshalJSON rejects (%v): %s", i, uerr, b)
			continue
		}
		ev.Payload = nil
		if !reflect.DeepEqual(*ev, want) {
			t.Errorf("body %d: Validate built\n%+v\nUnmarshalJSON decodes\n%+v\nfrom %s", i, *ev, want, b)
		}
	}
}
