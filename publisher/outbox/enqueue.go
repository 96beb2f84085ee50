package outbox

import (
	"context"
	"encoding/json"
	"fmt"

	"go.opentelemetry.io/otel/propagation"

	"github.com/eventworker/eventworker/publisher"
	"github.com/eventworker/eventworker/registry"
)

// Enqueuer writes events to the outbox table in the caller's transaction. It is safe for
// concurrent use.
type Enqueuer struct {
	cfg publisher.Config
}

// NewEnqueuer returns an Enqueuer that builds envelopes as a Publisher of cfg would (Producer,
// Registry; the URL and the AMQP settings are the relay's and are ignored here).
func NewEnqueuer(cfg publisher.Config) *Enqueuer {
	cfg.URL = ""
	return &Enqueuer{cfg: cfg}
}

// enqueueLockClass is the first key of the producers' tenant locks ("ewoq"); the relays' are
// lockClass.
const enqueueLockClass = 0x65776f71

// lockTenant makes the producing transactions of one tenant take their turns, from their first
// Enqueue to their commit: a row's id is then drawn after every earlier transaction of its
// tenant committed, so that id order is commit order per tenant, the order the relay sends in.
const lockTenant = `SELECT pg_advisory_xact_lock($1::int4, hashtext($2))`

// insertRow stores one envelope; the NOTIFY trigger wakes the relays when tx commits.
const insertRow = `INSERT INTO ` + Table + ` (tenant_id, event_id, event_type, body, headers)
VALUES ($1, $2::uuid, $3, $4, $5::jsonb)`

// Enqueue fills ev's envelope and validates it as publisher.Publish does, and inserts it into
// the outbox in tx: it is sent when, and only if, tx commits, after every event of its tenant
// that a transaction committed before. To keep that order, tx holds a lock of the tenant from
// here to its end: another transaction enqueueing for the same tenant waits for it (keep such
// transactions short, and enqueue for several tenants in one order everywhere, or PostgreSQL
// ends one of two transactions that wait for each other as a deadlock). ctx's trace context is stored and
// sent as traceparent and tracestate. An invalid event matches registry.ErrInvalid and writes
// nothing. It returns the event as it will be sent; its ID is the event_id consumers see.
func (e *Enqueuer) Enqueue(ctx context.Context, tx Execer, ev publisher.Event) (*registry.Event, error) {
	out, body, err := publisher.Envelope(ctx, e.cfg, ev)
	if err != nil {
		return nil, fmt.Errorf("enqueue: %w", err)
	}
	headers := propagation.MapCarrier{}
	publisher.InjectTraceContext(ctx, headers)
	h, err := json.Marshal(headers)
	if err != nil {
		return nil, fmt.Errorf("enqueue %s event %s: marshal headers: %w", out.Type, out.ID, err)
	}
	if err := tx.Exec(ctx, lockTenant, enqueueLockClass, out.TenantID); err != nil {
		return nil, fmt.Errorf("enqueue %s event %s: wait for the tenant's earlier transactions: %w", out.Type, out.ID, err)
	}
	if err := tx.Exec(ctx, insertRow, out.TenantID, out.ID, out.Type, body, string(h)); err != nil {
		return nil, fmt.Errorf("enqueue %s event %s: insert into %s (run the outbox migrations first): %w",
			out.Type, out.ID, Table, err)
	}
	return out, nil
}

// EnqueuePayload enqueues d as the data of a new event of d's type for tenantID and returns its
// event_id. It is the outbox's form of every typed helper of package publisher; unlike
// publisher.ProductCreated it leaves a zero product version as it is, which the schema refuses.
func (e *Enqueuer) EnqueuePayload(ctx context.Context, tx Execer, tenantID string, d registry.Payload) (string, error) {
	ev, err := e.Enqueue(ctx, tx, publisher.Event{TenantID: tenantID, Data: d})
	if err != nil {
		return "", err
	}
	return ev.ID, nil
}
