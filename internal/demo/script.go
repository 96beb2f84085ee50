package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/eventworker/eventworker/publisher"
	"github.com/eventworker/eventworker/publisher/watermillbus"
	"github.com/eventworker/eventworker/registry"
)

// sentEvent is one event the demo put on the bus.
type sentEvent struct {
	Step   string
	Source string // "example NAME (vN)" or "generated"
	ID     string
	Type   string
	Tenant string
	// Event is the event as published; nil for the invalid one.
	Event *registry.Event
	// Invalid: sent raw, bypassing the publisher's validation; it must be dead-lettered.
	Invalid bool
	// Redelivery: the same event_id published a second time; it must be handled once.
	Redelivery bool
	// Suppressed: its tenant was suspended when it was published, so no email may go out.
	Suppressed bool
}

// step is one step of the scenario, for the report.
type step struct {
	Name  string
	Lines []string
}

// script is what the demo published and what it therefore expects.
type script struct {
	// tenants are the two demo tenants; the second is suspended in the end.
	tenants [2]string
	steps   []step
	sent    []sentEvent
	// invalidID is the event_id of the invalid event; invalidRefusal what the publisher said.
	invalidID, invalidRefusal string
	// fallID is the event_id of the generated product.updated that takes a product's stock
	// below its threshold: a product.inventory_low must be derived from it.
	fallID string
	// seededUsers are the user entries the demo cached as the Python side would, which
	// user.updated must drop; lists are the product lists it cached, per tenant.
	seededUsers []string
	lists       map[string]string
	// purgeBefore are the suspended tenant's keys just before its suspension, and genBefore
	// its product-list generation then.
	purgeBefore []string
	genBefore   int64
}

// Step names.
const (
	stepProvision = "provision"
	stepExamples  = "examples"
	stepBurst     = "burst"
	stepFaults    = "faults"
	stepSuspended = "suspended"
)

// play publishes the scenario step by step, waiting after each until every consumer is idle,
// so that each step sees the effects of the one before (a tenant's profile before its emails,
// a product before the orders of it, the suspension before the suppressed email).
func (r *rig) play() error {
	s := &script{lists: map[string]string{}}
	r.script = s
	ctx := r.ctx

	// 1. Two tenants, from the registry's tenant.provisioned examples.
	prov, err := r.examples("tenant.provisioned")
	if err != nil {
		return err
	}
	for _, ex := range prov {
		if s.tenants[0] == "" {
			s.tenants[0] = ex.tenant
		} else if s.tenants[1] == "" && ex.tenant != s.tenants[0] {
			s.tenants[1] = ex.tenant
		}
	}
	if s.tenants[1] == "" {
		return errors.New("the registry needs tenant.provisioned examples of two tenants for the demo's shops")
	}
	for _, ex := range prov {
		if err := r.publishExample(ctx, stepProvision, ex, s.tenantFor(ex.tenant)); err != nil {
			return err
		}
	}
	s.add(stepProvision, fmt.Sprintf("%d tenant.provisioned: the registry's examples, shops %s and %s", len(prov), s.tenants[0], s.tenants[1]))
	if err := r.settle(stepProvision); err != nil {
		return err
	}
	if err := r.seedCache(ctx); err != nil {
		return err
	}

	// 2. Every example of every type, re-tenanted onto the two shops: products first, created
	// then updated, so that each stock fall is seen from the event that makes it and the
	// orders' stock observations find their products. tenant.suspended's come in step 4.
	var created, updated, rest []example
	types := map[string]bool{}
	for _, typ := range r.reg.Types() {
		if typ == "tenant.provisioned" || typ == "tenant.suspended" {
			continue
		}
		exs, err := r.examples(typ)
		if err != nil {
			return err
		}
		types[typ] = true
		switch typ {
		case "product.created":
			created = append(created, exs...)
		case "product.updated":
			updated = append(updated, exs...)
		default:
			rest = append(rest, exs...)
		}
	}
	for _, batch := range [][]example{created, updated, rest} {
		for _, ex := range batch {
			if err := r.publishExample(ctx, stepExamples, ex, s.tenantFor(ex.tenant)); err != nil {
				return err
			}
		}
		if err := r.settle(stepExamples); err != nil {
			return err
		}
	}
	s.add(stepExamples, fmt.Sprintf("%d registry examples of %d more event types, on %s and %s (fresh event_ids, occurred_at now)",
		len(created)+len(updated)+len(rest), len(types), s.tenants[0], s.tenants[1]))

	// 3. A burst of generated events: catalogs and customers, then orders and stock changes.
	if err := r.burst(ctx); err != nil {
		return err
	}

	// 4. Faults: an invalid event, a redelivery, and the second shop's suspension.
	if err := r.faults(ctx); err != nil {
		return err
	}

	// 5. An order of the suspended shop: its email must be suppressed.
	oc := registry.OrderCreated{
		OrderID: "gx-4999", CustomerID: "gx-202", CustomerEmail: "tom.berg@example.com", CustomerName: "Tom Berg",
		AmountMinor: 1250, Currency: "EUR", Items: []registry.OrderCreatedItem{{ProductID: "gx-100", Quantity: 1, UnitPriceMinor: 1250}},
	}
	if _, err := r.publish(ctx, stepSuspended, "generated", publisher.Event{TenantID: s.tenants[1], Data: oc}, true); err != nil {
		return err
	}
	s.add(stepSuspended, fmt.Sprintf("1 order.created for %s while it is suspended: its email must be suppressed", s.tenants[1]))
	return r.settle(stepSuspended)
}

// tenantFor maps an example's tenant onto one of the demo's two shops.
func (s *script) tenantFor(tenant string) string {
	if tenant == s.tenants[1] {
		return tenant
	}
	return s.tenants[0]
}

func (s *script) add(name, line string) {
	for i := range s.steps {
		if s.steps[i].Name == name {
			s.steps[i].Lines = append(s.steps[i].Lines, line)
			return
		}
	}
	s.steps = append(s.steps, step{Name: name, Lines: []string{line}})
}

// example is one registry example, read back.
type example struct {
	name   string
	ev     *registry.Event
	tenant string
}

// examples returns every example of every version of typ.
func (r *rig) examples(typ string) ([]example, error) {
	t, err := r.reg.Type(typ)
	if err != nil {
		return nil, err
	}
	var out []example
	for _, v := range t.Versions {
		for _, ex := range v.Examples {
			ev, err := r.reg.Validate(typ, ex.Event)
			if err != nil {
				return nil, fmt.Errorf("registry example %s of %s v%d: %w", ex.Name, typ, v.Version, err)
			}
			out = append(out, example{name: fmt.Sprintf("%s (v%d)", ex.Name, v.Version), ev: ev, tenant: ev.TenantID})
		}
	}
	return out, nil
}

// publishExample publishes a registry example for tenant through the publisher: the example's
// data (its tenant_id replaced too, for tenant.* events), version, correlation and causation
// ids; a fresh event_id and occurred_at now.
func (r *rig) publishExample(ctx context.Context, stepName string, ex example, tenant string) error {
	data := ex.ev.Data
	if tenant != ex.ev.TenantID {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(data, &m); err != nil {
			return fmt.Errorf("example %s: data: %w", ex.name, err)
		}
		if _, ok := m["tenant_id"]; ok {
			m["tenant_id"], _ = json.Marshal(tenant)
			b, err := json.Marshal(m)
			if err != nil {
				return fmt.Errorf("example %s: data: %w", ex.name, err)
			}
			data = b
		}
	}
	_, err := r.publish(ctx, stepName, "example "+ex.name, publisher.Event{
		Type: ex.ev.Type, Version: ex.ev.Version, TenantID: tenant,
		CorrelationID: ex.ev.CorrelationID, CausationID: ex.ev.CausationID, Data: json.RawMessage(data),
	}, false)
	return err
}

// publish sends ev through the publisher package and records it.
func (r *rig) publish(ctx context.Context, stepName, source string, ev publisher.Event, suppressed bool) (*registry.Event, error) {
	out, err := r.producer.Publish(ctx, ev)
	if err != nil {
		return nil, fmt.Errorf("step %q: publish %s (%s): %w", stepName, ev.Type, source, err)
	}
	r.script.sent = append(r.script.sent, sentEvent{
		Step: stepName, Source: source, ID: out.ID, Type: out.Type, Tenant: out.TenantID, Event: out, Suppressed: suppressed,
	})
	return out, nil
}

// seedCache writes what the Python services would have cached: the user entries that
// user.updated events drop, and a product list per shop under the current generation, which
// only the suspended shop's purge removes.
func (r *rig) seedCache(ctx context.Context) error {
	s := r.script
	users := map[string]bool{r.cache.Key("tenant", s.tenants[0], "user", "cust-101"): true}
	exs, err := r.examples("user.updated")
	if err != nil {
		return err
	}
	for _, ex := range exs {
		if p, ok := ex.ev.Payload.(*registry.UserUpdated); ok {
			users[r.cache.Key("tenant", s.tenantFor(ex.tenant), "user", p.UserID)] = true
		}
	}
	for key := range users {
		if err := r.cache.SetJSON(ctx, key, map[string]string{"cached_by": "the Python services"}, time.Hour); err != nil {
			return fmt.Errorf("seed the cache: %w", err)
		}
		s.seededUsers = append(s.seededUsers, key)
	}
	sort.Strings(s.seededUsers)
	for _, t := range s.tenants {
		key := r.cache.Key("tenant", t, "products", "0", "page", "1")
		if err := r.cache.SetJSON(ctx, key, []string{"a cached product list"}, time.Hour); err != nil {
			return fmt.Errorf("seed the cache: %w", err)
		}
		s.lists[t] = key
	}
	return nil
}

// Generated catalog, customers and orders of the burst.
type (
	genProduct struct {
		tenant, id, sku, name, currency string
		priceMinor, stock, threshold    int64
	}
	genCustomer struct{ tenant, id, name, email, locale string }
	genOrder    struct {
		tenant, id, customer, product string
		qty                           int64
		// then: "confirm", "cancel" (after a payment reminder) or "" (created only)
		then string
	}
)

func (r *rig) burstData() ([]genProduct, []genCustomer, []genOrder) {
	a, g := r.script.tenants[0], r.script.tenants[1]
	products := []genProduct{
		{a, "lamp-01", "LAMP-01", "Desk lamp", "USD", 4900, 20, 5},
		{a, "kettle-02", "KETTLE-02", "Enamel kettle", "USD", 3550, 50, 10},
		{g, "gx-100", "GX-SCR-100", "Schraubenset 100 Stück", "EUR", 1250, 200, 20},
	}
	customers := []genCustomer{
		{a, "cust-101", "Mia Rossi", "mia.rossi@example.com", "en"},
		{a, "cust-102", "Lukas Weber", "lukas.weber@example.de", "de"},
		{a, "cust-103", "Ana Silva", "ana.silva@example.org", ""},
		{g, "gx-201", "Jana Novak", "jana.novak@example.de", "de"},
		{g, "gx-202", "Tom Berg", "tom.berg@example.com", ""},
	}
	orders := []genOrder{
		{a, "ord-3001", "cust-101", "lamp-01", 2, "confirm"},
		{a, "ord-3002", "cust-102", "kettle-02", 1, "confirm"},
		{a, "ord-3003", "cust-103", "lamp-01", 1, "cancel"},
		{a, "ord-3004", "cust-101", "kettle-02", 2, "confirm"},
		{a, "ord-3005", "cust-102", "lamp-01", 3, "confirm"},
		{a, "ord-3006", "cust-103", "kettle-02", 1, ""},
		{g, "gx-4001", "gx-201", "gx-100", 4, "confirm"},
		{g, "gx-4002", "gx-202", "gx-100", 10, "confirm"},
		{g, "gx-4003", "gx-201", "gx-100", 2, "cancel"},
		{g, "gx-4004", "gx-202", "gx-100", 1, "confirm"},
	}
	return products, customers, orders
}

// burst publishes the generated events: catalogs and customers, then (once those are handled)
// orders with their stock, the stock count that falls below a threshold, a price change and a
// changed email address.
func (r *rig) burst(ctx context.Context) error {
	s := r.script
	products, customers, orders := r.burstData()
	byID := map[string]genProduct{}
	stock := map[string]int64{}
	n := 0
	for _, p := range products {
		byID[p.id], stock[p.id] = p, p.stock
		price, err := registry.DecimalFromMinor(p.priceMinor, p.currency)
		if err != nil {
			return err
		}
		threshold := p.threshold
		data := registry.ProductCreated{Product: registry.Product{
			ProductID: p.id, SKU: p.sku, Name: p.name, Price: price, Currency: p.currency,
			InventoryQuantity: p.stock, LowStockThreshold: &threshold, Version: 1,
		}}
		if _, err := r.publish(ctx, stepBurst, "generated", publisher.Event{TenantID: p.tenant, Data: data}, false); err != nil {
			return err
		}
		n++
	}
	cust := map[string]genCustomer{}
	for _, c := range customers {
		cust[c.id] = c
		data := registry.UserRegistered{UserID: c.id, Email: c.email, Name: c.name, Locale: c.locale}
		if _, err := r.publish(ctx, stepBurst, "generated", publisher.Event{TenantID: c.tenant, Data: data}, false); err != nil {
			return err
		}
		n++
	}
	if err := r.settle(stepBurst); err != nil {
		return err
	}

	for _, o := range orders {
		p, c := byID[o.product], cust[o.customer]
		octx := publisher.WithCorrelationID(ctx, "checkout-"+o.id)
		minor := o.qty * p.priceMinor
		amount, err := registry.DecimalFromMinor(minor, p.currency)
		if err != nil {
			return err
		}
		events := []registry.Payload{registry.OrderCreated{
			OrderID: o.id, CustomerID: c.id, CustomerEmail: c.email, CustomerName: c.name, AmountMinor: minor, Currency: p.currency,
			Items: []registry.OrderCreatedItem{{ProductID: p.id, Name: p.name, Quantity: o.qty, UnitPriceMinor: p.priceMinor}},
		}}
		switch o.then {
		case "confirm":
			stock[p.id] -= o.qty
			remaining := stock[p.id]
			events = append(events, registry.OrderConfirmed{
				OrderID: o.id, CustomerID: c.id, CustomerEmail: c.email, CustomerName: c.name, Amount: amount, Currency: p.currency,
				Items: []registry.OrderConfirmedItem{{ProductID: p.id, Quantity: o.qty, InventoryRemaining: &remaining}},
			})
		case "cancel":
			events = append(events,
				registry.OrderPendingPayment{
					OrderID: o.id, CustomerID: c.id, CustomerEmail: c.email, Amount: amount, Currency: p.currency,
					PaymentURL: "https://pay.example.com/" + o.tenant + "/" + o.id,
				},
				registry.OrderCancelled{OrderID: o.id, CustomerID: c.id, CustomerEmail: c.email, Reason: "Payment window expired"})
		}
		for _, data := range events {
			if _, err := r.publish(octx, stepBurst, "generated", publisher.Event{TenantID: o.tenant, Data: data}, false); err != nil {
				return err
			}
			n++
		}
	}
	// Stock changes after the orders: the lamp's count falls to 3, at or below its threshold
	// of 5 (product.inventory_low must follow); the kettle's price changes; Globex recounts.
	updates := []struct {
		id    string
		stock int64
		price int64
	}{{"lamp-01", 3, 4900}, {"kettle-02", stock["kettle-02"], 3200}, {"gx-100", stock["gx-100"], 1250}}
	for _, u := range updates {
		p := byID[u.id]
		price, err := registry.DecimalFromMinor(u.price, p.currency)
		if err != nil {
			return err
		}
		threshold := p.threshold
		ev, err := r.publish(ctx, stepBurst, "generated", publisher.Event{TenantID: p.tenant, Data: registry.ProductUpdated{Product: registry.Product{
			ProductID: p.id, SKU: p.sku, Name: p.name, Price: price, Currency: p.currency,
			InventoryQuantity: u.stock, LowStockThreshold: &threshold, Version: 2,
		}}}, false)
		if err != nil {
			return err
		}
		if u.stock <= p.threshold && stock[p.id] > p.threshold {
			s.fallID = ev.ID
		}
		n++
	}
	changed := registry.UserUpdated{UserID: "cust-101", Email: "mia.rossi@example.net", ChangedFields: []string{"email"}}
	if _, err := r.publish(ctx, stepBurst, "generated", publisher.Event{TenantID: s.tenants[0], Data: changed}, false); err != nil {
		return err
	}
	n++
	s.add(stepBurst, fmt.Sprintf("%d generated events: %d products, %d customers, %d orders (created, confirmed with stock left, payment reminders, cancellations), %d stock and price updates (lamp-01 falls to 3, threshold 5), 1 changed email address",
		n, len(products), len(customers), len(orders), len(updates)))
	return r.settle(stepBurst)
}

// faults publishes the invalid event (raw: the publisher refuses it), a redelivery of an
// order, and the second shop's suspension (the registry's tenant.suspended examples).
func (r *rig) faults(ctx context.Context) error {
	s := r.script
	suspended := s.tenants[1]
	keys, err := r.tenantKeys(ctx, suspended)
	if err != nil {
		return err
	}
	s.purgeBefore = keys
	if s.genBefore, err = r.generation(ctx, suspended); err != nil {
		return err
	}

	// The invalid event: an order.created without customer_email.
	data := map[string]any{"order_id": "ord-3999", "customer_id": "cust-103", "amount_minor": 1999, "currency": "USD"}
	_, err = r.producer.Publish(ctx, publisher.Event{Type: "order.created", TenantID: s.tenants[0], Data: data})
	if !errors.Is(err, registry.ErrInvalid) {
		return fmt.Errorf("step %q: the publisher accepted the invalid order.created (error %v)", stepFaults, err)
	}
	s.invalidRefusal = err.Error()
	s.invalidID = uuid.NewString()
	body, err := json.Marshal(map[string]any{
		"event_id": s.invalidID, "event_type": "order.created", "event_version": 2,
		"occurred_at": registry.FormatTime(time.Now()), "tenant_id": s.tenants[0], "producer": "demo-shop", "data": data,
	})
	if err != nil {
		return err
	}
	msg := message.NewMessage(s.invalidID, body)
	msg.Metadata.Set(watermillbus.MetadataRoutingKey, "order.created")
	msg.Metadata.Set(watermillbus.MetadataContentType, publisher.ContentType)
	if err := r.transport.Publisher().Publish("order.created", msg); err != nil {
		return fmt.Errorf("step %q: publish the invalid event: %w", stepFaults, err)
	}
	s.sent = append(s.sent, sentEvent{Step: stepFaults, Source: "generated, sent raw", ID: s.invalidID, Type: "order.created", Tenant: s.tenants[0], Invalid: true})
	s.add(stepFaults, "1 invalid order.created without customer_email, sent raw on the GoChannel (the publisher refuses it: "+firstLine(s.invalidRefusal)+")")

	// A redelivery: the first generated order.created again, same event_id.
	var first *registry.Event
	for _, e := range s.sent {
		if e.Step == stepBurst && e.Type == "order.created" {
			first = e.Event
			break
		}
	}
	if first == nil {
		return errors.New("the burst published no order.created to redeliver")
	}
	again, err := r.producer.Publish(ctx, publisher.Event{
		ID: first.ID, Type: first.Type, Version: first.Version, OccurredAt: first.OccurredAt, TenantID: first.TenantID,
		CorrelationID: first.CorrelationID, CausationID: first.CausationID, Data: first.Data,
	})
	if err != nil {
		return fmt.Errorf("step %q: publish the redelivery: %w", stepFaults, err)
	}
	s.sent = append(s.sent, sentEvent{Step: stepFaults, Source: "redelivery", ID: again.ID, Type: again.Type, Tenant: again.TenantID, Event: again, Redelivery: true})
	s.add(stepFaults, fmt.Sprintf("1 order.created published again with the same event_id %s (a redelivery): handled once", first.ID))

	exs, err := r.examples("tenant.suspended")
	if err != nil {
		return err
	}
	for _, ex := range exs {
		if err := r.publishExample(ctx, stepFaults, ex, suspended); err != nil {
			return err
		}
	}
	s.add(stepFaults, fmt.Sprintf("%d tenant.suspended for %s: the registry's examples, all re-tenanted onto it", len(exs), suspended))
	return r.settle(stepFaults)
}

// tenantKeys lists the tenant's keys under P tenant:{t}: as the cache's purge pattern has them.
func (r *rig) tenantKeys(ctx context.Context, tenant string) ([]string, error) {
	var keys []string
	iter := r.rdb.Scan(ctx, 0, r.cache.PatternPrefix("tenant", tenant), 100).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return nil, fmt.Errorf("list the keys of tenant %s: %w", tenant, err)
	}
	sort.Strings(keys)
	return keys, nil
}

// generation reads a tenant's product-list generation (0 when absent).
func (r *rig) generation(ctx context.Context, tenant string) (int64, error) {
	n, err := r.rdb.Get(ctx, r.cache.Key("tenant", tenant, "products", "gen")).Int64()
	if err != nil && !errors.Is(err, redis.Nil) {
		return 0, fmt.Errorf("read the product generation of %s: %w", tenant, err)
	}
	return n, nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
