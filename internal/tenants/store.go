package tenants

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// keyspace follows the prefix: the worker's own namespace, never "tenant:".
const keyspace = "eventworker:tenant:"

// localeKeyspace holds customers' locales; see localeKey.
const localeKeyspace = "eventworker:locale:"

// DefaultLocaleTTL is how long a customer's locale is remembered after they registered.
const DefaultLocaleTTL = 400 * 24 * time.Hour

// Store reads and writes tenant records. It is safe for concurrent use.
type Store struct {
	rdb       redis.UniversalClient
	prefix    string
	localeTTL time.Duration
}

// New returns a Store keyed under prefix + "eventworker:tenant:".
func New(rdb redis.UniversalClient, prefix string) *Store {
	return &Store{rdb: rdb, prefix: prefix, localeTTL: DefaultLocaleTTL}
}

// SaveProfile stores p as the tenant's profile unless a profile from a later event is already
// stored. It reports whether p was written. The suspension flag is not touched.
func (s *Store) SaveProfile(ctx context.Context, p Profile, occurredAt time.Time) (bool, error) {
	if p.TenantID == "" {
		return false, fmt.Errorf("save tenant profile: %w", ErrInvalidID)
	}
	key := s.tenantKey(p.TenantID)
	// Absent optional fields are written empty, so a newer profile clears what it no longer has.
	res, err := saveProfileScript.Run(ctx, s.rdb, []string{key}, stamp(occurredAt),
		fName, p.Name, fOwnerEmail, p.OwnerEmail, fSupportEmail, p.SupportEmail,
		fLocale, p.Locale, fPlan, p.Plan, fTimezone, p.Timezone).Int()
	if err != nil {
		return false, fmt.Errorf("save profile of tenant %s: %w", p.TenantID, err)
	}
	return applied(res)
}

// SetSuspended sets or clears the tenant's suspension flag unless a later suspension or
// reactivation is already stored. It reports whether the flag was written.
func (s *Store) SetSuspended(ctx context.Context, tenantID string, suspended bool, occurredAt time.Time) (bool, error) {
	if tenantID == "" {
		return false, fmt.Errorf("set suspension: %w", ErrInvalidID)
	}
	flag := "0"
	if suspended {
		flag = "1"
	}
	res, err := setSuspendedScript.Run(ctx, s.rdb, []string{s.tenantKey(tenantID)}, stamp(occurredAt), flag).Int()
	if err != nil {
		return false, fmt.Errorf("set suspension of tenant %s: %w", tenantID, err)
	}
	return applied(res)
}

// Get returns the tenant's record. hasProfile is false until a tenant.provisioned was stored;
// Suspended is valid either way.
func (s *Store) Get(ctx context.Context, tenantID string) (p Profile, hasProfile bool, err error) {
	if tenantID == "" {
		return Profile{}, false, fmt.Errorf("get tenant: %w", ErrInvalidID)
	}
	h, err := s.rdb.HGetAll(ctx, s.tenantKey(tenantID)).Result()
	if err != nil {
		return Profile{}, false, fmt.Errorf("get tenant %s: %w", tenantID, err)
	}
	_, hasProfile = h[fProfileAt]
	return fromHash(tenantID, h), hasProfile, nil
}

// Recipient returns the tenant's record as Get does and, when userID is set, the locale that
// customer registered with ("" if none), in one round trip: the notifications consumer needs
// both for every customer email.
func (s *Store) Recipient(ctx context.Context, tenantID, userID string) (p Profile, hasProfile bool, locale string, err error) {
	if tenantID == "" {
		return Profile{}, false, "", fmt.Errorf("get tenant: %w", ErrInvalidID)
	}
	pipe := s.rdb.Pipeline()
	h := pipe.HGetAll(ctx, s.tenantKey(tenantID))
	var l *redis.StringCmd
	if userID != "" {
		l = pipe.Get(ctx, s.localeKey(tenantID, userID))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return Profile{}, false, "", fmt.Errorf("get tenant %s and its customer's locale: %w", tenantID, err)
	}
	if l != nil {
		locale = l.Val()
	}
	_, hasProfile = h.Val()[fProfileAt]
	return fromHash(tenantID, h.Val()), hasProfile, locale, nil
}

// SetUserLocale remembers the locale a customer registered with.
func (s *Store) SetUserLocale(ctx context.Context, tenantID, userID, locale string) error {
	if tenantID == "" || userID == "" {
		return fmt.Errorf("set user locale: %w", ErrInvalidID)
	}
	if err := s.rdb.Set(ctx, s.localeKey(tenantID, userID), locale, s.localeTTL).Err(); err != nil {
		return fmt.Errorf("set locale of user %s of tenant %s: %w", userID, tenantID, err)
	}
	return nil
}

// UserLocale returns the locale a customer registered with, or "" if none is known.
func (s *Store) UserLocale(ctx context.Context, tenantID, userID string) (string, error) {
	if tenantID == "" || userID == "" {
		return "", fmt.Errorf("get user locale: %w", ErrInvalidID)
	}
	v, err := s.rdb.Get(ctx, s.localeKey(tenantID, userID)).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("get locale of user %s of tenant %s: %w", userID, tenantID, err)
	}
	return v, nil
}

// Ping checks that Redis answers, for readiness checks.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("ping redis: %w", err)
	}
	return nil
}

func (s *Store) tenantKey(tenantID string) string { return s.prefix + keyspace + tenantID }

// localeKey carries the tenant ID's length: identifiers may contain ':', and without it tenant
// "a:b" with user "c" and tenant "a" with user "b:c" would share a key.
func (s *Store) localeKey(tenantID, userID string) string {
	return s.prefix + localeKeyspace + strconv.Itoa(len(tenantID)) + ":" + tenantID + ":" + userID
}

func applied(res int) (bool, error) {
	switch res {
	case 0:
		return false, nil
	case 1:
		return true, nil
	default:
		return false, fmt.Errorf("reply %d: %w", res, ErrUnexpectedReply)
	}
}
