package outbox

import (
	"context"
	"embed"
	"fmt"
)

// Migrations holds the outbox's schema as numbered SQL files (migrations/001_outbox.sql, ...),
// for a producer's own migration tool. Each file may be run again without harm.
//
//go:embed migrations/*.sql
var Migrations embed.FS

// Table is the outbox table's name, in the first schema of the connection's search_path.
const Table = "eventworker_outbox"

// NotifyChannel is the channel that the table's trigger notifies when rows commit.
const NotifyChannel = "eventworker_outbox"

// Migrate runs every file of Migrations in order on tx, for producers without a migration tool.
func Migrate(ctx context.Context, tx Execer) error {
	entries, err := Migrations.ReadDir("migrations")
	if err != nil {
		return fmt.Errorf("read outbox migrations: %w", err)
	}
	for _, e := range entries { // ReadDir sorts by name
		b, err := Migrations.ReadFile("migrations/" + e.Name())
		if err != nil {
			return fmt.Errorf("read outbox migration %s: %w", e.Name(), err)
		}
		if err := tx.Exec(ctx, string(b)); err != nil {
			return fmt.Errorf("run outbox migration %s: %w", e.Name(), err)
		}
	}
	return nil
}
