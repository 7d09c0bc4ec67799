package persist

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/flashstock/flashstock/migrations"
)

// migrationLockKey is the pg_advisory_lock key that serializes migration
// runs across nodes ("flashstk" in ASCII). Advisory locks are per database,
// so runs against different schemas of one database also take turns.
const migrationLockKey int64 = 0x666c_6173_6873_746b

// unlockTimeout bounds releasing the lock after the caller's context ended.
const unlockTimeout = 5 * time.Second

// migrationName is NNNN_name.sql: a four-digit version and a lower-case name.
var migrationName = regexp.MustCompile(`^([0-9]{4})_([a-z0-9_]+)\.sql$`)

// migration is one numbered SQL file.
type migration struct {
	version int
	name    string // file name, e.g. 0001_init.sql
	sql     string
}

// Migrate applies the pending migrations of migrations.FS in version order
// and returns the file names it applied (none when the schema is current).
// Each migration runs in its own transaction together with its
// schema_migrations row. A session-level advisory lock, held on one
// dedicated connection for the whole run, lets several nodes start at once:
// the first applies, the others wait and then find nothing to do. Tables are
// created in the connection's current search_path schema. log, if not nil,
// receives one line per applied migration.
func Migrate(ctx context.Context, s *Store, log func(string)) ([]string, error) {
	all, err := readMigrations(migrations.FS)
	if err != nil {
		return nil, err
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, wrapError("migrate: acquire connection", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrationLockKey); err != nil {
		return nil, wrapError("migrate: lock", err)
	}
	applied, runErr := applyPending(ctx, conn, all, log)
	return applied, errors.Join(runErr, unlock(ctx, conn))
}

// unlock releases the advisory lock even if ctx is done. If that fails the
// connection is closed, which releases the lock server-side, so that a
// connection still holding it never returns to the pool.
func unlock(ctx context.Context, conn *pgxpool.Conn) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), unlockTimeout)
	defer cancel()
	var ok bool
	err := conn.QueryRow(ctx, "SELECT pg_advisory_unlock($1)", migrationLockKey).Scan(&ok)
	if err == nil && ok {
		return nil
	}
	closeErr := conn.Conn().Close(ctx)
	if err == nil {
		err = errors.New("lock was not held")
	}
	return errors.Join(wrapError("migrate: unlock", err), closeErr)
}

func applyPending(ctx context.Context, conn *pgxpool.Conn, all []migration, log func(string)) ([]string, error) {
	const createTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    int         PRIMARY KEY,
		name       text        NOT NULL,
		applied_at timestamptz NOT NULL)`
	if _, err := conn.Exec(ctx, createTable); err != nil {
		return nil, wrapError("migrate: create schema_migrations", err)
	}
	done, err := appliedVersions(ctx, conn)
	if err != nil {
		return nil, err
	}
	var applied []string
	for _, m := range all {
		if done[m.version] {
			continue
		}
		if err := applyOne(ctx, conn, m); err != nil {
			return applied, err
		}
		applied = append(applied, m.name)
		if log != nil {
			log("applied migration " + m.name)
		}
	}
	return applied, nil
}

func appliedVersions(ctx context.Context, conn *pgxpool.Conn) (map[int]bool, error) {
	rows, err := conn.Query(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return nil, wrapError("migrate: read schema_migrations", err)
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return nil, wrapError("migrate: read schema_migrations", err)
	}
	done := make(map[int]bool, len(versions))
	for _, v := range versions {
		done[int(v)] = true
	}
	return done, nil
}

func applyOne(ctx context.Context, conn *pgxpool.Conn, m migration) error {
	return runTx(ctx, conn, pgx.TxOptions{}, "migrate: apply "+m.name, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, m.sql); err != nil {
			return err
		}
		_, err := tx.Exec(ctx,
			"INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
			m.version, m.name, time.Now().UTC())
		return err
	})
}

// readMigrations lists every NNNN_name.sql file of fsys sorted by version.
// A file with another name, or two files with one version, is an error:
// a misnamed migration must not be skipped silently.
func readMigrations(fsys fs.FS) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("migrate: list migrations: %w", err)
	}
	var all []migration
	seen := map[int]string{}
	for _, e := range entries {
		match := migrationName.FindStringSubmatch(e.Name())
		if e.IsDir() || match == nil {
			return nil, fmt.Errorf("migrate: %q is not named NNNN_name.sql", e.Name())
		}
		version, _ := strconv.Atoi(match[1]) // four digits always parse
		if version == 0 {
			return nil, fmt.Errorf("migrate: %s: versions start at 0001", e.Name())
		}
		if prev, ok := seen[version]; ok {
			return nil, fmt.Errorf("migrate: %s and %s share version %d", prev, e.Name(), version)
		}
		seen[version] = e.Name()
		body, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, fmt.Errorf("migrate: read %s: %w", e.Name(), err)
		}
		all = append(all, migration{version: version, name: e.Name(), sql: string(body)})
	}
	slices.SortFunc(all, func(a, b migration) int { return a.version - b.version })
	return all, nil
}
