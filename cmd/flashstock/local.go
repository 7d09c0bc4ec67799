package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/flashstock/flashstock/internal/devenv"
)

// Fixed loopback ports of the local dev services, so that a second command
// (flashstock user create, psql) finds the ones `make run` started.
const (
	localPostgresPort = 55432
	localRedisPort    = 56379
	localStartTimeout = 3 * time.Minute // includes a first-time apt-get install of redis-server
	localStopTimeout  = 30 * time.Second
)

// localServices are the PostgreSQL and Redis servers a dev command uses when
// no URLs are configured. Servers already running (started by another
// command) are reused and left running.
type localServices struct {
	stops []func(context.Context) error
}

// useLocalServices fills in c.DatabaseURL and c.RedisURL with local servers
// under c.DataDir when they are empty, starting the servers if needed. It
// does nothing outside dev, and leaves Redis alone unless withRedis. local
// reports whether the database is the local one.
func useLocalServices(ctx context.Context, c *config, progress io.Writer, withRedis bool) (ls *localServices, local bool, err error) {
	ls = &localServices{}
	if c.Env != envDev || (c.DatabaseURL != "" && (c.RedisURL != "" || !withRedis)) {
		return ls, false, nil
	}
	ctx, cancel := context.WithTimeout(ctx, localStartTimeout)
	defer cancel()
	dir, err := filepath.Abs(c.DataDir)
	if err != nil {
		return ls, false, fmt.Errorf("data dir: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return ls, false, fmt.Errorf("data dir: %w", err)
	}
	logFile, err := os.OpenFile(filepath.Join(dir, "services.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return ls, false, fmt.Errorf("data dir: %w", err)
	}
	ls.stops = append(ls.stops, func(context.Context) error { return logFile.Close() })
	fmt.Fprintf(progress, "flashstock: dev mode without database/Redis URLs: local servers under %s (their log: %s)\n",
		dir, logFile.Name())
	if c.DatabaseURL == "" {
		local = true
		if c.DatabaseURL, err = ls.postgres(ctx, filepath.Join(dir, "postgres"), logFile, progress); err != nil {
			return ls, false, errors.Join(err, ls.stop())
		}
	}
	if c.RedisURL == "" && withRedis {
		if c.RedisURL, err = ls.redis(ctx, filepath.Join(dir, "redis"), logFile, progress); err != nil {
			return ls, false, errors.Join(err, ls.stop())
		}
	}
	return ls, local, nil
}

func (ls *localServices) postgres(ctx context.Context, dir string, log, progress io.Writer) (string, error) {
	pg, err := devenv.StartPostgres(ctx, devenv.PostgresConfig{DataDir: dir, Port: localPostgresPort,
		Durable: true, Database: "flashstock", Log: log})
	if errors.Is(err, devenv.ErrAlreadyRunning) {
		fmt.Fprintf(progress, "flashstock: reusing the local PostgreSQL already running on port %d\n", localPostgresPort)
		return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/flashstock?sslmode=disable", localPostgresPort), nil
	}
	if err != nil {
		return "", fmt.Errorf("local PostgreSQL: %w", err)
	}
	ls.stops = append(ls.stops, pg.Stop)
	if data, relocated := pg.DataDir(); relocated {
		fmt.Fprintf(progress, "flashstock: user postgres cannot enter this checkout, so PostgreSQL keeps its data in %s (%s links to it)\n",
			data, dir)
	}
	fmt.Fprintf(progress, "flashstock: local PostgreSQL ready at %s\n", pg.URL())
	return pg.URL(), nil
}

func (ls *localServices) redis(ctx context.Context, dir string, log, progress io.Writer) (string, error) {
	url := fmt.Sprintf("redis://127.0.0.1:%d/0", localRedisPort)
	if conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", localRedisPort), time.Second); err == nil {
		_ = conn.Close()
		fmt.Fprintf(progress, "flashstock: reusing the local Redis already running on port %d\n", localRedisPort)
		return url, nil
	}
	fmt.Fprintf(progress, "flashstock: starting local Redis (installs redis-server first if missing)\n")
	r, err := devenv.StartRedis(ctx, devenv.RedisConfig{DataDir: dir, Port: localRedisPort, Log: log})
	if err != nil {
		return "", fmt.Errorf("local Redis: %w", err)
	}
	ls.stops = append(ls.stops, r.Stop)
	return r.URL(), nil
}

// stop stops the servers this command started, newest first.
func (ls *localServices) stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), localStopTimeout)
	defer cancel()
	var errs []error
	for i := len(ls.stops) - 1; i >= 0; i-- {
		errs = append(errs, ls.stops[i](ctx))
	}
	ls.stops = nil
	return errors.Join(errs...)
}
