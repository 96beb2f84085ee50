package idempotency

import (
	"fmt"
	"strings"
	"time"

	"github.com/eventworker/eventworker/internal/rediskey"
)

// DoneValue is what a record holds once its event's effect happened, whether a lease's Complete
// or an effect's own script wrote it.
const DoneValue = doneValue

// Records names the records that effects kept in Redis write themselves: the Lua script that
// applies the effect first looks for the event's record (found: the event was handled, the
// script changes nothing) and writes it together with the effect, in one atomic step. Such an
// effect needs no lease and no done marker, and happens exactly once per event.
//
// A record lives at P + "eventworker:idem:" + consumer + ":{TAG}:" + event_id, where TAG is
// the hash tag of a key the effect touches, so that on a Redis Cluster the script's keys share
// one hash slot. The zero Records is not usable; build one with NewRecords.
type Records struct {
	prefix string
	ttl    time.Duration
}

// NewRecords returns the namer of records under prefix, remembered for ttl (the dedupe
// window, as the done TTL of leases). It panics if ttl is shorter than a millisecond, which
// configuration validation rules out.
func NewRecords(prefix string, ttl time.Duration) Records {
	if ttl < time.Millisecond {
		panic(fmt.Sprintf("idempotency.NewRecords: TTL %s is below 1ms", ttl))
	}
	return Records{prefix: prefix, ttl: ttl}
}

// Mark names the record of one event for one consumer. The zero Mark names none: a write
// given it records nothing.
type Mark struct {
	Consumer string
	EventID  string
}

// IsZero reports whether m names no record.
func (m Mark) IsZero() bool { return m == Mark{} }

// Key returns the key of m's record, in the hash slot of near, a key the effect's script also
// touches. The same mark and near always give the same key.
func (r Records) Key(m Mark, near string) (string, error) {
	if m.Consumer == "" || m.EventID == "" || strings.Contains(m.Consumer, ":") || near == "" {
		return "", fmt.Errorf("consumer %q, event ID %q, key %q: %w", m.Consumer, m.EventID, near, ErrInvalidKey)
	}
	return rediskey.Beside(r.prefix+keyspace+m.Consumer+":", near, ":"+m.EventID), nil
}

// TTLMillis is how long a record is kept, in milliseconds, for a script's PX.
func (r Records) TTLMillis() int64 { return r.ttl.Milliseconds() }

// Usable reports whether r was built by NewRecords.
func (r Records) Usable() bool { return r.ttl > 0 }
