package idempotency

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/eventworker/eventworker/internal/worker/dedupe"
)

// keyspace follows the prefix: the worker's own namespace, never "tenant:".
const keyspace = "eventworker:idem:"

// Store records handled events in Redis. It is safe for concurrent use.
type Store struct {
	rdb      redis.UniversalClient
	prefix   string
	doneTTL  time.Duration
	leaseTTL time.Duration
}

// New returns a Store whose records are keyed under prefix + "eventworker:idem:". doneTTL is
// how long a handled event is remembered; leaseTTL how long a lease protects a running handler
// and must exceed the handler timeout. It panics if either TTL is shorter than a millisecond,
// which configuration validation rules out.
func New(rdb redis.UniversalClient, prefix string, doneTTL, leaseTTL time.Duration) *Store {
	if doneTTL < time.Millisecond || leaseTTL < time.Millisecond {
		panic(fmt.Sprintf("idempotency.New: TTLs must be at least 1ms (done %s, lease %s)", doneTTL, leaseTTL))
	}
	return &Store{rdb: rdb, prefix: prefix, doneTTL: doneTTL, leaseTTL: leaseTTL}
}

// releaseAfterErrorTimeout bounds the release Begin tries after an error.
const releaseAfterErrorTimeout = 2 * time.Second

// Begin looks up the record of eventID for consumer and, unless it is done or leased elsewhere,
// takes a lease on it, in one atomic round trip. The Lease (a *Lease) is non-nil only with
// StateAcquired. A Redis error comes back with StateUnknown: the caller must not acknowledge
// the event. Store implements the worker's dedupe.Store.
func (s *Store) Begin(ctx context.Context, consumer, eventID string) (State, dedupe.Lease, error) {
	key, err := s.key(consumer, eventID)
	if err != nil {
		return StateUnknown, nil, err
	}
	token, err := newToken()
	if err != nil {
		return StateUnknown, nil, err
	}
	res, err := beginScript.Run(ctx, s.rdb, []string{key}, token, s.leaseTTL.Milliseconds(), doneValue).Int()
	if err != nil {
		// The script may have run and taken the lease with the reply lost (a timeout under
		// load): give the lease back by its token, or the event's next delivery would find it
		// held until the lease TTL ran out. Best effort: with Redis gone, the lease expires.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseAfterErrorTimeout)
		_ = releaseScript.Run(rctx, s.rdb, []string{key}, token).Err()
		cancel()
		return StateUnknown, nil, fmt.Errorf("begin %s: %w", key, err)
	}
	switch res {
	case beginAcquired:
		return StateAcquired, &Lease{store: s, key: key, token: token}, nil
	case beginDone:
		return StateDone, nil, nil
	case beginHeld:
		return StateHeld, nil, nil
	default:
		return StateUnknown, nil, fmt.Errorf("begin %s: reply %d: %w", key, res, ErrUnexpectedReply)
	}
}

// Ping checks that Redis answers, for readiness checks.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("ping redis: %w", err)
	}
	return nil
}

// key builds the record's key; a ':' in consumer would let two pairs share one key.
func (s *Store) key(consumer, eventID string) (string, error) {
	if consumer == "" || eventID == "" || strings.Contains(consumer, ":") {
		return "", fmt.Errorf("consumer %q, event ID %q: %w", consumer, eventID, ErrInvalidKey)
	}
	return s.prefix + keyspace + consumer + ":" + eventID, nil
}

// newToken returns 128 random bits in hex: unique per lease across every replica.
func newToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("lease token: %w", err)
	}
	return hex.EncodeToString(b), nil
}
