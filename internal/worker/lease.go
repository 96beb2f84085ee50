package worker

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// errLeaseLost ends a handler's context when its lease could not be kept: another worker may
// take the event once the lease expires, so the handler must stop before that.
var errLeaseLost = errors.New("processing lease lost")

// renewable is a lease the worker keeps while its handler runs; a dedupe.Lease is one.
type renewable interface {
	Renew(ctx context.Context) (bool, error)
	TTL() time.Duration
}

// keepLease renews lease every third of its TTL while the handler runs, so that a short TTL
// frees a killed worker's events quickly and yet never expires under a live handler. When the
// lease is gone (taken elsewhere), or two renewals in a row failed, so that a third of the TTL
// is left, the returned context is cancelled with errLeaseLost: the handler stops before the
// lease can expire. stop ends the renewals, waiting for one in progress; call it once the
// handler returned. logger is called only to log, so a lease that renews quietly builds none.
func keepLease(ctx context.Context, lease renewable, logger func() *slog.Logger) (hctx context.Context, stop func()) {
	hctx, cancel := context.WithCancelCause(ctx)
	ttl := lease.TTL()
	every := ttl / 3
	done, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		t := time.NewTicker(every)
		defer t.Stop()
		expires := time.Now().Add(ttl)
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			select {
			case <-done: // both were ready: the handler is done, no renewal
				return
			default:
			}
			start := time.Now()
			rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), every)
			kept, err := lease.Renew(rctx)
			rcancel()
			switch {
			case err == nil && kept:
				expires = start.Add(ttl)
				continue
			case err == nil:
				logger().Warn("the processing lease was taken elsewhere while the handler ran; stopping it")
				cancel(errLeaseLost)
				return
			}
			if time.Until(expires) <= every+every/2 {
				logger().Warn("the processing lease could not be renewed and expires soon; stopping the handler", "error", err.Error())
				cancel(errLeaseLost)
				return
			}
			logger().Warn("could not renew the processing lease; trying again", "error", err.Error())
		}
	}()
	return hctx, func() {
		close(done)
		<-exited
		cancel(nil)
	}
}
