package outbox

import (
	"context"
	"fmt"
)

// deleteSent deletes up to $2 rows sent more than $1 seconds ago; small chunks keep each
// transaction short.
const deleteSent = `DELETE FROM ` + Table + ` WHERE id IN (SELECT id FROM ` + Table + `
WHERE sent_at < now() - make_interval(secs => $1::float8) LIMIT $2)`

const cleanupChunk = 5000

// Cleanup deletes the rows sent longer ago than the retention period and returns how many.
func (r *Relay) Cleanup(ctx context.Context) (int64, error) {
	var total int64
	for {
		tag, err := r.pool.Exec(ctx, deleteSent, r.cfg.Retention.Seconds(), cleanupChunk)
		if err != nil {
			return total, fmt.Errorf("delete sent outbox rows: %w", err)
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < cleanupChunk {
			return total, nil
		}
	}
}
