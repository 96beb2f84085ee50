package worker

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/eventworker/eventworker/internal/worker/dedupe"
)

// leaseTracker is the worker's dedupe.Store: it passes every call to the real store and keeps
// the processing leases this worker holds, from Begin to Complete or Release (or a renewal
// that finds the lease gone), for State.
type leaseTracker struct {
	next dedupe.Store

	mu   sync.Mutex
	held map[*trackedLease]struct{}
}

// trackLeases returns next with its leases tracked, or nil for a nil store.
func trackLeases(next dedupe.Store) *leaseTracker {
	if next == nil {
		return nil
	}
	return &leaseTracker{next: next, held: map[*trackedLease]struct{}{}}
}

// Begin implements dedupe.Store.
func (t *leaseTracker) Begin(ctx context.Context, consumer, eventID string) (dedupe.State, dedupe.Lease, error) {
	state, lease, err := t.next.Begin(ctx, consumer, eventID)
	if lease == nil {
		return state, lease, err
	}
	now := time.Now()
	tl := &trackedLease{Lease: lease, t: t, consumer: consumer, eventID: eventID, since: now, renewed: now}
	t.mu.Lock()
	t.held[tl] = struct{}{}
	t.mu.Unlock()
	return state, tl, err
}

// snapshot returns the leases held, oldest first.
func (t *leaseTracker) snapshot() []LeaseState {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	out := make([]LeaseState, 0, len(t.held))
	for l := range t.held {
		out = append(out, LeaseState{Consumer: l.consumer, EventID: l.eventID, Since: l.since, Renewed: l.renewed, TTL: l.TTL()})
	}
	t.mu.Unlock()
	slices.SortFunc(out, func(a, b LeaseState) int {
		return cmp.Or(a.Since.Compare(b.Since), cmp.Compare(a.Consumer, b.Consumer), cmp.Compare(a.EventID, b.EventID))
	})
	return out
}

func (t *leaseTracker) forget(l *trackedLease) {
	t.mu.Lock()
	delete(t.held, l)
	t.mu.Unlock()
}

// trackedLease is a dedupe.Lease whose end is seen by its tracker.
type trackedLease struct {
	dedupe.Lease
	t                 *leaseTracker
	consumer, eventID string
	since             time.Time
	renewed           time.Time // guarded by t.mu
}

// Complete implements dedupe.Lease.
func (l *trackedLease) Complete(ctx context.Context) error {
	defer l.t.forget(l)
	return l.Lease.Complete(ctx)
}

// Release implements dedupe.Lease.
func (l *trackedLease) Release(ctx context.Context) error {
	defer l.t.forget(l)
	return l.Lease.Release(ctx)
}

// Renew implements dedupe.Lease.
func (l *trackedLease) Renew(ctx context.Context) (bool, error) {
	kept, err := l.Lease.Renew(ctx)
	switch {
	case err == nil && kept:
		l.t.mu.Lock()
		l.renewed = time.Now()
		l.t.mu.Unlock()
	case err == nil:
		l.t.forget(l) // taken elsewhere: no longer this worker's
	}
	return kept, err
}
