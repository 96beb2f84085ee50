package idempotency

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
)

// Lease is the right, given by Begin, to run the handler of one event for one consumer. Call
// exactly one of Complete or Release; both are safe to retry after a Redis error.
type Lease struct {
	store    *Store
	key      string
	token    string
	finished atomic.Bool
}

// Complete records the event as done for the done TTL, so later deliveries are acknowledged
// without running the handler.
//
// It records done even if the lease expired and another replica took a lease of its own
// meanwhile: done is a fact about the event (the effect happened), not about the lease, and
// writing it spares a further run when that replica fails. The other replica's Complete then
// succeeds and its Release deletes nothing. An existing done record is kept with its TTL.
func (l *Lease) Complete(ctx context.Context) error {
	if l.finished.Load() {
		return ErrLeaseFinished
	}
	err := completeScript.Run(ctx, l.store.rdb, []string{l.key}, l.store.doneTTL.Milliseconds(), doneValue).Err()
	if err != nil {
		return fmt.Errorf("complete %s: %w", l.key, err)
	}
	l.finished.Store(true)
	return nil
}

// Renew gives the lease the store's lease TTL again, from now. It reports false, with no
// error, when the record no longer holds this lease's token: the lease expired and was taken
// elsewhere, or the event was completed. The worker renews a lease while its handler runs, so
// that a short TTL frees the events of a killed worker quickly and yet never runs out under a
// live handler.
func (l *Lease) Renew(ctx context.Context) (bool, error) {
	if l.finished.Load() {
		return false, ErrLeaseFinished
	}
	n, err := renewScript.Run(ctx, l.store.rdb, []string{l.key}, l.token, l.store.leaseTTL.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("renew %s: %w", l.key, err)
	}
	return n == 1, nil
}

// TTL is the lease TTL the lease was taken, and is renewed, with.
func (l *Lease) TTL() time.Duration { return l.store.leaseTTL }

// Release deletes the lease so the next delivery may run the handler, after a failed attempt.
// It deletes the record only while it still holds this lease's token: a lease that expired and
// was taken by another replica, or an event completed elsewhere, is left alone.
func (l *Lease) Release(ctx context.Context) error {
	if l.finished.Load() {
		return ErrLeaseFinished
	}
	if err := releaseScript.Run(ctx, l.store.rdb, []string{l.key}, l.token).Err(); err != nil {
		return fmt.Errorf("release %s: %w", l.key, err)
	}
	l.finished.Store(true)
	return nil
}
