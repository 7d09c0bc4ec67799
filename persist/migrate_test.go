package persist_test

import (
	"slices"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/flashstock/flashstock/internal/testenv"
	"github.com/flashstock/flashstock/migrations"
	"github.com/flashstock/flashstock/persist"
)

func TestMigrationNames(t *testing.T) {
	t.Parallel()
	file := &fstest.MapFile{Data: []byte("SELECT 1;")}
	ok := fstest.MapFS{"0010_b.sql": file, "0002_a.sql": file, "0001_init.sql": file}
	names, err := persist.MigrationNames(ok)
	if want := []string{"0001_init.sql", "0002_a.sql", "0010_b.sql"}; err != nil || !slices.Equal(names, want) {
		t.Errorf("MigrationNames = %v, %v; want %v", names, err, want)
	}
	bad := map[string]fstest.MapFS{
		"malformed":   {"0001_init.sql": file, "2_x.sql": file},
		"not sql":     {"0001_init.sql": file, "README.md": file},
		"upper case":  {"0001_Init.sql": file},
		"duplicate":   {"0001_init.sql": file, "0001_more.sql": file},
		"version 0":   {"0000_zero.sql": file},
		"directory":   {"0002_dir.sql/x": file},
		"five digits": {"00001_init.sql": file},
	}
	for name, fsys := range bad {
		if _, err := persist.MigrationNames(fsys); err == nil {
			t.Errorf("%s: MigrationNames succeeded, want an error", name)
		}
	}
	if _, err := persist.MigrationNames(migrations.FS); err != nil {
		t.Errorf("the embedded migrations are misnamed: %v", err)
	}
}

func TestMigrateIdempotent(t *testing.T) {
	t.Parallel()
	url := testenv.PostgresURL(t)
	s := openStore(t, url)
	all, err := persist.MigrationNames(migrations.FS)
	if err != nil {
		t.Fatal(err)
	}
	var logged []string
	applied, err := persist.Migrate(t.Context(), s, func(line string) { logged = append(logged, line) })
	if err != nil || !slices.Equal(applied, all) {
		t.Fatalf("first Migrate = %v, %v; want %v", applied, err, all)
	}
	if len(logged) != len(all) {
		t.Errorf("logged %q, want one line per migration", logged)
	}
	again, err := persist.Migrate(t.Context(), s, nil)
	if err != nil || len(again) != 0 {
		t.Fatalf("second Migrate = %v, %v; want nothing applied", again, err)
	}
	if n := countMigrations(t, url); n != len(all) {
		t.Errorf("schema_migrations has %d rows, want %d", n, len(all))
	}
}

// TestMigrateConcurrent starts four "nodes" (one pool each) migrating the
// same schema at once: all succeed and each migration is applied once.
func TestMigrateConcurrent(t *testing.T) {
	t.Parallel()
	url := testenv.PostgresURL(t)
	all, err := persist.MigrationNames(migrations.FS)
	if err != nil {
		t.Fatal(err)
	}
	const nodes = 4
	stores := make([]*persist.Store, nodes)
	for i := range stores {
		stores[i] = openStore(t, url)
	}
	results := make([][]string, nodes)
	errs := make([]error, nodes)
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() { results[i], errs[i] = persist.Migrate(t.Context(), s, nil) })
	}
	wg.Wait()
	var total []string
	for i := range nodes {
		if errs[i] != nil {
			t.Errorf("node %d: Migrate: %v", i, errs[i])
		}
		total = append(total, results[i]...)
	}
	slices.Sort(total)
	if !slices.Equal(total, all) {
		t.Errorf("applied across nodes = %v, want each of %v once", total, all)
	}
	if n := countMigrations(t, url); n != len(all) {
		t.Errorf("schema_migrations has %d rows, want %d", n, len(all))
	}
}

func countMigrations(t *testing.T, url string) int {
	t.Helper()
	var n int
	if err := rawConn(t, url).QueryRow(t.Context(), "SELECT count(*) FROM schema_migrations").Scan(&n); err != nil {
		t.Fatalf("count schema_migrations: %v", err)
	}
	return n
}
