package handlers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/eventworker/eventworker/internal/inventory"
	"github.com/eventworker/eventworker/internal/worker/handling"
	"github.com/eventworker/eventworker/publisher"
	"github.com/eventworker/eventworker/registry"
)

// ConsumerInventory is the inventory consumer of registry.yaml.
const ConsumerInventory = "inventory"

// inventoryPublishTimeout bounds the publish of one alert, which runs detached from the
// handler's context: once an alert is on its way, a deadline in the middle would only make its
// fate uncertain. The publisher's own confirm timeout is shorter.
const inventoryPublishTimeout = 30 * time.Second

// InventoryStore records observations of products' stock and keeps the low-stock alerts they
// derive until they are published; *inventory.Store is one.
type InventoryStore interface {
	Observe(ctx context.Context, o inventory.Observation) (inventory.Result, error)
	MarkPublished(ctx context.Context, a *inventory.Alert) error
	ReleaseClaim(ctx context.Context, a *inventory.Alert) error
}

// EventPublisher publishes derived events; *publisher.Publisher is one.
type EventPublisher interface {
	Publish(ctx context.Context, ev publisher.Event) (*registry.Event, error)
}

// inventoryDeps is what the inventory consumer needs.
type inventoryDeps struct {
	Store     InventoryStore
	Publisher EventPublisher
	Logger    *slog.Logger
}

// inventoryConsumer derives product.inventory_low from product.created, product.updated and the items
// of order.confirmed: once per fall of a product's stock from above its threshold to at or
// below it. See package inventory for how reordering, redelivery and replicas are handled.
type inventoryConsumer struct {
	store InventoryStore
	pub   EventPublisher
	log   *slog.Logger
}

// newInventory returns the inventory handler.
func newInventory(d inventoryDeps) *inventoryConsumer {
	log := d.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &inventoryConsumer{store: d.Store, pub: d.Publisher, log: log}
}

// Consumer implements handling.Handler.
func (h *inventoryConsumer) Consumer() string { return ConsumerInventory }

// EventTypes implements handling.Handler: the events Handle dispatches on.
func (h *inventoryConsumer) EventTypes() []string {
	return handling.TypesOf(&registry.ProductCreated{}, &registry.ProductUpdated{}, &registry.OrderConfirmed{})
}

// RecordsInEffect implements handling.InEffectRecorder: the observation script records the event on the
// product's timeline and finds it there when the event comes again.
func (h *inventoryConsumer) RecordsInEffect() bool { return true }

// Handle records the event's observations of stock, then publishes every pending alert of the
// event (also one a failed earlier attempt left) and marks it published. A store or publish
// failure is transient: the retry finds the pending alert and publishes it under the same
// event_id, which consumers deduplicate. An event all of whose observations were recorded
// before, with no alert left pending, is handling.ErrDuplicate.
func (h *inventoryConsumer) Handle(ctx context.Context, ev *registry.Event) error {
	obs, err := inventoryObservations(ev)
	if err != nil {
		return handling.Permanent(err)
	}
	log := h.log // ctx names the event (see logging.WithEvent)
	var alerts []*inventory.Alert
	duplicates, claimed := 0, 0
	for _, o := range obs {
		res, err := h.store.Observe(ctx, o)
		if err != nil {
			return storeError(ev, err)
		}
		switch res.Outcome {
		case inventory.TooLate:
			log.WarnContext(ctx, "stock observation ignored: older than the product's trimmed timeline, too late to tell whether it was a fall",
				"product_id", o.ProductID, "inventory_quantity", o.Quantity)
		case inventory.UnknownProduct:
			log.InfoContext(ctx, "order item ignored: no product.created or product.updated of the product seen yet, so no threshold",
				"product_id", o.ProductID, "inventory_quantity", o.Quantity)
		case inventory.Duplicate:
			duplicates++
			log.DebugContext(ctx, "stock observation already recorded", "product_id", o.ProductID)
		}
		if res.Alert != nil {
			alerts = append(alerts, res.Alert)
		}
		if res.Claimed {
			claimed++
		}
	}
	// Every alert is tried, so one failure does not hold back another product's alert. The
	// event is dead-lettered at once only when every failure is permanent.
	var transient, permanent []error
	for _, a := range alerts {
		if err := h.publish(ctx, log, ev, a); err != nil {
			if handling.IsPermanent(err) {
				permanent = append(permanent, err)
			} else {
				transient = append(transient, err)
			}
		}
	}
	if len(transient) > 0 {
		// Permanent errors are reported as text only, so the whole error stays transient.
		for _, p := range permanent {
			transient = append(transient, errors.New(p.Error()))
		}
		return errors.Join(transient...)
	}
	if len(permanent) > 0 {
		return handling.Permanent(errors.Join(permanent...))
	}
	if claimed > 0 {
		// Another delivery of this event is publishing its alert: this one comes back later
		// and finds it published, or publishes it if that delivery failed.
		return handling.Later(fmt.Errorf("%s: %d low-stock alert(s) of the event are being published by another delivery of it", ev.Type, claimed))
	}
	if len(obs) > 0 && duplicates == len(obs) && len(alerts) == 0 {
		return handling.ErrDuplicate
	}
	return nil
}

// publish sends one pending alert and marks it published.
func (h *inventoryConsumer) publish(ctx context.Context, log *slog.Logger, ev *registry.Event, a *inventory.Alert) error {
	correlation := ev.CorrelationID
	if correlation == "" {
		// The source starts the flow: the contract's derived events copy a correlation_id.
		correlation = ev.ID
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), inventoryPublishTimeout)
	defer cancel()
	_, err := h.pub.Publish(pctx, publisher.Event{
		ID: a.EventID, Type: registry.ProductInventoryLow{}.EventType(), TenantID: ev.TenantID,
		CausationID: ev.ID, CorrelationID: correlation, OccurredAt: a.OccurredAt,
		Data: registry.ProductInventoryLow{
			ProductID: a.ProductID, SKU: a.SKU, Name: a.Name,
			InventoryQuantity: a.Quantity, LowStockThreshold: a.Threshold,
		},
	})
	if err != nil {
		if rerr := h.store.ReleaseClaim(pctx, a); rerr != nil {
			log.WarnContext(ctx, "could not release the claim on a low-stock alert whose publish failed; its retry waits for the claim to end",
				"alert_event_id", a.EventID, "product_id", a.ProductID, "error", rerr.Error())
		}
		err = fmt.Errorf("publish product.inventory_low %s for product %s: %w", a.EventID, a.ProductID, err)
		if errors.Is(err, registry.ErrInvalid) {
			// The registry rejected the derived event: no retry can change that.
			return handling.Permanent(err)
		}
		return err
	}
	log.InfoContext(ctx, "low-stock alert published", "alert_event_id", a.EventID, "product_id", a.ProductID,
		"inventory_quantity", a.Quantity, "low_stock_threshold", a.Threshold)
	if err := h.store.MarkPublished(pctx, a); err != nil {
		// The alert is out; failing the event would only publish it again. Left pending, it is
		// republished (same event_id) only if this event is redelivered.
		log.WarnContext(ctx, "low-stock alert published but still marked pending", "alert_event_id", a.EventID,
			"product_id", a.ProductID, "error", err.Error())
	}
	return nil
}

// inventoryObservations turns an event into observations of stock, one per product.
func inventoryObservations(ev *registry.Event) ([]inventory.Observation, error) {
	switch p := ev.Payload.(type) {
	case *registry.ProductCreated:
		return []inventory.Observation{productObservation(ev, &p.Product)}, nil
	case *registry.ProductUpdated:
		return []inventory.Observation{productObservation(ev, &p.Product)}, nil
	case *registry.OrderConfirmed:
		return itemObservations(ev, p.Items), nil
	default:
		return nil, fmt.Errorf("%s v%d: the inventory consumer does not handle it (payload %T)", ev.Type, ev.Version, ev.Payload)
	}
}

func productObservation(ev *registry.Event, p *registry.Product) inventory.Observation {
	return inventory.Observation{
		TenantID: ev.TenantID, ProductID: p.ProductID, EventID: ev.ID, OccurredAt: ev.OccurredAt,
		// product.created without a version is version 1, as the cache has it.
		Version: max(p.Version, 1), Quantity: p.InventoryQuantity,
		Product: &inventory.ProductInfo{SKU: p.SKU, Name: p.Name, Threshold: p.Threshold()},
	}
}

// itemObservations makes one observation per product of the order, in the order of first
// appearance. Items without inventory_remaining say nothing about stock and are skipped; when a
// product has several lines, the lowest remaining stock is the one after the whole order.
func itemObservations(ev *registry.Event, items []registry.OrderConfirmedItem) []inventory.Observation {
	var out []inventory.Observation
	at := map[string]int{}
	for _, it := range items {
		if it.InventoryRemaining == nil {
			continue
		}
		if i, ok := at[it.ProductID]; ok {
			out[i].Quantity = min(out[i].Quantity, *it.InventoryRemaining)
			continue
		}
		at[it.ProductID] = len(out)
		out = append(out, inventory.Observation{
			TenantID: ev.TenantID, ProductID: it.ProductID, EventID: ev.ID, OccurredAt: ev.OccurredAt,
			Quantity: *it.InventoryRemaining,
		})
	}
	return out
}
