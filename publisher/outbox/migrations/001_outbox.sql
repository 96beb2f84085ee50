-- The transactional outbox of eventworker's publisher/outbox package. Producers insert rows in
-- their own transactions (outbox.Enqueue); relays send the committed rows to RabbitMQ and set
-- sent_at. The table lives in the first schema of the search_path.
CREATE TABLE IF NOT EXISTS eventworker_outbox (
    id         bigserial   PRIMARY KEY,
    tenant_id  text        NOT NULL,
    event_id   uuid        NOT NULL UNIQUE,
    event_type text        NOT NULL,
    -- The exact JSON bytes that the registry validated and that go on the wire.
    body       bytea       NOT NULL,
    -- AMQP headers to send: the producer's trace context (traceparent, tracestate).
    headers    jsonb       NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    -- The inserting transaction, for diagnosis (the order per tenant comes from Enqueue's tenant
    -- lock, which makes a tenant's ids follow its commits).
    xact_id    xid8        NOT NULL DEFAULT pg_current_xact_id(),
    sent_at    timestamptz
);

-- The relays' work: unsent rows by tenant, in id order.
CREATE INDEX IF NOT EXISTS eventworker_outbox_unsent ON eventworker_outbox (tenant_id, id) WHERE sent_at IS NULL;
-- The clean-up of sent rows after the retention period.
CREATE INDEX IF NOT EXISTS eventworker_outbox_sent ON eventworker_outbox (sent_at) WHERE sent_at IS NOT NULL;

-- Wakes the relays (LISTEN eventworker_outbox) when a transaction that inserted rows commits;
-- PostgreSQL folds the notifications of one transaction into one.
CREATE OR REPLACE FUNCTION eventworker_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('eventworker_outbox', '');
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS eventworker_outbox_notify ON eventworker_outbox;
CREATE TRIGGER eventworker_outbox_notify AFTER INSERT ON eventworker_outbox
    FOR EACH STATEMENT EXECUTE FUNCTION eventworker_outbox_notify();
