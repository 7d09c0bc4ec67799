package devenv

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// initdbTimeout bounds the creation of a new cluster.
const initdbTimeout = 2 * time.Minute

// ErrAlreadyRunning reports that a live server already uses the data
// directory that StartPostgres was given.
var ErrAlreadyRunning = errors.New("a server is already running on this data directory")

// initdbIfMissing creates a cluster in dataDir unless it holds one already.
// The cluster trusts every local connection and has the superuser
// "postgres": it is for development only.
func initdbIfMissing(ctx context.Context, dataDir string, owner *serverUser, durable bool, log *logSink) error {
	_, err := os.Stat(filepath.Join(dataDir, "PG_VERSION"))
	if err == nil {
		fmt.Fprintf(log, "devenv: reusing the PostgreSQL cluster in %s\n", dataDir)
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("devenv: %w", err)
	}
	bin, err := exec.LookPath("initdb")
	if err != nil {
		return fmt.Errorf("devenv: initdb not found (install postgresql): %w", err)
	}
	args := []string{"-D", dataDir, "--auth=trust", "--username=postgres",
		"--encoding=UTF8", "--no-locale", "--no-instructions"}
	if !durable {
		args = append(args, "--no-sync")
	}
	ctx, cancel := context.WithTimeout(ctx, initdbTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = "/"
	cmd.Stdout = log
	cmd.Stderr = log
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: owner.cred, Pdeathsig: syscall.SIGKILL}
	log.ResetTail()
	fmt.Fprintf(log, "devenv: initdb %s\n", dataDir)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("devenv: initdb %s: %w; output:\n%s", dataDir, err, log.Tail())
	}
	return nil
}

// checkNotRunning returns an error wrapping ErrAlreadyRunning if
// postmaster.pid in dataDir names a live postgres process. A stale file,
// left by a killed server, is no error: postgres replaces it itself.
func checkNotRunning(dataDir string) error {
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("devenv: %w", err)
	}
	lines := strings.Split(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(lines[0]))
	if err != nil || pid <= 0 {
		return nil // malformed; postgres decides
	}
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil || strings.TrimSpace(string(comm)) != "postgres" {
		return nil // stale: that pid is gone or reused by another program
	}
	port := "?"
	if len(lines) > 3 {
		port = strings.TrimSpace(lines[3])
	}
	return fmt.Errorf("devenv: %w: %s (postgres pid %d, port %s); stop it or use another data directory",
		ErrAlreadyRunning, dataDir, pid, port)
}

// ensureDatabase creates database name unless it exists.
func ensureDatabase(ctx context.Context, adminURL, name string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("devenv: connect to create database %q: %w", name, err)
	}
	defer conn.Close(context.Background())
	var exists bool
	err = conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists)
	if err != nil {
		return fmt.Errorf("devenv: look up database %q: %w", name, err)
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // duplicate_database: created meanwhile
		return nil
	}
	if err != nil {
		return fmt.Errorf("devenv: create database %q: %w", name, err)
	}
	return nil
}
