package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/flashstock/flashstock/bench"
	"github.com/flashstock/flashstock/engine"
	"github.com/flashstock/flashstock/internal/devenv"
	"github.com/flashstock/flashstock/persist"
)

// Bench set-up.
const (
	benchBcryptCost = 4 // the bench's own accounts: hashing is not what is measured
	benchAdmin      = "bench-admin"
	benchDBConns    = 8 // the audit's pool
)

// benchRun is the world of one bench invocation: services, the migrated
// store the audit reads, and the administrator the set-up logs in as.
type benchRun struct {
	world         benchWorld
	store         *persist.Store
	fsyncDir      string // on the database's disk: the fsync probe's file goes here
	adminUser     string
	adminPassword string
}

// startBenchWorld starts (or connects to) PostgreSQL and Redis, applies
// the migrations and creates the bench administrator. stop undoes it all.
func startBenchWorld(ctx context.Context, e env, f *benchFlags) (*benchRun, func(), error) {
	var stops []func()
	stop := func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	fail := func(err error) (*benchRun, func(), error) { stop(); return nil, nil, err }
	out, err := filepath.Abs(f.out)
	if err != nil {
		return fail(err)
	}
	logFile, err := os.Create(filepath.Join(out, "services.log"))
	if err != nil {
		return fail(fmt.Errorf("bench: %w", err))
	}
	stops = append(stops, func() { _ = logFile.Close() })
	r := &benchRun{world: benchWorld{databaseURL: f.databaseURL, redisURL: f.redisURL, logDir: out}}
	if r.world.databaseURL == "" || r.world.redisURL == "" {
		fmt.Fprintf(e.stderr, "bench: starting throwaway services (their log: %s)\n", logFile.Name())
	}
	if r.world.databaseURL == "" {
		url, disk, stopPG, err := startBenchPostgres(ctx, f.dataDir, strings.Fields(f.pgSettings), logFile, e.stderr)
		if err != nil {
			return fail(err)
		}
		r.world.databaseURL, r.fsyncDir, stops = url, disk, append(stops, stopPG)
	} else {
		if err := os.MkdirAll(f.dataDir, 0o755); err != nil {
			return fail(fmt.Errorf("bench: data dir: %w", err))
		}
		r.fsyncDir = f.dataDir
	}
	if r.world.redisURL == "" {
		rd, err := devenv.StartRedis(ctx, devenv.RedisConfig{Log: logFile})
		if err != nil {
			return fail(fmt.Errorf("bench: Redis: %w", err))
		}
		r.world.redisURL = rd.URL()
		stops = append(stops, func() { _ = rd.Stop(context.Background()) })
	}
	if r.world.jwtSecret, err = randomSecret(); err != nil {
		return fail(err)
	}
	if r.store, err = persist.Open(ctx, persist.Config{DatabaseURL: r.world.databaseURL, MaxConns: benchDBConns}); err != nil {
		return fail(fmt.Errorf("bench: database: %w", err))
	}
	stops = append(stops, r.store.Close)
	if _, err := persist.Migrate(ctx, r.store, func(string) {}); err != nil {
		return fail(fmt.Errorf("bench: migrations: %w", err))
	}
	if r.adminPassword, err = randomSecret(); err != nil {
		return fail(err)
	}
	admin := engine.Registration{Username: benchAdmin + "-" + r.adminPassword[:8], Password: r.adminPassword, IsAdmin: true}
	if err := createUser(ctx, r.store, admin, benchBcryptCost); err != nil {
		return fail(fmt.Errorf("bench: administrator: %w", err))
	}
	r.adminUser = admin.Username
	return r, stop, nil
}

// startBenchPostgres starts a durable (fsync on) throwaway PostgreSQL in a
// fresh directory under dataDir, removed when it stops, with the extra
// server settings given (name=value). It returns the server's URL and a
// directory on the disk its data (and WAL) is on.
func startBenchPostgres(ctx context.Context, dataDir string, settings []string, log *os.File,
	progress io.Writer) (string, string, func(), error) {
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return "", "", nil, fmt.Errorf("bench: data dir: %w", err)
	}
	dir, err := os.MkdirTemp(dataDir, "bench-")
	if err != nil {
		return "", "", nil, fmt.Errorf("bench: data dir: %w", err)
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return "", "", nil, err
	}
	// The server runs as the unprivileged postgres user when we are root.
	if err := os.Chmod(dir, 0o755); err != nil {
		return "", "", nil, err
	}
	pg, err := devenv.StartPostgres(ctx, devenv.PostgresConfig{DataDir: filepath.Join(dir, "postgres"),
		Durable: true, Log: log, Settings: settings})
	if err != nil {
		return "", "", nil, errors.Join(fmt.Errorf("bench: PostgreSQL: %w", err), os.RemoveAll(dir))
	}
	data, relocated := pg.DataDir()
	disk := dir
	if relocated {
		fmt.Fprintf(progress, "bench: user postgres cannot enter %s, so the bench database lives in %s until the run ends\n", dir, data)
		disk = filepath.Dir(data)
	}
	return pg.URL(), disk, func() {
		_ = pg.Stop(context.Background())
		_ = os.RemoveAll(dir)
		if relocated {
			_ = os.RemoveAll(data)
		}
	}, nil
}

func randomSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("bench: random secret: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// runBench starts the targets, runs the scenarios and stops the targets.
func runBench(ctx context.Context, e env, r *benchRun, cfg bench.Config, names []string) (bench.Report, error) {
	var procs []*targetProc
	var api *bench.API
	defer func() {
		for _, p := range procs {
			if err := p.stop(); err != nil {
				fmt.Fprintf(e.stderr, "%v\n", err)
			}
		}
	}()
	env := bench.Env{Auditor: r.store, Blocks: r.store, FsyncDir: r.fsyncDir, Log: e.stderr}
	for _, name := range names {
		fmt.Fprintf(e.stderr, "bench: starting %s\n", name)
		p, err := startTarget(ctx, r.world, name)
		if err != nil {
			return bench.Report{}, err
		}
		procs = append(procs, p)
		env.Targets = append(env.Targets, p.target())
		if name == bench.TargetFlashstock {
			if api, err = bench.NewAPI(ctx, p.url, r.adminUser, r.adminPassword); err != nil {
				return bench.Report{}, err
			}
		}
	}
	env.API = api
	return bench.Execute(ctx, cfg, env)
}
