package testenv

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
)

// PostgresDSN returns the DSN of the test PostgreSQL (EVENTWORKER_TEST_POSTGRES_DSN, by default
// the machine's postgres user on database test), after checking that it answers a query.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	dsn := getenv("EVENTWORKER_TEST_POSTGRES_DSN", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		Unavailable(t, "PostgreSQL at %s: %v", redact(dsn), err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		Unavailable(t, "PostgreSQL at %s: %v", redact(dsn), err)
	}
	return dsn
}

// PostgresSchema creates a schema unique to the test, drops it with everything in it when the
// test ends, and returns a DSN whose search_path is that schema. The test DSN must be a
// postgres:// URL.
func PostgresSchema(t testing.TB) string {
	t.Helper()
	dsn := PostgresDSN(t)
	schema := "ewtest_" + Name("s")[2:]
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(fmt.Sprintf("CREATE SCHEMA %s", schema)); err != nil {
		t.Fatalf("create schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		defer db.Close()
		if _, err := db.Exec(fmt.Sprintf("DROP SCHEMA %s CASCADE", schema)); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + "search_path=" + schema
}
