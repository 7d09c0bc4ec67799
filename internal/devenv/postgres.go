package devenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os/exec"
	"strconv"
	"sync"
	"syscall"

	"github.com/jackc/pgx/v5"
)

// defaultDatabase is the database StartPostgres creates when
// PostgresConfig.Database is empty.
const defaultDatabase = "flashstock"

// PostgresConfig says how to run a PostgreSQL server.
type PostgresConfig struct {
	// DataDir holds the cluster. An existing cluster (one with PG_VERSION)
	// is reused; otherwise initdb creates one. Empty means a temporary
	// directory that Stop removes.
	DataDir string
	// Port is the TCP port on 127.0.0.1; 0 picks a free one.
	Port int
	// Durable keeps fsync, synchronous_commit and full_page_writes on.
	// When false they are off: much faster, but a machine crash may corrupt
	// the cluster, so use false only for throwaway data.
	Durable bool
	// Database is created if missing; empty means "flashstock".
	Database string
	// Settings are extra server settings, each "name=value" (passed as -c).
	Settings []string
	// Log receives the server's output and progress lines; nil discards
	// them. Writes from one server are serialized; a writer shared by two
	// servers must be safe for concurrent use.
	Log io.Writer
}

// Postgres is a PostgreSQL server started by StartPostgres. It runs until
// Stop; its methods are safe for concurrent use.
type Postgres struct {
	url  string
	proc *process
	dirs pgDirs

	mu      sync.Mutex // guards stopped and stopErr
	stopped bool
	stopErr error
}

// URL returns the connection URL of the configured database, for example
// postgres://postgres@127.0.0.1:54321/flashstock?sslmode=disable.
func (pg *Postgres) URL() string { return pg.url }

// DataDir returns the directory the cluster lives in, and, when that is not
// the PostgresConfig.DataDir asked for (the server's user could not reach
// it, so it lives under /var/tmp and DataDir links to it), relocated true.
func (pg *Postgres) DataDir() (dir string, relocated bool) { return pg.dirs.data, pg.dirs.linked != "" }

// StartPostgres initializes the cluster if needed, starts the server as a
// child process, waits until it accepts connections and creates the
// database if missing. It returns an error wrapping ErrAlreadyRunning if a
// live server already uses DataDir. ctx bounds only the start.
func StartPostgres(ctx context.Context, cfg PostgresConfig) (*Postgres, error) {
	if cfg.Database == "" {
		cfg.Database = defaultDatabase
	}
	log := newLogSink(cfg.Log)
	owner, err := postgresUser()
	if err != nil {
		return nil, err
	}
	dirs, err := newPGDirs(cfg.DataDir, owner)
	if err != nil {
		return nil, err
	}
	pg, err := startPostgresIn(ctx, cfg, dirs, owner, log)
	if err != nil {
		return nil, errors.Join(err, dirs.remove())
	}
	return pg, nil
}

// startPostgresIn runs the steps of StartPostgres that follow the
// preparation of its directories; the caller removes them on error.
func startPostgresIn(ctx context.Context, cfg PostgresConfig, dirs pgDirs, owner *serverUser, log *logSink) (*Postgres, error) {
	if err := initdbIfMissing(ctx, dirs.data, owner, cfg.Durable, log); err != nil {
		return nil, err
	}
	if err := checkNotRunning(dirs.data); err != nil {
		return nil, err
	}
	bin, err := exec.LookPath("postgres")
	if err != nil {
		return nil, fmt.Errorf("devenv: PostgreSQL server binary not found (install postgresql): %w", err)
	}
	for attempt := 1; ; attempt++ {
		port := cfg.Port
		if port == 0 {
			if port, err = FreePort(); err != nil {
				return nil, err
			}
		}
		pg, err := runPostgres(ctx, bin, cfg, dirs, owner, port, log)
		if err == nil {
			return pg, nil
		}
		if cfg.Port != 0 || attempt == portAttemptsMax || !errors.Is(err, errPortTaken) {
			return nil, err
		}
		fmt.Fprintf(log, "devenv: postgres port %d was taken; retrying on another\n", port)
	}
}

// runPostgres starts the server on port, waits for it and creates the
// database. On error the server is stopped again.
func runPostgres(ctx context.Context, bin string, cfg PostgresConfig, dirs pgDirs, owner *serverUser, port int, log *logSink) (*Postgres, error) {
	args := []string{"-D", dirs.data, "-p", strconv.Itoa(port), "-k", dirs.sock,
		"-c", "listen_addresses=127.0.0.1"}
	if !cfg.Durable {
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	for _, s := range cfg.Settings {
		args = append(args, "-c", s)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = "/"
	log.ResetTail()
	fmt.Fprintf(log, "devenv: starting postgres on 127.0.0.1:%d, data in %s\n", port, dirs.data)
	// SIGINT is PostgreSQL's fast shutdown; SIGTERM would wait for clients
	// that may outlive us.
	proc, err := startProcess("postgres", cmd, log, owner.cred, syscall.SIGINT)
	if err != nil {
		return nil, err
	}
	pg := &Postgres{url: postgresURL(port, cfg.Database), proc: proc, dirs: dirs}
	adminURL := postgresURL(port, "postgres")
	err = waitReady(ctx, proc, log, func(ctx context.Context) error { return pingPostgres(ctx, adminURL) })
	if err == nil {
		err = ensureDatabase(ctx, adminURL, cfg.Database)
	}
	if err != nil {
		return nil, errors.Join(err, proc.stop(context.Background(), syscall.SIGINT))
	}
	return pg, nil
}

// Stop shuts the server down (fast shutdown: sessions are disconnected)
// and removes its temporary directories. It kills the server if it has not
// exited within 30 s or when ctx is done. Calling Stop again returns the
// first call's result.
func (pg *Postgres) Stop(ctx context.Context) error {
	pg.mu.Lock()
	defer pg.mu.Unlock()
	if !pg.stopped {
		pg.stopped = true
		pg.stopErr = errors.Join(pg.proc.stop(ctx, syscall.SIGINT), pg.dirs.remove())
	}
	return pg.stopErr
}

func postgresURL(port int, database string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", port, url.PathEscape(database))
}

func pingPostgres(ctx context.Context, url string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	return conn.Close(ctx)
}
