package persist_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/flashstock/flashstock/engine"
	"github.com/flashstock/flashstock/internal/testenv"
	"github.com/flashstock/flashstock/persist"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// openStore opens a store on url, closed when the test ends.
func openStore(t testing.TB, url string) *persist.Store {
	t.Helper()
	s, err := persist.Open(t.Context(), persist.Config{DatabaseURL: url, MaxConns: 8})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// newStore opens a store on a fresh schema with every migration applied.
func newStore(t testing.TB) (*persist.Store, string) {
	t.Helper()
	url := testenv.PostgresURL(t)
	s := openStore(t, url)
	if _, err := persist.Migrate(t.Context(), s, nil); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s, url
}

// rawConn is a plain pgx connection on url, for statements that bypass the
// store.
func rawConn(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.WithoutCancel(t.Context())) })
	return conn
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	url := "postgres://u:secret@127.0.0.1:5432/db?sslmode=disable"
	tests := []struct {
		name string
		cfg  persist.Config
		ok   bool
	}{
		{"defaults", persist.Config{DatabaseURL: url}, true},
		{"explicit", persist.Config{DatabaseURL: url, MaxConns: 4, MinConns: 4}, true},
		{"no url", persist.Config{}, false},
		{"bad url", persist.Config{DatabaseURL: "postgres://h:notaport/db"}, false},
		{"negative max", persist.Config{DatabaseURL: url, MaxConns: -1}, false},
		{"huge max", persist.Config{DatabaseURL: url, MaxConns: 100_000}, false},
		{"min above max", persist.Config{DatabaseURL: url, MaxConns: 2, MinConns: 3}, false},
		{"negative timeout", persist.Config{DatabaseURL: url, ConnectTimeout: -1}, false},
		{"negative statement timeout", persist.Config{DatabaseURL: url, StatementTimeout: -1}, false},
	}
	for _, tt := range tests {
		if err := tt.cfg.Validate(); (err == nil) != tt.ok {
			t.Errorf("%s: Validate() = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestConfigRedacted(t *testing.T) {
	t.Parallel()
	c := persist.Config{DatabaseURL: "postgres://u:secret@h/db"}.Redacted()
	if strings.Contains(c.DatabaseURL, "secret") || !strings.Contains(c.DatabaseURL, "u:xxxxx@h") {
		t.Errorf("Redacted URL = %q", c.DatabaseURL)
	}
	dsn := persist.Config{DatabaseURL: "host=h password=secret"}.Redacted()
	if strings.Contains(dsn.DatabaseURL, "secret") {
		t.Errorf("Redacted DSN = %q", dsn.DatabaseURL)
	}
}

func TestOpenUnreachableIsUnavailable(t *testing.T) {
	t.Parallel()
	_, err := persist.Open(t.Context(), persist.Config{
		DatabaseURL: "postgres://u@127.0.0.1:1/db?sslmode=disable"})
	if !errors.Is(err, engine.ErrUnavailable) {
		t.Fatalf("Open(port 1) = %v, want ErrUnavailable", err)
	}
}

func TestPing(t *testing.T) {
	t.Parallel()
	s := openStore(t, testenv.PostgresURL(t))
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

// TestSearchPathReachesPool checks that the search_path in a testenv URL is
// applied to the pool's connections: migrating one schema leaves another
// untouched.
func TestSearchPathReachesPool(t *testing.T) {
	t.Parallel()
	a, _ := newStore(t)
	b := openStore(t, testenv.PostgresURL(t))
	if _, err := a.ListProducts(t.Context(), engine.NilID, 1); err != nil {
		t.Fatalf("ListProducts on migrated schema: %v", err)
	}
	if _, err := b.ListProducts(t.Context(), engine.NilID, 1); err == nil {
		t.Fatal("ListProducts on an unmigrated schema succeeded: search_path not applied")
	}
	applied, err := persist.Migrate(t.Context(), b, nil)
	if err != nil || len(applied) == 0 {
		t.Fatalf("Migrate(second schema) = %v, %v; want migrations applied", applied, err)
	}
}
