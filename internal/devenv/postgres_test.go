package devenv

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// testTimeout bounds each step of these tests.
const testTimeout = 90 * time.Second

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// reachableTempDir returns a new directory that the postgres user may
// enter when the tests run as root: t.TempDir and its parent are 0700.
func reachableTempDir(t *testing.T) string {
	dir := t.TempDir()
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func startPostgres(t *testing.T, cfg PostgresConfig) *Postgres {
	t.Helper()
	start := time.Now()
	pg, err := StartPostgres(testContext(t), cfg)
	if err != nil {
		t.Fatalf("StartPostgres: %v", err)
	}
	t.Logf("postgres ready at %s in %v", pg.URL(), time.Since(start))
	t.Cleanup(func() { _ = pg.Stop(context.Background()) })
	return pg
}

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(testContext(t), url)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func mustExec(t *testing.T, conn *pgx.Conn, sql string, args ...any) {
	t.Helper()
	if _, err := conn.Exec(testContext(t), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func TestPostgresThrowaway(t *testing.T) {
	t.Parallel()
	pg := startPostgres(t, PostgresConfig{})
	if !strings.HasPrefix(pg.URL(), "postgres://postgres@127.0.0.1:") || !strings.HasSuffix(pg.URL(), "/flashstock?sslmode=disable") {
		t.Errorf("URL() = %q", pg.URL())
	}
	conn := connect(t, pg.URL())
	var one int
	if err := conn.QueryRow(testContext(t), "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("SELECT 1 = %d, %v", one, err)
	}
	mustExec(t, conn, "CREATE TABLE items (id int PRIMARY KEY)")
	conn.Close(context.Background())

	ctx := testContext(t)
	if err := pg.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := pg.Stop(ctx); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	for _, dir := range []string{pg.dirs.data, pg.dirs.sock} {
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still there after Stop (%v)", dir, err)
		}
	}
	if err := pingPostgres(ctx, pg.URL()); err == nil {
		t.Error("server still answers after Stop")
	}
}

func TestPostgresPersistentReuse(t *testing.T) {
	t.Parallel()
	cfg := PostgresConfig{DataDir: filepath.Join(reachableTempDir(t), "pg"), Durable: true, Database: "reuse"}
	pg := startPostgres(t, cfg)
	conn := connect(t, pg.URL())
	mustExec(t, conn, "CREATE TABLE notes (body text)")
	mustExec(t, conn, "INSERT INTO notes VALUES ($1)", "kept")
	conn.Close(context.Background())

	_, err := StartPostgres(testContext(t), cfg)
	if !errors.Is(err, ErrAlreadyRunning) {
		t.Errorf("second server on the same dir: err = %v, want ErrAlreadyRunning", err)
	}
	if err := pg.Stop(testContext(t)); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, "PG_VERSION")); err != nil {
		t.Fatalf("persistent data dir gone after Stop: %v", err)
	}

	pg = startPostgres(t, cfg)
	var body string
	if err := connect(t, pg.URL()).QueryRow(testContext(t), "SELECT body FROM notes").Scan(&body); err != nil || body != "kept" {
		t.Fatalf("after restart: body = %q, %v; want kept", body, err)
	}
}

// TestPostgresDataDirTheServerCannotReach: a data dir under a directory the
// server's user may not enter (a checkout under /root, t.TempDir's 0700
// parents) still works. As root, PostgreSQL runs as user postgres: the
// cluster lives under /var/tmp, the dir asked for links to it, and a
// restart finds the same data there. As anyone else the server runs as
// that user and the data stays where it was asked for.
func TestPostgresDataDirTheServerCannotReach(t *testing.T) {
	t.Parallel()
	parent := t.TempDir() // 0700, owned by us
	cfg := PostgresConfig{DataDir: filepath.Join(parent, ".data", "postgres"), Database: "hidden"}
	pg := startPostgres(t, cfg)
	data, relocated := pg.DataDir()
	t.Cleanup(func() {
		if relocated {
			_ = os.RemoveAll(data)
		}
	})
	if os.Geteuid() == 0 {
		if !relocated || filepath.Dir(data) != relocatedDataRoot {
			t.Fatalf("as root: DataDir() = %s, %v; want a directory under %s", data, relocated, relocatedDataRoot)
		}
		if target, err := os.Readlink(cfg.DataDir); err != nil || target != data {
			t.Fatalf("%s links to %q (%v), want %s", cfg.DataDir, target, err, data)
		}
	} else if relocated || data != cfg.DataDir {
		t.Fatalf("as uid %d: DataDir() = %s, %v; want %s itself", os.Geteuid(), data, relocated, cfg.DataDir)
	}
	conn := connect(t, pg.URL())
	mustExec(t, conn, "CREATE TABLE notes (body text)")
	mustExec(t, conn, "INSERT INTO notes VALUES ($1)", "kept")
	conn.Close(context.Background())
	if err := pg.Stop(testContext(t)); err != nil {
		t.Fatalf("Stop: %v", err)
	}

	pg = startPostgres(t, cfg)
	if again, _ := pg.DataDir(); again != data {
		t.Errorf("after a restart the data is in %s, want %s again", again, data)
	}
	var body string
	if err := connect(t, pg.URL()).QueryRow(testContext(t), "SELECT body FROM notes").Scan(&body); err != nil || body != "kept" {
		t.Fatalf("after restart: body = %q, %v; want kept", body, err)
	}
}
