package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flashstock/flashstock/bench"
)

const benchUsage = "bench [--quick] [--scenarios hotsku,sellout,...] [--targets flashstock,naive,...] [flags]"

const benchAbout = `Starts a throwaway PostgreSQL (fsync on) and Redis, then flashstock and the
baselines as child processes of this binary, all on the same database:
  naive      POST /orders/ locking the product row per order (SELECT ... FOR UPDATE)
  redislock  the original design: a Redis lock per product, then a transaction
  ceiling    a trivial handler answering a fixed JSON body
Scenarios: hotsku (one product, every target in turn at each --hotsku-connections
count, then flashstock open-loop at half its maximum), sellout (N units, K*N
buyers), catalog (zipf product reads and orders), multi (3-item orders), spread
(1-unit orders uniformly over --products products, inserted in bulk), soak (fixed
rate). Every run is audited from the database; a mismatch exits 1. The servers'
resident memory is sampled in every run; beside every open-loop run a probe times
8 KiB fdatasyncs on the database's disk. Reports go to --out.
`

// benchFlags are the command line of flashstock bench. Numbers and
// durations given on the command line override the defaults of the mode
// (full or --quick); the rest keep them.
type benchFlags struct {
	quick       bool
	scenarios   string
	targets     string
	out         string
	dataDir     string
	databaseURL string
	hotConns    string
	redisURL    string
	pgSettings  string
	cfg         bench.Config
	set         map[string]bool // flags given on the command line
}

func defineBenchFlags(fs *flag.FlagSet) *benchFlags {
	f := &benchFlags{}
	d, q := bench.DefaultConfig(), bench.QuickConfig()
	quick := func(v any) string { return fmt.Sprintf(" (--quick: %v)", v) }
	fs.BoolVar(&f.quick, "quick", false, "every scenario small and short (about a minute): for the audit, not for speed")
	fs.StringVar(&f.scenarios, "scenarios", strings.Join(bench.Scenarios, ","), "comma-separated scenarios to run")
	fs.StringVar(&f.targets, "targets", strings.Join(allTargets, ","), "comma-separated targets: flashstock and the baselines to compare it with")
	fs.StringVar(&f.out, "out", "bench-results", "directory for report.json, summary.txt, latency-*.svg and the servers' logs")
	fs.StringVar(&f.dataDir, "data-dir", ".data", "where the throwaway PostgreSQL lives during the run (removed after); with --database-url, where the fsync probe writes (put it on that database's disk)")
	fs.StringVar(&f.databaseURL, "database-url", "", "bench against this PostgreSQL (empty = a throwaway local server, fsync on); it must be disposable")
	fs.StringVar(&f.pgSettings, "pg-settings", "", "extra settings of the throwaway PostgreSQL, space-separated name=value (e.g. \"shared_buffers=1GB max_wal_size=8GB\")")
	fs.StringVar(&f.redisURL, "redis-url", "", "Redis for flashstock and the redislock baseline (empty = a throwaway local server)")
	fs.IntVar(&f.cfg.Rounds, "rounds", d.Rounds, "runs of each target in hotsku, multi and spread, alternating the targets"+quick(q.Rounds))
	fs.IntVar(&f.cfg.Users, "users", d.Users, "buyers, each with an account and a token"+quick(q.Users))
	fs.IntVar(&f.cfg.Connections, "connections", d.Connections, "closed loop: concurrency; open loop: most requests in flight (every scenario but hotsku)"+quick(q.Connections))
	fs.StringVar(&f.hotConns, "hotsku-connections", joinInts(d.HotConnections), "hotsku: comma-separated connection counts, each run by every target every round"+quick(joinInts(q.HotConnections)))
	fs.Float64Var(&f.cfg.Rate, "rate", 0, "requests/s: run hotsku, catalog, multi and spread open-loop at this arrival rate (0 = closed loop)")
	fs.DurationVar(&f.cfg.Duration, "duration", d.Duration, "of each measured run"+quick(q.Duration))
	fs.DurationVar(&f.cfg.Warmup, "warmup", d.Warmup, "unmeasured load before each closed-loop run"+quick(q.Warmup))
	fs.Int64Var(&f.cfg.Stock, "stock", d.Stock, "sellout: units on sale"+quick(q.Stock))
	fs.IntVar(&f.cfg.BuyersPer, "buyers-per-unit", d.BuyersPer, "sellout: buyers per unit"+quick(q.BuyersPer))
	fs.IntVar(&f.cfg.Products, "products", 0, fmt.Sprintf("catalog and spread: products (default: catalog %d, spread %d; --quick: %d and %d)",
		d.Products, d.SpreadProducts, q.Products, q.SpreadProducts))
	fs.Float64Var(&f.cfg.Zipf, "zipf", d.Zipf, "catalog: zipf exponent of product popularity (> 1)")
	fs.Float64Var(&f.cfg.ReadRatio, "read-ratio", d.ReadRatio, "catalog: share of requests that read a product")
	fs.Float64Var(&f.cfg.SoakRate, "soak-rate", d.SoakRate, "soak: requests/s"+quick(q.SoakRate))
	fs.DurationVar(&f.cfg.SoakFor, "soak-duration", d.SoakFor, "soak: duration"+quick(q.SoakFor))
	return f
}

var allTargets = []string{bench.TargetFlashstock, bench.TargetNaive, bench.TargetRedisLock, bench.TargetCeiling}

// config returns the mode's configuration with the flags given applied,
// and the targets.
func (f *benchFlags) config() (bench.Config, []string, error) {
	c := bench.DefaultConfig()
	if f.quick {
		c = bench.QuickConfig()
	}
	g := f.cfg
	for name, apply := range map[string]func(){
		"rounds": func() { c.Rounds = g.Rounds }, "users": func() { c.Users = g.Users },
		"connections": func() { c.Connections = g.Connections }, "rate": func() { c.Rate = g.Rate },
		"duration": func() { c.Duration = g.Duration }, "warmup": func() { c.Warmup = g.Warmup },
		"stock": func() { c.Stock = g.Stock }, "buyers-per-unit": func() { c.BuyersPer = g.BuyersPer },
		"products": func() { c.Products, c.SpreadProducts = g.Products, g.Products }, "zipf": func() { c.Zipf = g.Zipf },
		"read-ratio": func() { c.ReadRatio = g.ReadRatio }, "soak-rate": func() { c.SoakRate = g.SoakRate },
		"soak-duration": func() { c.SoakFor = g.SoakFor },
	} {
		if f.set[name] {
			apply()
		}
	}
	c.Scenarios = splitList(f.scenarios)
	targets := splitList(f.targets)
	var errs []error
	if f.set["hotsku-connections"] {
		counts, err := parseInts(f.hotConns)
		if err != nil {
			errs = append(errs, fmt.Errorf("hotsku-connections: %w", err))
		}
		c.HotConnections = counts
	}
	for _, t := range targets {
		if !slices.Contains(allTargets, t) {
			errs = append(errs, fmt.Errorf("unknown target %q (have %s)", t, strings.Join(allTargets, ", ")))
		}
	}
	for _, kv := range strings.Fields(f.pgSettings) {
		if name, _, ok := strings.Cut(kv, "="); !ok || name == "" {
			errs = append(errs, fmt.Errorf("pg-settings: %q is not name=value", kv))
		}
	}
	if !slices.Contains(targets, bench.TargetFlashstock) {
		errs = append(errs, errors.New("targets must include flashstock"))
	}
	errs = append(errs, c.Validate())
	if err := errors.Join(errs...); err != nil {
		return c, nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	return c, targets, nil
}

// parseInts parses a comma-separated list of integers.
func parseInts(s string) ([]int, error) {
	var out []int
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		n, err := strconv.Atoi(p)
		if err != nil {
			return nil, fmt.Errorf("%q is not a whole number", p)
		}
		out = append(out, n)
	}
	return out, nil
}

// joinInts is parseInts' inverse.
func joinInts(ns []int) string {
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts, ",")
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

func cmdBench(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "bench", benchUsage)
	f := defineBenchFlags(fs)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: flashstock %s\n\n%s\nFlags:\n", benchUsage, benchAbout)
		fs.PrintDefaults()
	}
	if err := parseFlags(e, fs, args, fs.Parse); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	f.set = map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { f.set[fl.Name] = true })
	cfg, targets, err := f.config()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(f.out, 0o755); err != nil {
		return fmt.Errorf("bench: output directory: %w", err)
	}
	started := time.Now()
	w, stopWorld, err := startBenchWorld(ctx, e, f)
	if err != nil {
		return err
	}
	defer stopWorld()
	report, err := runBench(ctx, e, w, cfg, targets)
	if ctx.Err() != nil {
		return errors.New("bench: interrupted; nothing reported, services stopped")
	}
	if err != nil {
		return err
	}
	report.StartedAt, report.Duration = started.UTC(), time.Since(started)
	report.Commit, report.Version, report.GoVersion, report.CPUs = commit, version, runtime.Version(), runtime.NumCPU()
	return writeBenchReport(e, f.out, report)
}
