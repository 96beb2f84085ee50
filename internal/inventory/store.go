package inventory

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// keyspace follows the prefix: the worker's own namespace, never "tenant:".
const keyspace = "eventworker:inventory:"

// Defaults of Options.
const (
	// DefaultMaxObservations bounds a product's timeline. Reordering rarely spans more than a
	// few events of one product, and each observation costs about a hundred bytes.
	DefaultMaxObservations = 64
	// DefaultTTL is how long a product's state outlives its last event.
	DefaultTTL = 90 * 24 * time.Hour
	// DefaultClaimTTL is how long a delivery that got a pending alert has it to itself: longer
	// than the publish of an alert may take, so that another delivery of the same event does
	// not publish it at the same time.
	DefaultClaimTTL = 40 * time.Second
)

// Options tunes a Store; zero fields take the defaults.
type Options struct {
	// MaxObservations is how many observations a product's timeline keeps; older ones are
	// trimmed, and an observation older than the trimmed ones is ignored.
	MaxObservations int
	// TTL is given again to every key of a product on each observation.
	TTL time.Duration
	// ClaimTTL is how long a pending alert returned by Observe is kept from other deliveries
	// of its event, unless ReleaseClaim gives it back first.
	ClaimTTL time.Duration
}

// Store records observations of products' stock in Redis and keeps the pending
// product.inventory_low alerts they derive. It is safe for concurrent use, also by several
// processes on the same Redis.
type Store struct {
	rdb      redis.UniversalClient
	prefix   string
	max      int
	ttl      time.Duration
	claimTTL time.Duration
}

// New returns a Store with the default options, keyed under prefix + "eventworker:inventory:".
func New(rdb redis.UniversalClient, prefix string) *Store {
	return NewWithOptions(rdb, prefix, Options{})
}

// NewWithOptions returns a Store keyed under prefix + "eventworker:inventory:".
func NewWithOptions(rdb redis.UniversalClient, prefix string, o Options) *Store {
	if o.MaxObservations < 1 {
		o.MaxObservations = DefaultMaxObservations
	}
	// PEXPIRE needs at least a millisecond.
	if o.TTL < time.Millisecond {
		o.TTL = DefaultTTL
	}
	if o.ClaimTTL < time.Millisecond {
		o.ClaimTTL = DefaultClaimTTL
	}
	return &Store{rdb: rdb, prefix: prefix, max: o.MaxObservations, ttl: o.TTL, claimTTL: o.ClaimTTL}
}

// Observe records o on its product's timeline in one atomic step and returns the pending alert
// of o's event for o's product, if any: the one this observation just raised, or one an
// earlier Observe of the same event raised that was not yet marked published. A returned alert
// is claimed for Options.ClaimTTL: until MarkPublished, ReleaseClaim or the claim's end, other
// Observes of the same event get Result.Claimed instead of the alert.
func (s *Store) Observe(ctx context.Context, o Observation) (Result, error) {
	if err := o.validate(); err != nil {
		return Result{}, err
	}
	kind, thr, name, sku := kindItem, "", "", ""
	if o.Product != nil {
		kind, thr, name, sku = kindProduct, strconv.FormatInt(o.Product.Threshold, 10), o.Product.Name, o.Product.SKU
	}
	id := AlertID(o.EventID, o.ProductID)
	reply, err := observeScript.Run(ctx, s.rdb, s.keys(o.TenantID, o.ProductID),
		orderKey(o.OccurredAt, o.Version, o.EventID), id, kind,
		strconv.FormatInt(o.Quantity, 10), thr, name, sku, strconv.FormatInt(o.Version, 10),
		s.max, s.ttl.Milliseconds(), s.claimTTL.Milliseconds()).Slice()
	if err != nil {
		return Result{}, fmt.Errorf("record stock of product %s of tenant %s from event %s: %w", o.ProductID, o.TenantID, o.EventID, err)
	}
	if len(reply) != 3 {
		return Result{}, fmt.Errorf("record stock of product %s: reply %v: %w", o.ProductID, reply, ErrUnexpectedReply)
	}
	var res Result
	switch reply[0] {
	case replyRecorded:
		res.Outcome = Recorded
	case replyDuplicate:
		res.Outcome = Duplicate
	case replyTooLate:
		res.Outcome = TooLate
	case replyUnknown:
		res.Outcome = UnknownProduct
	default:
		return Result{}, fmt.Errorf("record stock of product %s: outcome %v: %w", o.ProductID, reply[0], ErrUnexpectedReply)
	}
	if raw, ok := reply[1].(string); ok {
		if res.Alert, err = decodeAlert(o, id, raw); err != nil {
			return Result{}, err
		}
	}
	res.Claimed = reply[2] == int64(1)
	return res, nil
}

// MarkPublished forgets a pending alert and its claim once it was published, so that later
// redeliveries of its source event do not publish it again.
func (s *Store) MarkPublished(ctx context.Context, a *Alert) error {
	b := s.base(a.TenantID, a.ProductID)
	if err := publishedScript.Run(ctx, s.rdb, []string{b + ":pending", b + ":claims"}, a.EventID).Err(); err != nil {
		return fmt.Errorf("mark low-stock alert %s of product %s published: %w", a.EventID, a.ProductID, err)
	}
	return nil
}

// ReleaseClaim gives back the claim Observe took on a pending alert whose publish failed, so
// that the event's retry gets it at once instead of after the claim's end.
func (s *Store) ReleaseClaim(ctx context.Context, a *Alert) error {
	if err := s.rdb.HDel(ctx, s.base(a.TenantID, a.ProductID)+":claims", a.EventID).Err(); err != nil {
		return fmt.Errorf("release the claim on low-stock alert %s of product %s: %w", a.EventID, a.ProductID, err)
	}
	return nil
}

// base is the common part of a product's keys. The tenant's length keeps tenant "a:b" with
// product "c" apart from tenant "a" with product "b:c"; the braces are a Redis Cluster hash tag,
// so the script's keys share a slot. Identifiers cannot hold braces.
func (s *Store) base(tenantID, productID string) string {
	return s.prefix + keyspace + "{" + strconv.Itoa(len(tenantID)) + ":" + tenantID + ":" + productID + "}"
}

// keys are the script's KEYS, in its order.
func (s *Store) keys(tenantID, productID string) []string {
	b := s.base(tenantID, productID)
	return []string{b + ":timeline", b + ":observations", b + ":pending", b + ":product", b + ":claims"}
}
