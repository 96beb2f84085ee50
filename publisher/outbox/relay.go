package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/propagation"

	"github.com/eventworker/eventworker/publisher"
)

// lockClass is the first key of the relays' advisory locks ("ewob"), so that they do not
// collide with the producer's own one-key locks; the second is hashtext(tenant_id).
const lockClass = 0x65776f62

// committed are the rows to send: every committed row not sent yet. Enqueue's tenant lock
// makes a tenant's ids follow its commits, so no transaction still running can commit a
// smaller id of a tenant than one already visible.
const committed = `sent_at IS NULL`

// lockTenants takes the advisory locks of up to $2 tenants with committed rows that no other
// relay holds; they last until the relay's transaction ends (or its connection dies).
// Tenants in $3 are held back by this relay after a failed send (see Relay.held).
const lockTenants = `SELECT tenant_id FROM (SELECT DISTINCT tenant_id FROM ` + Table + ` WHERE ` + committed + `
AND NOT tenant_id = ANY($3::text[])) t
WHERE pg_try_advisory_xact_lock($1::int4, hashtext(tenant_id)) LIMIT $2`

// selectRows reads the locked tenants' rows. It is a statement of its own, after the locks, so
// that its snapshot sees the sent_at of a relay that held a lock just before.
const selectRows = `SELECT id, tenant_id, event_type, body, headers FROM ` + Table + `
WHERE tenant_id = ANY($1) AND ` + committed + ` ORDER BY id LIMIT $2`

// markSent records when the broker confirmed the rows: clock_timestamp(), not now(), which is
// the start of the relay's transaction, before the sends.
const markSent = `UPDATE ` + Table + ` SET sent_at = clock_timestamp() WHERE id = ANY($1) AND sent_at IS NULL`

// Relay sends the outbox's committed rows to RabbitMQ in id order per tenant and marks them
// sent. Several relays may run on one table: each tenant is served by one at a time, through an
// advisory lock held for the transaction of a batch.
type Relay struct {
	cfg  Config
	log  *slog.Logger
	pool *pgxpool.Pool
	m    *metrics
	wake chan struct{}

	// pub is dialled on first use and again after a failed dial; only Run's goroutine uses it.
	pub *publisher.Publisher
	// held are the tenants whose last send failed, each left alone until its own backoff
	// ends, so that one tenant's unroutable event does not slow the others; only Run's
	// goroutine uses it.
	held map[string]heldTenant
}

// heldTenant is a tenant waiting out its backoff after a failed send.
type heldTenant struct {
	until   time.Time
	backoff time.Duration
}

// NewRelay checks cfg and prepares a relay; it connects to nothing until Run.
func NewRelay(cfg Config) (*Relay, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("new outbox relay: %w", err)
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("new outbox relay: register metrics: %w", err)
	}
	pool, err := pgxpool.New(context.Background(), cfg.DSN)
	if err != nil {
		return nil, fmt.Errorf("new outbox relay: %w", err)
	}
	return &Relay{cfg: cfg, log: cfg.Logger, pool: pool, m: m, wake: make(chan struct{}, 1), held: map[string]heldTenant{}}, nil
}

// Run relays until ctx is done, then closes the relay's connections and returns nil. It sends
// whatever is committed, then waits for a notification of new rows or the poll interval;
// after a failure (broker or database down) it waits an exponential backoff and tries again,
// so rows wait in the table and none is lost.
func (r *Relay) Run(ctx context.Context) error {
	defer r.close()
	listenCtx, stopListen := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { r.listen(listenCtx) })
	defer wg.Wait()
	defer stopListen()

	var backoff, recheck time.Duration
	var lastCleanup time.Time
	for {
		res, err := r.drain(ctx)
		sent := res.sent
		if res.tenantErr != nil && ctx.Err() == nil {
			r.log.Warn("outbox events not sent; their tenants wait and are tried again", "err", res.tenantErr)
		}
		if ctx.Err() != nil {
			return nil
		}
		waiting := r.observe(ctx)
		if time.Since(lastCleanup) >= r.cfg.CleanupInterval {
			lastCleanup = time.Now()
			if _, cerr := r.Cleanup(ctx); cerr != nil && ctx.Err() == nil {
				r.m.failures.WithLabelValues(stageCleanup).Inc()
				r.log.Warn("outbox clean-up failed; retrying at the next interval", "err", cerr)
			}
		}
		wait, wake := r.cfg.PollInterval, r.wake
		switch {
		case err != nil:
			backoff = min(max(2*backoff, r.cfg.MinBackoff), r.cfg.MaxBackoff)
			wait, wake = backoff, nil // a notification must not cut the backoff short
			r.log.Warn("outbox relay failed; retrying", "backoff", backoff, "err", err)
		case waiting > 0:
			// Committed rows this relay could not take: held back by an older transaction
			// still running, their tenant another relay's, or in its own backoff after a
			// failed send. Their notification has come and gone, so look again soon, less
			// often while nothing moves.
			backoff = 0
			if sent > 0 {
				recheck = 0
			}
			recheck = min(max(2*recheck, r.cfg.MinBackoff), r.cfg.PollInterval)
			wait = recheck
		default:
			backoff, recheck = 0, 0
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// Drain sends batches until no committed row is left that this relay may take, and returns how
// many rows it sent. A tenant whose send failed keeps its rows, and is left alone by this relay
// for a backoff of its own, while the other tenants go on; the error names every failure.
func (r *Relay) Drain(ctx context.Context) (int, error) {
	res, err := r.drain(ctx)
	return res.sent, errors.Join(res.tenantErr, err)
}

// progress is what drain and batch did: rows sent, and the failures of single tenants, which
// wait out a backoff of their own (an error returned beside it stops every tenant: the
// database, or no connection to the broker).
type progress struct {
	sent      int
	tenantErr error
}

func (r *Relay) drain(ctx context.Context) (progress, error) {
	var total progress
	var tenantErrs []error
	for {
		p, err := r.batch(ctx)
		total.sent += p.sent
		if p.tenantErr != nil {
			tenantErrs = append(tenantErrs, p.tenantErr)
		}
		if err != nil || p.sent == 0 {
			total.tenantErr = errors.Join(tenantErrs...)
			return total, err
		}
	}
}

// batch sends one batch in one transaction: it locks tenants, reads their rows, sends each
// tenant's rows in id order (tenants in parallel), marks the confirmed ones sent and commits.
// A tenant whose send fails keeps its later rows for the next batch, so its order holds.
func (r *Relay) batch(ctx context.Context) (progress, error) {
	if r.pub == nil {
		pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		pub, err := publisher.New(pctx, r.cfg.Publisher)
		cancel()
		if err != nil {
			r.m.failures.WithLabelValues(stagePublish).Inc()
			return progress{}, fmt.Errorf("connect to the broker: %w", err)
		}
		r.pub = pub
	}

	tx, err := r.pool.Begin(ctx)
	if err != nil {
		return progress{}, r.dbFailure("begin", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	// The transaction idles while the broker confirms; a server-side idle timeout would end it
	// and free its tenants for another relay while this one still sends them.
	if _, err := tx.Exec(ctx, "SET LOCAL idle_in_transaction_session_timeout = 0"); err != nil {
		return progress{}, r.dbFailure("begin", err)
	}

	tenants, err := queryStrings(ctx, tx, lockTenants, lockClass, r.cfg.Tenants, r.heldTenants())
	if err != nil {
		return progress{}, r.dbFailure("lock tenants", err)
	}
	if len(tenants) == 0 {
		return progress{}, nil
	}
	rows, err := r.readRows(ctx, tx, tenants)
	if err != nil {
		return progress{}, r.dbFailure("read rows", err)
	}

	sent, failed, sendErr := r.send(ctx, rows)
	if len(sent) > 0 {
		// The broker has these; a failure from here on sends them again (same event_id).
		mctx := context.WithoutCancel(ctx)
		if _, err := tx.Exec(mctx, markSent, sent); err != nil {
			return progress{}, r.dbFailure("mark sent", err)
		}
		if err := tx.Commit(mctx); err != nil {
			return progress{}, r.dbFailure("commit", err)
		}
		r.m.published.Add(float64(len(sent)))
	}
	r.hold(tenants, failed)
	return progress{sent: len(sent), tenantErr: sendErr}, nil
}

// row is one outbox row to send.
type row struct {
	id        int64
	tenantID  string
	eventType string
	body      []byte
	headers   map[string]string
}

func (r *Relay) readRows(ctx context.Context, tx pgx.Tx, tenants []string) ([]row, error) {
	rs, err := tx.Query(ctx, selectRows, tenants, r.cfg.BatchSize)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rs, func(s pgx.CollectableRow) (row, error) {
		var x row
		err := s.Scan(&x.id, &x.tenantID, &x.eventType, &x.body, &x.headers)
		return x, err
	})
}

// send publishes rows, each tenant's in order on a goroutine of its own, and returns the ids
// the broker confirmed, the tenants whose send failed, and their failures.
func (r *Relay) send(ctx context.Context, rows []row) ([]int64, map[string]bool, error) {
	byTenant := map[string][]row{}
	var tenants []string
	for _, x := range rows {
		if _, ok := byTenant[x.tenantID]; !ok {
			tenants = append(tenants, x.tenantID)
		}
		byTenant[x.tenantID] = append(byTenant[x.tenantID], x)
	}
	var (
		mu     sync.Mutex
		sent   []int64
		failed = map[string]bool{}
		errs   []error
		wg     sync.WaitGroup
	)
	for _, tenant := range tenants {
		wg.Go(func() {
			for _, x := range byTenant[tenant] {
				pctx := propagation.TraceContext{}.Extract(ctx, propagation.MapCarrier(x.headers))
				_, err := r.pub.PublishBody(pctx, x.eventType, x.body)
				mu.Lock()
				if err != nil {
					errs = append(errs, fmt.Errorf("tenant %s: %w", tenant, err))
					failed[tenant] = true
					mu.Unlock()
					r.m.failures.WithLabelValues(stagePublish).Inc()
					return // the tenant's later rows wait, so that its order holds
				}
				sent = append(sent, x.id)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return sent, failed, errors.Join(errs...)
}

// hold starts or lengthens the backoff of each failed tenant and ends that of the others.
func (r *Relay) hold(tenants []string, failed map[string]bool) {
	now := time.Now()
	for _, t := range tenants {
		if !failed[t] {
			delete(r.held, t)
			continue
		}
		h := r.held[t]
		h.backoff = min(max(2*h.backoff, r.cfg.MinBackoff), r.cfg.MaxBackoff)
		h.until = now.Add(h.backoff)
		r.held[t] = h
	}
}

// heldTenants lists the tenants still in their backoff, forgetting those whose backoff ended
// long ago.
func (r *Relay) heldTenants() []string {
	now := time.Now()
	out := []string{}
	for t, h := range r.held {
		switch {
		case now.Before(h.until):
			out = append(out, t)
		case now.Sub(h.until) > r.cfg.MaxBackoff:
			delete(r.held, t) // its next failure starts from the smallest backoff again
		}
	}
	return out
}

func (r *Relay) dbFailure(what string, err error) error {
	r.m.failures.WithLabelValues(stageDatabase).Inc()
	return fmt.Errorf("outbox %s: %w", what, err)
}

func queryStrings(ctx context.Context, tx pgx.Tx, sql string, args ...any) ([]string, error) {
	rs, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rs, pgx.RowTo[string])
}

// close releases the publisher and the pool.
func (r *Relay) close() {
	if r.pub != nil {
		_ = r.pub.Close()
		r.pub = nil
	}
	r.pool.Close()
}
