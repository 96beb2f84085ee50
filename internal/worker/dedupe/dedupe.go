// Package dedupe is what the worker needs of the store that records which events each consumer
// handled (internal/idempotency, on Redis): a processing lease per event for handlers whose
// effects live outside that store, and the counts of handler runs that never ended, for the
// poison guard. The worker owns these interfaces; the store implements them, so the worker
// compiles without Redis.
package dedupe

import (
	"context"
	"time"
)

// State is what Store.Begin found for an event.
type State int

const (
	// Unknown is returned with an error: nothing is known, nothing was changed.
	Unknown State = iota
	// Acquired means this caller holds the lease and must run the handler, then Complete or
	// Release the lease.
	Acquired
	// Done means the event was already handled: acknowledge it without running the handler.
	Done
	// Held means another replica holds a live lease: retry the event later.
	Held
)

// String returns the state's name, for logs.
func (s State) String() string {
	switch s {
	case Acquired:
		return "acquired"
	case Done:
		return "done"
	case Held:
		return "held"
	default:
		return "unknown"
	}
}

// Store records, across replicas, which events each consumer has handled.
type Store interface {
	// Begin looks up the record of eventID for consumer and, unless it is done or leased
	// elsewhere, takes a lease on it. The Lease is non-nil only with Acquired. An error comes
	// with Unknown: the caller must not acknowledge the event.
	Begin(ctx context.Context, consumer, eventID string) (State, Lease, error)
}

// Lease is the right to run the handler of one event for one consumer. Call exactly one of
// Complete or Release.
type Lease interface {
	// Complete records the event as done.
	Complete(ctx context.Context) error
	// Release gives the lease back after a failed attempt, so the next delivery may run it.
	Release(ctx context.Context) error
	// Renew gives the lease its TTL again; false, with no error, when it is no longer held.
	Renew(ctx context.Context) (bool, error)
	// TTL is the lease's time to live, renewed every third of it while the handler runs.
	TTL() time.Duration
}

// Runs counts the handler runs of an event that began and never ended, across processes: the
// worker's poison guard.
type Runs interface {
	// Start counts a run about to begin and returns the runs begun and not ended, this one
	// included.
	Start(ctx context.Context, consumer, eventID string) (int, error)
	// Finish takes back the count of a run that ended.
	Finish(ctx context.Context, consumer, eventID string) error
	// Unfinished returns how many runs began and never ended.
	Unfinished(ctx context.Context, consumer, eventID string) (int, error)
	// Forget deletes the count.
	Forget(ctx context.Context, consumer, eventID string) error
}
