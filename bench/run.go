package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flashstock/flashstock/persist"
)

// Scenario names, in the order a full bench runs them: spread last, so that
// the SKU actors of its million products are not in soak's memory.
var Scenarios = []string{"hotsku", "sellout", "catalog", "multi", "soak", "spread"}

// Config says what one bench invocation runs. Zero fields take the
// defaults of DefaultConfig.
type Config struct {
	Scenarios   []string
	Rounds      int // runs of each target in hotsku, multi and spread, alternating the targets
	Users       int // buyers, each with its own account and token
	Connections int // closed loop: concurrency; open loop: most requests in flight (all but hotsku)
	// HotConnections are hotsku's connection counts: every round runs every
	// target at each.
	HotConnections []int
	Rate           float64       // > 0: hotsku, catalog, multi and spread run open-loop at this rate instead of closed-loop
	Duration       time.Duration // of each measured run
	Warmup         time.Duration // unmeasured load before each closed-loop run (its orders are audited too)
	Stock          int64         // sellout: units on sale (N)
	BuyersPer      int           // sellout: buyers per unit (K): K×N orders compete for N units
	Products       int           // catalog: products (M)
	// SpreadProducts are spread's products: 1-unit orders over them
	// uniformly.
	SpreadProducts int
	Zipf           float64       // catalog: zipf exponent of product popularity (> 1)
	ReadRatio      float64       // catalog: share of requests that read a product instead of ordering
	SoakRate       float64       // soak: fixed arrival rate
	SoakFor        time.Duration // soak: duration
}

// DefaultConfig is `make bench`: about six to seven minutes on a 2-core
// machine. 256 connections: a flash sale is many buyers at once, and every
// target gets the same (the naive design's throughput hardly depends on
// it; a group commit's batches grow with it); hotsku also at 64.
func DefaultConfig() Config {
	return Config{Scenarios: Scenarios, Rounds: 3, Users: 200, Connections: 256, HotConnections: []int{64, 256},
		Duration: 5 * time.Second, Warmup: 500 * time.Millisecond, Stock: 400, BuyersPer: 5, Products: 1000,
		SpreadProducts: 1_000_000, Zipf: 1.1, ReadRatio: 0.8, SoakRate: 2000, SoakFor: 15 * time.Second}
}

// QuickConfig is `make bench-quick`: every scenario, small and short, for
// CI's audit rather than for speed.
func QuickConfig() Config {
	return Config{Scenarios: Scenarios, Rounds: 1, Users: 20, Connections: 16, HotConnections: []int{16},
		Duration: 2 * time.Second, Warmup: 500 * time.Millisecond, Stock: 100, BuyersPer: 5, Products: 50,
		SpreadProducts: 20_000, Zipf: 1.1, ReadRatio: 0.8, SoakRate: 500, SoakFor: 3 * time.Second}
}

// Limits of a bench configuration.
const (
	roundsMax         = 100
	usersMax          = 100_000
	productsMax       = persist.BenchBlockProductsMax
	hotConnectionsMax = 8 // counts in one hotsku list
	durationMax       = time.Hour
)

// Validate reports every field out of range.
func (c Config) Validate() error {
	var errs []error
	bad := func(ok bool, format string, a ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, a...))
		}
	}
	for _, s := range c.Scenarios {
		bad(slices.Contains(Scenarios, s), "unknown scenario %q (have %s)", s, strings.Join(Scenarios, ", "))
	}
	bad(len(c.Scenarios) > 0, "no scenario to run")
	bad(c.Rounds >= 1 && c.Rounds <= roundsMax, "rounds must be between 1 and %d", roundsMax)
	bad(c.Users >= 1 && c.Users <= usersMax, "users must be between 1 and %d", usersMax)
	bad(c.Connections >= 1 && c.Connections <= connectionsMax, "connections must be between 1 and %d", connectionsMax)
	bad(len(c.HotConnections) >= 1 && len(c.HotConnections) <= hotConnectionsMax,
		"hotsku connections must list 1 to %d counts", hotConnectionsMax)
	for i, n := range c.HotConnections {
		bad(n >= 1 && n <= connectionsMax, "hotsku connections must each be between 1 and %d", connectionsMax)
		bad(!slices.Contains(c.HotConnections[:i], n), "hotsku connections list %d twice", n)
	}
	bad(c.Rate >= 0, "rate must not be negative")
	bad(c.Duration > 0 && c.Duration <= durationMax, "duration must be positive and at most %s", durationMax)
	bad(c.Warmup >= 0 && c.Warmup <= durationMax, "warmup must be between 0 and %s", durationMax)
	bad(c.Stock >= 1 && c.Stock <= 1_000_000, "stock must be between 1 and 1000000")
	bad(c.BuyersPer >= 1 && c.BuyersPer <= 100, "buyers per unit must be between 1 and 100")
	bad(c.Products >= 1 && c.Products <= productsMax, "products must be between 1 and %d", productsMax)
	bad(c.SpreadProducts >= 1 && c.SpreadProducts <= productsMax, "spread products must be between 1 and %d", productsMax)
	bad(c.Zipf > 1, "zipf exponent must be above 1")
	bad(c.ReadRatio >= 0 && c.ReadRatio <= 1, "read ratio must be between 0 and 1")
	bad(c.SoakRate > 0, "soak rate must be positive")
	bad(c.SoakFor > 0 && c.SoakFor <= durationMax, "soak duration must be positive and at most %s", durationMax)
	return errors.Join(errs...)
}

// Params returns the configuration as report parameters.
func (c Config) Params() map[string]any {
	return map[string]any{"scenarios": c.Scenarios, "rounds": c.Rounds, "users": c.Users,
		"connections": c.Connections, "hotsku_connections": c.HotConnections, "rate": c.Rate,
		"duration": c.Duration.String(), "warmup": c.Warmup.String(), "stock": c.Stock,
		"buyers_per_unit": c.BuyersPer, "products": c.Products, "spread_products": c.SpreadProducts, "zipf": c.Zipf, "read_ratio": c.ReadRatio,
		"soak_rate": c.SoakRate, "soak_duration": c.SoakFor.String()}
}

// Target is one running server under test.
type Target struct {
	Name string // TargetFlashstock, TargetNaive, ...
	URL  string // http://host:port
	// RSS returns the server process's resident set in bytes; nil when
	// unknown.
	RSS func() (int64, error)
}

// Env is what the runs use: the targets (all serving the same database),
// flashstock's API for set-up, the database for the audit and for product
// blocks, a directory on the database's disk for the fsync probe, a writer
// for progress lines.
type Env struct {
	Targets []Target
	API     *API
	Auditor Auditor
	Blocks  Blocks
	// FsyncDir is where the fsync probe beside every open-loop run writes
	// its file: on the disk the database's WAL is on. Empty: no probe.
	FsyncDir string
	Log      io.Writer
}

// Execute creates the buyers, then runs every configured scenario, auditing
// every run; it returns the runs with their summaries and ratios. A failed
// audit is in the report, not an error: errors are for runs that could not
// be carried out.
func Execute(ctx context.Context, c Config, env Env) (Report, error) {
	if err := c.Validate(); err != nil {
		return Report{}, fmt.Errorf("bench: %w", err)
	}
	if target(env.Targets, TargetFlashstock) == nil {
		return Report{}, errors.New("bench: no flashstock target")
	}
	s := &suite{cfg: c, env: env, tag: strconv.FormatInt(time.Now().UnixMilli(), 36)}
	s.logf("creating %d buyers", c.Users)
	var err error
	if s.users, err = env.API.CreateUsers(ctx, "bench-"+s.tag, c.Users, "bench-"+s.tag+"-pw"); err != nil {
		return Report{}, err
	}
	for _, name := range c.Scenarios {
		if err := s.scenario(name)(ctx); err != nil {
			return Report{}, fmt.Errorf("bench: %s: %w", name, err)
		}
	}
	r := Report{Parameters: c.Params(), Runs: s.runs}
	r.Evaluate()
	return r, nil
}

// suite is the state of one invocation.
type suite struct {
	cfg   Config
	env   Env
	tag   string // makes this invocation's SKUs and user names unique
	users []User
	runs  []Run
}

func (s *suite) scenario(name string) func(context.Context) error {
	switch name {
	case "hotsku":
		return s.hotsku
	case "sellout":
		return s.sellout
	case "catalog":
		return s.catalog
	case "multi":
		return s.multi
	case "spread":
		return s.spread
	}
	return s.soak
}

func (s *suite) logf(format string, a ...any) {
	if s.env.Log != nil {
		fmt.Fprintf(s.env.Log, "bench: "+format+"\n", a...)
	}
}

// targets returns the running targets among names, in names' order.
func (s *suite) targets(names ...string) []Target {
	var ts []Target
	for _, n := range names {
		if t := target(s.env.Targets, n); t != nil {
			ts = append(ts, *t)
		}
	}
	return ts
}

func target(ts []Target, name string) *Target {
	for i := range ts {
		if ts[i].Name == name {
			return &ts[i]
		}
	}
	return nil
}
