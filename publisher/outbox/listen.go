package outbox

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// listen holds a connection that LISTENs on NotifyChannel and wakes Run at every notification,
// and after every reconnect, since notifications sent while it was down are lost.
func (r *Relay) listen(ctx context.Context) {
	backoff := r.cfg.MinBackoff
	for ctx.Err() == nil {
		listened, err := r.listenOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		if listened {
			// The connection worked before it failed: the outage starts anew.
			backoff = r.cfg.MinBackoff
		}
		r.log.Warn("outbox LISTEN connection failed; polling until it is back", "backoff", backoff, "err", err)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, r.cfg.MaxBackoff)
	}
}

// listenOnce LISTENs until the connection fails; listened says whether LISTEN succeeded.
func (r *Relay) listenOnce(ctx context.Context) (listened bool, err error) {
	conn, err := pgx.Connect(ctx, r.cfg.DSN)
	if err != nil {
		return false, err
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{NotifyChannel}.Sanitize()); err != nil {
		return false, err
	}
	r.signal()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return true, err
		}
		r.signal()
	}
}

// signal wakes Run without blocking; one pending wake-up covers any number of notifications.
func (r *Relay) signal() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}
