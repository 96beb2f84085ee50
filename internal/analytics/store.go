package analytics

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/eventworker/eventworker/registry"
)

// Counter names, the fields of a day's hash.
const (
	OrdersCreated   = "orders_created"
	OrdersConfirmed = "orders_confirmed"
	OrdersCancelled = "orders_cancelled"
	UsersRegistered = "users_registered"
	// RevenuePrefix precedes the currency code of a revenue counter ("revenue:EUR").
	RevenuePrefix = "revenue:"
)

const (
	keyspace = "eventworker:analytics:"
	// DefaultDayTTL keeps a day's counters for 400 days.
	DefaultDayTTL = 400 * 24 * time.Hour
	// DefaultSeenTTL is how long an event ID is remembered; longer than any retry or replay
	// window that could bring the event back.
	DefaultSeenTTL = 30 * 24 * time.Hour
)

// ErrInvalid reports an empty tenant, event ID or counter.
var ErrInvalid = errors.New("invalid analytics input")

// Store counts events. It is safe for concurrent use.
type Store struct {
	rdb     redis.UniversalClient
	prefix  string
	dayTTL  time.Duration
	seenTTL time.Duration
}

// New returns a Store keyed under prefix + "eventworker:analytics:".
func New(rdb redis.UniversalClient, prefix string) *Store {
	return &Store{rdb: rdb, prefix: prefix, dayTTL: DefaultDayTTL, seenTTL: DefaultSeenTTL}
}

// Count adds incr to the tenant's counters of the UTC day of at, once per eventID. It reports
// whether the event was counted now (false: it had been counted before).
func (s *Store) Count(ctx context.Context, tenantID, eventID string, at time.Time, incr map[string]int64) (bool, error) {
	if tenantID == "" || eventID == "" || len(incr) == 0 {
		return false, fmt.Errorf("count event %q of tenant %q: %w", eventID, tenantID, ErrInvalid)
	}
	args := []any{s.seenTTL.Milliseconds(), s.dayTTL.Milliseconds()}
	for _, k := range sortedKeys(incr) {
		args = append(args, k, incr[k])
	}
	tag := s.dayTag(tenantID, at.UTC())
	keys := []string{s.prefix + keyspace + "seen:" + tag + ":" + eventID, s.prefix + keyspace + "day:" + tag}
	n, err := countScript.Run(ctx, s.rdb, keys, args...).Int()
	if err != nil {
		return false, fmt.Errorf("count event %s of tenant %s: %w", eventID, tenantID, err)
	}
	return n == 1, nil
}

// Day is one day's counters of a tenant.
type Day struct {
	Date     time.Time
	Counters map[string]int64
}

// Revenue returns the day's revenue in minor units per currency.
func (d Day) Revenue() map[string]int64 {
	out := map[string]int64{}
	for k, v := range d.Counters {
		if cur, ok := strings.CutPrefix(k, RevenuePrefix); ok {
			out[cur] = v
		}
	}
	return out
}

// Days returns the tenant's counters for the days UTC-day(until)-days+1 … UTC-day(until), oldest
// first; days without events have empty counters.
func (s *Store) Days(ctx context.Context, tenantID string, until time.Time, days int) ([]Day, error) {
	if tenantID == "" || days < 1 {
		return nil, fmt.Errorf("read %d days of tenant %q: %w", days, tenantID, ErrInvalid)
	}
	last := until.UTC().Truncate(24 * time.Hour)
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, days)
	out := make([]Day, days)
	for i := range days {
		d := last.AddDate(0, 0, i-days+1)
		out[i].Date = d
		cmds[i] = pipe.HGetAll(ctx, s.prefix+keyspace+"day:"+s.dayTag(tenantID, d))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("read counters of tenant %s: %w", tenantID, err)
	}
	for i, c := range cmds {
		out[i].Counters = map[string]int64{}
		for k, v := range c.Val() {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("counter %s of tenant %s on %s is %q, not an integer", k, tenantID, out[i].Date.Format(time.DateOnly), v)
			}
			out[i].Counters[k] = n
		}
	}
	return out, nil
}

// dayTag names a tenant's day in both of its keys: the counters and the markers of the events
// counted in them. It is a Redis Cluster hash tag, so the script's two keys share a slot, and it
// carries the tenant ID's length because identifiers may contain ':'. (Identifiers cannot hold
// braces.)
func (s *Store) dayTag(tenantID string, day time.Time) string {
	return "{" + strconv.Itoa(len(tenantID)) + ":" + tenantID + ":" + day.Format(time.DateOnly) + "}"
}

func sortedKeys(m map[string]int64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// countScript: KEYS[1] seen marker, KEYS[2] day hash; ARGV[1] seen TTL ms, ARGV[2] day TTL ms,
// ARGV[3..] field, increment pairs. Marker and increments in one script: counted exactly once.
var countScript = redis.NewScript(`
if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then
	return 0
end
for i = 3, #ARGV, 2 do
	redis.call('HINCRBY', KEYS[2], ARGV[i], ARGV[i+1])
end
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1
`)

// FormatRevenue writes minor units as major-unit decimals per currency, sorted by currency:
// "EUR 12.50, JPY 300"; "-" when there is none.
func FormatRevenue(m map[string]int64) string {
	if len(m) == 0 {
		return "-"
	}
	parts := make([]string, 0, len(m))
	for _, c := range slices.Sorted(maps.Keys(m)) {
		d, err := registry.DecimalFromMinor(m[c], c)
		if err != nil {
			parts = append(parts, fmt.Sprintf("%s %d (minor units)", c, m[c]))
			continue
		}
		parts = append(parts, c+" "+string(d))
	}
	return strings.Join(parts, ", ")
}
