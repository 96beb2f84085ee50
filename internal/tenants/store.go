package tenants

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/eventworker/eventworker/internal/idempotency"
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
	records   idempotency.Records
	// split is true on a Redis Cluster, where a tenant's hash and its customers' locales are in
	// different hash slots and no script may touch both.
	split bool
}

// Options tunes a Store; zero fields take the defaults.
type Options struct {
	// RecordTTL is how long the idempotency record of a write given a Mark is kept
	// (DefaultRecordTTL by default).
	RecordTTL time.Duration
}

// DefaultRecordTTL is the default of Options.RecordTTL: the worker's default dedupe window.
const DefaultRecordTTL = 7 * 24 * time.Hour

// New returns a Store with the default options, keyed under prefix + "eventworker:tenant:".
func New(rdb redis.UniversalClient, prefix string) *Store {
	return NewWithOptions(rdb, prefix, Options{})
}

// NewWithOptions returns a Store keyed under prefix + "eventworker:tenant:".
func NewWithOptions(rdb redis.UniversalClient, prefix string, o Options) *Store {
	if o.RecordTTL < time.Millisecond {
		o.RecordTTL = DefaultRecordTTL
	}
	_, split := rdb.(*redis.ClusterClient)
	return &Store{rdb: rdb, prefix: prefix, localeTTL: DefaultLocaleTTL, records: idempotency.NewRecords(prefix, o.RecordTTL), split: split}
}

// Result is what a write did.
type Result int

// Results of SaveProfile and SetSuspended.
const (
	// Stored: the write was applied.
	Stored Result = iota + 1
	// Older: a later event's write is stored, so this one was not applied; the event is
	// handled all the same.
	Older
	// Duplicate: the event's record was found; it was handled before and nothing changed.
	Duplicate
)

// SaveProfile stores p as the tenant's profile unless a profile from a later event is already
// stored. The suspension flag is not touched. Given a Mark, the write looks for the event's
// record and writes it in the same script (see idempotency.Records): a redelivered event
// changes nothing and gets Duplicate.
func (s *Store) SaveProfile(ctx context.Context, m idempotency.Mark, p Profile, occurredAt time.Time) (Result, error) {
	if p.TenantID == "" {
		return 0, fmt.Errorf("save tenant profile: %w", ErrInvalidID)
	}
	keys, ttl, err := s.scriptKeys(m, p.TenantID)
	if err != nil {
		return 0, fmt.Errorf("save profile of tenant %s: %w", p.TenantID, err)
	}
	// Absent optional fields are written empty, so a newer profile clears what it no longer has.
	res, err := saveProfileScript.Run(ctx, s.rdb, keys, stamp(occurredAt), ttl,
		fName, p.Name, fOwnerEmail, p.OwnerEmail, fSupportEmail, p.SupportEmail,
		fLocale, p.Locale, fPlan, p.Plan, fTimezone, p.Timezone,
		fLogoURL, p.LogoURL, fWebsiteURL, p.WebsiteURL, fLegalNotice, p.LegalNotice).Int()
	if err != nil {
		return 0, fmt.Errorf("save profile of tenant %s: %w", p.TenantID, err)
	}
	return result(res)
}

// SetSuspended sets or clears the tenant's suspension flag unless a later suspension or
// reactivation is already stored. A Mark works as for SaveProfile: without one, a suspension
// and a reactivation of the same instant would let a redelivery flip the flag back.
func (s *Store) SetSuspended(ctx context.Context, m idempotency.Mark, tenantID string, suspended bool, occurredAt time.Time) (Result, error) {
	if tenantID == "" {
		return 0, fmt.Errorf("set suspension: %w", ErrInvalidID)
	}
	flag := "0"
	if suspended {
		flag = "1"
	}
	keys, ttl, err := s.scriptKeys(m, tenantID)
	if err != nil {
		return 0, fmt.Errorf("set suspension of tenant %s: %w", tenantID, err)
	}
	res, err := setSuspendedScript.Run(ctx, s.rdb, keys, stamp(occurredAt), ttl, flag).Int()
	if err != nil {
		return 0, fmt.Errorf("set suspension of tenant %s: %w", tenantID, err)
	}
	return result(res)
}

// scriptKeys are a write script's KEYS and its record TTL argument ("0": no record).
func (s *Store) scriptKeys(m idempotency.Mark, tenantID string) ([]string, int64, error) {
	key := s.tenantKey(tenantID)
	if m.IsZero() {
		return []string{key}, 0, nil
	}
	rk, err := s.records.Key(m, key)
	if err != nil {
		return nil, 0, err
	}
	return []string{key, rk}, s.records.TTLMillis(), nil
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
// customer registered with ("" if none); with remember set, it first stores remember as that
// customer's locale and returns it. The notifications consumer needs these for every email, so
// it is one command on one server (a script) and one round trip on a Cluster, whose two keys are
// in different hash slots (a pipeline of two).
func (s *Store) Recipient(ctx context.Context, tenantID, userID, remember string) (p Profile, hasProfile bool, locale string, err error) {
	if tenantID == "" || (remember != "" && userID == "") {
		return Profile{}, false, "", fmt.Errorf("get tenant: %w", ErrInvalidID)
	}
	var h map[string]string
	if s.split {
		h, locale, err = s.recipientPipelined(ctx, tenantID, userID, remember)
	} else {
		h, locale, err = s.recipientScripted(ctx, tenantID, userID, remember)
	}
	if err != nil {
		return Profile{}, false, "", fmt.Errorf("get tenant %s and its customer's locale: %w", tenantID, err)
	}
	_, hasProfile = h[fProfileAt]
	return fromHash(tenantID, h), hasProfile, locale, nil
}

func (s *Store) recipientScripted(ctx context.Context, tenantID, userID, remember string) (map[string]string, string, error) {
	keys := []string{s.tenantKey(tenantID)}
	if userID != "" {
		keys = append(keys, s.localeKey(tenantID, userID))
	}
	reply, err := recipientScript.Run(ctx, s.rdb, keys, remember, s.localeTTL.Milliseconds()).Slice()
	if err != nil {
		return nil, "", err
	}
	if len(reply) != 2 {
		return nil, "", fmt.Errorf("reply %v: %w", reply, ErrUnexpectedReply)
	}
	flat, _ := reply[0].([]any)
	h := make(map[string]string, len(flat)/2)
	for i := 0; i+1 < len(flat); i += 2 {
		k, _ := flat[i].(string)
		v, _ := flat[i+1].(string)
		h[k] = v
	}
	locale, _ := reply[1].(string)
	return h, locale, nil
}

func (s *Store) recipientPipelined(ctx context.Context, tenantID, userID, remember string) (map[string]string, string, error) {
	pipe := s.rdb.Pipeline()
	h := pipe.HGetAll(ctx, s.tenantKey(tenantID))
	var l *redis.StringCmd
	switch {
	case remember != "":
		pipe.Set(ctx, s.localeKey(tenantID, userID), remember, s.localeTTL)
	case userID != "":
		l = pipe.Get(ctx, s.localeKey(tenantID, userID))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, "", err
	}
	locale := remember
	if l != nil {
		locale = l.Val()
	}
	return h.Val(), locale, nil
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

func result(res int) (Result, error) {
	switch res {
	case replyOlder:
		return Older, nil
	case replyStored:
		return Stored, nil
	case replyDuplicate:
		return Duplicate, nil
	default:
		return 0, fmt.Errorf("reply %d: %w", res, ErrUnexpectedReply)
	}
}
