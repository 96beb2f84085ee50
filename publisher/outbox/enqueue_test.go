package outbox

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/eventworker/eventworker/internal/testenv"
	"github.com/eventworker/eventworker/publisher"
	"github.com/eventworker/eventworker/registry"
)

// outboxDB returns a DSN whose search_path is a fresh schema holding the migrated outbox.
func outboxDB(t *testing.T) string {
	t.Helper()
	dsn := testenv.PostgresSchema(t)
	db := openSQL(t, dsn)
	if err := Migrate(context.Background(), SQL(db)); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	// Migrations may run again.
	if err := Migrate(context.Background(), SQL(db)); err != nil {
		t.Fatalf("Migrate again: %v", err)
	}
	return dsn
}

func openSQL(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func countRows(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM " + Table).Scan(&n); err != nil {
		t.Fatalf("count: %v", err)
	}
	return n
}

func order(id string) registry.OrderCreated {
	return registry.OrderCreated{OrderID: id, CustomerID: "c-1", CustomerEmail: "a@example.com", AmountMinor: 1000, Currency: "EUR"}
}

func TestEnqueueSQLTx(t *testing.T) {
	t.Parallel()
	db := openSQL(t, outboxDB(t))
	enq := NewEnqueuer(publisher.Config{Producer: "orders"})
	ctx := context.Background()

	tests := []struct {
		name     string
		payload  registry.Payload
		commit   bool
		wantRows int
		wantErr  error
	}{
		{name: "rollback leaves no row", payload: order("o-1"), commit: false, wantRows: 0},
		{name: "commit leaves one row", payload: order("o-2"), commit: true, wantRows: 1},
		{name: "invalid event refused", payload: registry.OrderCreated{OrderID: "o-3"}, commit: true, wantRows: 1, wantErr: registry.ErrInvalid},
	}
	for _, tt := range tests {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = enq.EnqueuePayload(ctx, SQL(tx), "shop-1", tt.payload)
		if !errors.Is(err, tt.wantErr) {
			t.Errorf("%s: EnqueuePayload error %v, want %v", tt.name, err, tt.wantErr)
		}
		if tt.commit {
			err = tx.Commit()
		} else {
			err = tx.Rollback()
		}
		if err != nil {
			t.Fatalf("%s: end tx: %v", tt.name, err)
		}
		if got := countRows(t, db); got != tt.wantRows {
			t.Errorf("%s: %d rows, want %d", tt.name, got, tt.wantRows)
		}
	}
}

func TestEnqueuePgxTx(t *testing.T) {
	t.Parallel()
	dsn := outboxDB(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ctx = publisher.WithCorrelationID(ctx, "corr-1")
	ev, err := NewEnqueuer(publisher.Config{Producer: "orders"}).Enqueue(ctx, Pgx(tx), publisher.Event{TenantID: "shop-1", Data: order("o-1")})
	if err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	var id, typ, tenant string
	var body []byte
	if err := conn.QueryRow(ctx, "SELECT event_id::text, event_type, tenant_id, body FROM "+Table).Scan(&id, &typ, &tenant, &body); err != nil {
		t.Fatal(err)
	}
	if id != ev.ID || typ != "order.created" || tenant != "shop-1" {
		t.Errorf("row (%s, %s, %s), want (%s, order.created, shop-1)", id, typ, tenant, ev.ID)
	}
	reg, err := registry.Default()
	if err != nil {
		t.Fatal(err)
	}
	got, err := reg.Validate(typ, body)
	if err != nil {
		t.Fatalf("stored body invalid: %v", err)
	}
	if got.CorrelationID != "corr-1" || got.Producer != "orders" {
		t.Errorf("stored envelope correlation %q producer %q, want corr-1 and orders", got.CorrelationID, got.Producer)
	}
}
