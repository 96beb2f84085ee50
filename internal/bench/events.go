package bench

import (
	"encoding/json"
	"fmt"

	"github.com/eventworker/eventworker/publisher"
	"github.com/eventworker/eventworker/registry"
)

// Mixes of events.
const (
	// MixProduct is product.updated only: the cache and inventory consumers.
	MixProduct = "product"
	// MixMixed is shop traffic: per 20 events, 8 product.updated, 1 product.created, 4
	// order.created, 2 order.confirmed, 1 order.cancelled, 2 user.registered, 2 user.updated.
	// Every consumer but tenants gets work; 9 in 20 events send an email.
	MixMixed = "mixed"
	// MixOrders is order.created only: an email per event through the notifications consumer
	// (and a count by analytics).
	MixOrders = "orders"
	// MixTenants is tenant.provisioned, tenant.suspended and tenant.reactivated in turn: the
	// tenants consumer (and the cache's purge and the welcome email to the owner).
	MixTenants = "tenants"
)

// benchTenant is the tenant of every event: the registry examples'.
const benchTenant = "acme"

var mixes = map[string][]string{
	MixProduct: {"product.updated"},
	MixOrders:  {"order.created"},
	MixTenants: {"tenant.provisioned", "tenant.suspended", "tenant.reactivated"},
	MixMixed: {
		"product.updated", "order.created", "product.updated", "user.registered", "product.updated",
		"order.confirmed", "product.updated", "user.updated", "order.created", "product.updated",
		"order.cancelled", "product.updated", "order.created", "user.registered", "product.updated",
		"order.confirmed", "product.updated", "user.updated", "order.created", "product.created",
	},
}

// workload makes the events of a mix from the registry's first example of each type, with
// identifiers of their own so that no cache write is skipped as stale and no stock falls low.
type workload struct {
	reg   *registry.Registry
	types []string
	data  map[string]map[string]any
}

func newWorkload(reg *registry.Registry, mix string) (*workload, error) {
	types, ok := mixes[mix]
	if !ok {
		return nil, fmt.Errorf("unknown mix %q: use %s, %s, %s or %s", mix, MixProduct, MixMixed, MixOrders, MixTenants)
	}
	w := &workload{reg: reg, types: types, data: map[string]map[string]any{}}
	for _, t := range types {
		if _, done := w.data[t]; done {
			continue
		}
		v, err := reg.Latest(t)
		if err != nil {
			return nil, err
		}
		ev, err := reg.Lookup(t, v)
		if err != nil {
			return nil, err
		}
		if len(ev.Examples) == 0 {
			return nil, fmt.Errorf("%s v%d has no example", t, v)
		}
		var env struct {
			Data map[string]any `json:"data"`
		}
		if err := json.Unmarshal(ev.Examples[0].Event, &env); err != nil {
			return nil, fmt.Errorf("example of %s: %w", t, err)
		}
		w.data[t] = env.Data
	}
	return w, nil
}

// typeOf is the type of event i.
func (w *workload) typeOf(i int) string { return w.types[i%len(w.types)] }

// event returns event i, its occurred_at left for the publisher to fill (now).
func (w *workload) event(i int) (publisher.Event, error) {
	t := w.typeOf(i)
	d := make(map[string]any, len(w.data[t]))
	for k, v := range w.data[t] {
		d[k] = v
	}
	switch t {
	case "product.updated", "product.created":
		d["product_id"] = fmt.Sprintf("bench-p%d", i)
		d["version"] = 1
		d["inventory_quantity"] = 1000
		if t == "product.created" {
			d["low_stock_threshold"] = 5
		}
	case "order.created", "order.confirmed", "order.cancelled":
		d["order_id"] = fmt.Sprintf("bench-o%d", i)
		if items, ok := d["items"].([]any); ok {
			out := make([]any, len(items))
			for j, it := range items {
				m := map[string]any{}
				for k, v := range it.(map[string]any) {
					m[k] = v
				}
				if _, ok := m["inventory_remaining"]; ok {
					m["inventory_remaining"] = 1000
				}
				out[j] = m
			}
			d["items"] = out
		}
	case "user.registered", "user.updated":
		d["user_id"] = fmt.Sprintf("bench-u%d", i)
	case "tenant.provisioned", "tenant.suspended", "tenant.reactivated":
		d["tenant_id"] = benchTenant
	}
	raw, err := json.Marshal(d)
	if err != nil {
		return publisher.Event{}, err
	}
	return publisher.Event{Type: t, TenantID: benchTenant, Data: json.RawMessage(raw)}, nil
}

// expected counts the handler calls n events cause, per consumer.
func (w *workload) expected(n int) map[string]int {
	out := map[string]int{}
	for i := range min(n, len(w.types)) {
		per := (n - i + len(w.types) - 1) / len(w.types) // events of type slot i among n
		for _, c := range w.reg.ConsumersOf(w.types[i]) {
			out[c] += per
		}
	}
	return out
}

// decoders turn the data of the mixes' types into typed payloads for the bare consumer,
// without schema validation (it is what the worker adds).
var decoders = map[string]func([]byte) (registry.Payload, error){
	"product.updated": decode[registry.ProductUpdated],
	"product.created": decode[registry.ProductCreated],
	"order.created":   decode[registry.OrderCreated],
	"order.confirmed": decode[registry.OrderConfirmed],
	"order.cancelled": decode[registry.OrderCancelled],
	"user.registered": decode[registry.UserRegistered],
	"user.updated":    decode[registry.UserUpdated],
}

func decode[T any, PT interface {
	*T
	registry.Payload
}](b []byte) (registry.Payload, error) {
	p := PT(new(T))
	if err := json.Unmarshal(b, p); err != nil {
		return nil, err
	}
	return p, nil
}
