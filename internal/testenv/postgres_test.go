package testenv_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/flashstock/flashstock/internal/devenv"
	"github.com/flashstock/flashstock/internal/testenv"
)

// useSchema creates table items in the schema of dbURL, inserts name and
// checks that it sees exactly that one row, in that schema.
func useSchema(t *testing.T, dbURL, name string) {
	t.Helper()
	ctx := testContext(t)
	conn := connect(t, dbURL)
	var current string
	if err := conn.QueryRow(ctx, "SELECT current_schema()").Scan(&current); err != nil {
		t.Fatal(err)
	}
	if want := schemaOf(t, dbURL); current != want || want == "" {
		t.Fatalf("current_schema() = %q, want %q", current, want)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE items (name text)"); err != nil {
		t.Fatalf("create table: %v", err)
	}
	if _, err := conn.Exec(ctx, "INSERT INTO items VALUES ($1)", name); err != nil {
		t.Fatalf("insert: %v", err)
	}
	rows, _ := conn.Query(ctx, "SELECT name FROM items")
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(names) != 1 || names[0] != name {
		t.Fatalf("items = %q, %v; want only %q", names, err, name)
	}
}

func TestPostgresURLGivesEachCallItsOwnSchema(t *testing.T) {
	t.Parallel()
	a, b := testenv.PostgresURL(t), testenv.PostgresURL(t)
	if schemaOf(t, a) == schemaOf(t, b) {
		t.Fatalf("two calls share schema %s", schemaOf(t, a))
	}
	useSchema(t, a, "a")
	useSchema(t, b, "b")
}

func TestPostgresURLParallel(t *testing.T) {
	for i := range 8 {
		name := fmt.Sprint("test", i)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			useSchema(t, testenv.PostgresURL(t), name)
		})
	}
}

func TestPostgresURLDropsSchemaAfterTest(t *testing.T) {
	t.Parallel()
	var schema string
	t.Run("user", func(t *testing.T) {
		dbURL := testenv.PostgresURL(t)
		schema = schemaOf(t, dbURL)
		useSchema(t, dbURL, "x")
	})
	var exists bool
	conn := connect(t, os.Getenv(devenv.TestDatabaseURLEnv))
	err := conn.QueryRow(testContext(t), "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", schema).Scan(&exists)
	if err != nil || exists {
		t.Fatalf("schema %s exists after the test: %v, %v", schema, exists, err)
	}
}
