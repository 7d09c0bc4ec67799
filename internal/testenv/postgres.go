package testenv

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/flashstock/flashstock/internal/devenv"
)

const (
	// adminConnsMax bounds the connections of the shared admin pool, which
	// only creates and drops schemas.
	adminConnsMax = 4
	// adminTimeout bounds creating or dropping one schema.
	adminTimeout = 30 * time.Second
)

// admin is the process's shared pool for creating and dropping schemas.
var admin struct {
	mu   sync.Mutex    // guards pool
	pool *pgxpool.Pool // nil until first needed
}

// PostgresURL returns a URL of the test database whose sessions use a new,
// empty schema of their own (search_path is set through the URL), so tests
// may create the same tables in parallel. The schema is dropped with
// everything in it when the test ends; close pools opened on the URL
// before that (register their Close with tb.Cleanup after calling
// PostgresURL). It fails the test if FLASHSTOCK_TEST_DATABASE_URL is unset.
// It is safe for concurrent use.
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv(devenv.TestDatabaseURLEnv)
	if base == "" {
		tb.Fatalf("testenv: %s is not set; run the tests with `make test`, or call testenv.Main from TestMain", devenv.TestDatabaseURLEnv)
	}
	schema := uniqueName()
	u, err := withSearchPath(base, schema)
	if err != nil {
		tb.Fatalf("testenv: %s: %v", devenv.TestDatabaseURLEnv, err)
	}
	pool, err := adminPool(base)
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	if _, err := pool.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		tb.Fatalf("testenv: create schema %s: %v", schema, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
		defer cancel()
		if _, err := pool.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("testenv: drop schema %s (is a transaction of the test still open?): %v", schema, err)
		}
	})
	return u
}

// withSearchPath returns base with the query parameter search_path=schema.
// pgx sends unknown URL parameters as run-time parameters at connect time.
func withSearchPath(base, schema string) (string, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", fmt.Errorf("want a postgres:// URL, got %q", base)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// adminPool returns the shared admin pool, opening it on first use.
func adminPool(url string) (*pgxpool.Pool, error) {
	admin.mu.Lock()
	defer admin.mu.Unlock()
	if admin.pool != nil {
		return admin.pool, nil
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", devenv.TestDatabaseURLEnv, err)
	}
	cfg.MaxConns = adminConnsMax
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		return nil, fmt.Errorf("open admin pool: %w", err)
	}
	admin.pool = pool
	return pool, nil
}

// closeShared closes the shared admin pool and Redis client, if open.
func closeShared() {
	admin.mu.Lock()
	if admin.pool != nil {
		admin.pool.Close()
		admin.pool = nil
	}
	admin.mu.Unlock()
	closeRedis()
}
