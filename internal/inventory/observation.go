package inventory

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// Observation is what one source event says about one product's stock.
type Observation struct {
	TenantID  string
	ProductID string
	// EventID is the source event's event_id; with ProductID it names the observation, so a
	// redelivery is recognised.
	EventID string
	// OccurredAt is the source event's occurred_at; it orders the observation on the timeline.
	OccurredAt time.Time
	// Version is the product's version on product events; 0 on an order item.
	Version int64
	// Quantity is the stock: inventory_quantity, or an order item's inventory_remaining.
	Quantity int64
	// Product is set on product events (product.created, product.updated). It is nil on an
	// order item, which takes threshold, name and SKU from the latest product event seen.
	Product *ProductInfo
}

// ProductInfo is what a product event says about the product besides its stock.
type ProductInfo struct {
	SKU  string
	Name string
	// Threshold is the low-stock threshold, the contract's default already applied.
	Threshold int64
}

// Outcome is what Observe did with an observation.
type Outcome int

const (
	// Recorded: the observation is new and now on the product's timeline.
	Recorded Outcome = iota + 1
	// Duplicate: the observation was recorded before (a redelivery); nothing changed.
	Duplicate
	// TooLate: the observation is older than the trimmed part of the timeline and cannot be
	// placed any more; it was ignored.
	TooLate
	// UnknownProduct: an order item for a product with no product event seen yet, so without
	// a threshold; it was ignored.
	UnknownProduct
)

// String returns the outcome's name, for logs.
func (o Outcome) String() string {
	switch o {
	case Recorded:
		return "recorded"
	case Duplicate:
		return "duplicate"
	case TooLate:
		return "too_late"
	case UnknownProduct:
		return "unknown_product"
	default:
		return "outcome(" + strconv.Itoa(int(o)) + ")"
	}
}

// Result is the outcome of one Observe.
type Result struct {
	Outcome Outcome
	// Alert is the pending product.inventory_low of this source event and product, or nil. It
	// is returned, claimed, by the Observes of the same event until MarkPublished.
	Alert *Alert
	// Claimed is true when the event has a pending alert for the product that another delivery
	// of the event claimed and may be publishing now: Alert is nil, and the caller should try
	// again later.
	Claimed bool
}

// Alert is a pending product.inventory_low: the data of the low observation that ended a fall.
type Alert struct {
	// EventID is the derived event's event_id, AlertID(source event_id, product_id).
	EventID   string
	TenantID  string
	ProductID string
	SKU       string
	Name      string
	Quantity  int64
	Threshold int64
	// OccurredAt is when the low observation occurred.
	OccurredAt time.Time
}

// alertNamespace is the UUID v5 namespace of derived product.inventory_low event_ids.
var alertNamespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://eventworker.invalid/product.inventory_low"))

// AlertID returns the event_id of the product.inventory_low that the source event derives for
// the product: a UUID v5, the same on every retry and replica.
func AlertID(sourceEventID, productID string) string {
	return uuid.NewSHA1(alertNamespace, []byte(sourceEventID+"\x00"+productID)).String()
}

// validate checks what the script relies on.
func (o Observation) validate() error {
	switch {
	case o.TenantID == "" || o.ProductID == "" || o.EventID == "":
		return fmt.Errorf("%w: tenant %q, product %q and event %q must not be empty", ErrInvalidObservation, o.TenantID, o.ProductID, o.EventID)
	case o.Quantity < 0:
		return fmt.Errorf("%w: quantity %d is negative", ErrInvalidObservation, o.Quantity)
	case o.Version < 0:
		return fmt.Errorf("%w: version %d is negative", ErrInvalidObservation, o.Version)
	case o.Product != nil && o.Product.Threshold < 0:
		return fmt.Errorf("%w: threshold %d is negative", ErrInvalidObservation, o.Product.Threshold)
	}
	return nil
}

// orderKey places the observation on the timeline: 20 digits of UTC nanoseconds, 20 digits of
// version, the event_id. Fixed widths make string order the order of (time, version, event).
func orderKey(at time.Time, version int64, eventID string) string {
	return stamp(at) + ":" + fmt.Sprintf("%020d", version) + ":" + eventID
}

// earliest and latest bound what UnixNano can represent; times outside are clamped so that
// the key keeps its width and order.
var (
	earliest = time.Unix(0, 0)
	latest   = time.Unix(0, math.MaxInt64)
)

func stamp(at time.Time) string {
	switch {
	case at.Before(earliest):
		at = earliest
	case at.After(latest):
		at = latest
	}
	return fmt.Sprintf("%020d", at.UnixNano())
}

// storedObservation is an observation as the script keeps it; numbers are decimal strings
// because Lua's cjson would print large integers in exponent form.
type storedObservation struct {
	Quantity  string `json:"q"`
	Threshold string `json:"t"`
	Name      string `json:"name"`
	SKU       string `json:"sku"`
	// At is the order key's first part: UTC nanoseconds, 20 digits.
	At string `json:"at"`
}

func decodeAlert(o Observation, id, raw string) (*Alert, error) {
	var s storedObservation
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		return nil, fmt.Errorf("decode pending alert %s: %w", id, err)
	}
	q, err1 := strconv.ParseInt(s.Quantity, 10, 64)
	t, err2 := strconv.ParseInt(s.Threshold, 10, 64)
	ns, err3 := strconv.ParseInt(s.At, 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return nil, fmt.Errorf("decode pending alert %s %q: %w", id, raw, ErrUnexpectedReply)
	}
	return &Alert{
		EventID: id, TenantID: o.TenantID, ProductID: o.ProductID, SKU: s.SKU, Name: s.Name,
		Quantity: q, Threshold: t, OccurredAt: time.Unix(0, ns).UTC(),
	}, nil
}
