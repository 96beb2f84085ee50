package outbox

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestCleanupAndGauges: only rows sent before the retention period are deleted, and the gauges
// count the unsent ones.
func TestCleanupAndGauges(t *testing.T) {
	t.Parallel()
	dsn := outboxDB(t)
	db := openSQL(t, dsn)
	enqueueOrders(t, db, "shop-1", 0, 5)
	// Rows 1-2 sent long ago, row 3 just now, rows 4-5 waiting for a minute.
	for _, q := range []string{
		"UPDATE " + Table + " SET sent_at = now() - interval '2 hours' WHERE id IN (SELECT id FROM " + Table + " ORDER BY id LIMIT 2)",
		"UPDATE " + Table + " SET sent_at = now() WHERE id = (SELECT id FROM " + Table + " WHERE sent_at IS NULL ORDER BY id LIMIT 1)",
		"UPDATE " + Table + " SET created_at = now() - interval '1 minute' WHERE sent_at IS NULL",
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	cfg := relayConfig(dsn, "amqp://127.0.0.1:1/", "unused")
	cfg.Retention = time.Hour
	r, err := NewRelay(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	ctx := context.Background()
	n, err := r.Cleanup(ctx)
	if err != nil || n != 2 {
		t.Errorf("Cleanup deleted %d rows (%v), want 2", n, err)
	}
	if left := countRows(t, db); left != 3 {
		t.Errorf("%d rows left, want 3", left)
	}
	r.observe(ctx)
	if w := testutil.ToFloat64(r.m.waiting); w != 2 {
		t.Errorf("waiting gauge %v, want 2", w)
	}
	if age := testutil.ToFloat64(r.m.oldestAge); age < 59 || age > 120 {
		t.Errorf("oldest age gauge %v s, want about 60", age)
	}
}
