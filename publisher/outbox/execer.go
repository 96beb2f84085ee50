package outbox

import (
	"context"
	"database/sql"

	"github.com/jackc/pgx/v5/pgconn"
)

// Execer runs one statement in the caller's transaction. SQL and Pgx adapt *sql.Tx and pgx.Tx.
type Execer interface {
	Exec(ctx context.Context, query string, args ...any) error
}

// SQLTx is what SQL needs: *sql.Tx, *sql.Conn or *sql.DB.
type SQLTx interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// PgxTx is what Pgx needs: pgx.Tx, *pgx.Conn or *pgxpool.Pool.
type PgxTx interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// SQL adapts a database/sql transaction (any PostgreSQL driver) to Execer.
func SQL(tx SQLTx) Execer { return sqlExecer{tx} }

// Pgx adapts a pgx transaction to Execer.
func Pgx(tx PgxTx) Execer { return pgxExecer{tx} }

type sqlExecer struct{ tx SQLTx }

func (e sqlExecer) Exec(ctx context.Context, query string, args ...any) error {
	_, err := e.tx.ExecContext(ctx, query, args...)
	return err
}

type pgxExecer struct{ tx PgxTx }

func (e pgxExecer) Exec(ctx context.Context, query string, args ...any) error {
	_, err := e.tx.Exec(ctx, query, args...)
	return err
}
