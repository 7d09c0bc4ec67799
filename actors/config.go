package actors

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/flashstock/flashstock/engine"
)

// Defaults for Config fields left zero.
const (
	ShardsDefault            = 256
	ActorIdleDefault         = 5 * time.Minute
	ActorsMaxDefault         = 100_000
	InflightPerSKUMaxDefault = 4096
	InflightMaxDefault       = 65536
	BatchOrdersMaxDefault    = 1000
	BatchBytesMaxDefault     = 1 << 20
	BatchProductsMaxDefault  = 1000
	CommittersDefault        = 1
	CommitQueueOpsMaxDefault = 65536
	LoadBatchMaxDefault      = 1000
	LoadQueueMaxDefault      = 65536
	CommitTimeoutDefault     = 5 * time.Second
	LoadTimeoutDefault       = 5 * time.Second
	CrashesMaxDefault        = 3
	CrashWindowDefault       = time.Minute
	CrashBackoffDefault      = time.Second
	crashBackoffMax          = 30 * time.Second
	// skuInboxSize is the initial inbox of a SKU actor: the smallest that
	// holds a message without growing (hollywood's ring holds one less
	// than its size, and doubles when full), since idle actors must cost
	// little (the inbox of a busy one grows, and stays grown).
	skuInboxSize = 2
	// shardsMax bounds the shard count (each shard is a mutex and a map).
	shardsMax = 1 << 16
	// committersMax bounds the transactions in flight (each a connection).
	committersMax = 64
	// loadBatchMaxMax is what one load query may read (persist's bound).
	loadBatchMaxMax = 10_000
)

// Config tunes the actors. Zero fields take the defaults above.
type Config struct {
	// Shards is the number of shards products are hashed into; the shard
	// is the unit of ownership the cluster work will lease.
	Shards int
	// ActorIdle is how long a SKU actor may stay unused before it is
	// passivated (stopped; the next request spawns it again).
	ActorIdle time.Duration
	// ActorsMax caps the live SKU actors: spawning one more first
	// passivates the least recently used with nothing in flight
	// (approximately: see Inventory's eviction). An idle actor costs about
	// 1 KiB of heap.
	ActorsMax int
	// OrderTTL is how long a pending order waits for payment (the SKU
	// actors make single-product orders; usecase.Config has the same for
	// multi-product ones).
	OrderTTL time.Duration
	// InflightPerSKUMax and InflightMax bound the requests admitted to one
	// SKU actor and to all of them; beyond either, engine.ErrOverloaded.
	InflightPerSKUMax int
	InflightMax       int
	// BatchOrdersMax, BatchBytesMax and BatchProductsMax bound one
	// transaction of the commit pipeline (operations, an estimate of the
	// bytes sent, and products touched); BatchOrdersMax and BatchBytesMax
	// also bound one SKU actor's contribution.
	BatchOrdersMax   int
	BatchBytesMax    int
	BatchProductsMax int
	// Committers is the number of transactions the commit pipeline runs at
	// once (each on its own connection); CommitQueueOpsMax bounds the
	// operations waiting for one (beyond: engine.ErrOverloaded).
	Committers        int
	CommitQueueOpsMax int
	// LoadBatchMax bounds the products one load query reads, LoadQueueMax
	// the loads waiting (beyond: engine.ErrOverloaded).
	LoadBatchMax int
	LoadQueueMax int
	// CommitTimeout bounds one group commit, LoadTimeout one product load.
	CommitTimeout time.Duration
	LoadTimeout   time.Duration
	// CrashesMax crashes of one SKU actor within CrashWindow put it in
	// back-off: it answers engine.ErrUnavailable for CrashBackoff (doubling
	// on each further back-off, up to 30 s) instead of spinning.
	CrashesMax   int
	CrashWindow  time.Duration
	CrashBackoff time.Duration
	// Observer receives commits; nil = NopObserver.
	Observer Observer
	// Knobs are hooks for tests (nil in production).
	Knobs *TestingKnobs
}

// TestingKnobs lets tests inject failures where no port can: inside an
// actor's Receive. Nil fields do nothing.
type TestingKnobs struct {
	// BeforeDecide runs in a SKU actor before it decides a request (a panic
	// there is an actor crash).
	BeforeDecide func(product engine.ID)
}

func (c Config) withDefaults() Config {
	orDefault(&c.Shards, ShardsDefault)
	orDefault(&c.ActorsMax, ActorsMaxDefault)
	orDefault(&c.InflightPerSKUMax, InflightPerSKUMaxDefault)
	orDefault(&c.InflightMax, InflightMaxDefault)
	orDefault(&c.BatchOrdersMax, BatchOrdersMaxDefault)
	orDefault(&c.BatchBytesMax, BatchBytesMaxDefault)
	orDefault(&c.BatchProductsMax, BatchProductsMaxDefault)
	orDefault(&c.Committers, CommittersDefault)
	orDefault(&c.CommitQueueOpsMax, CommitQueueOpsMaxDefault)
	orDefault(&c.LoadBatchMax, LoadBatchMaxDefault)
	orDefault(&c.LoadQueueMax, LoadQueueMaxDefault)
	orDefault(&c.CrashesMax, CrashesMaxDefault)
	orDefault(&c.ActorIdle, ActorIdleDefault)
	orDefault(&c.OrderTTL, engine.OrderTTLDefault)
	orDefault(&c.CommitTimeout, CommitTimeoutDefault)
	orDefault(&c.LoadTimeout, LoadTimeoutDefault)
	orDefault(&c.CrashWindow, CrashWindowDefault)
	orDefault(&c.CrashBackoff, CrashBackoffDefault)
	orDefault(&c.Observer, Observer(NopObserver{}))
	return c
}

// orDefault sets a zero config field to its default.
func orDefault[T comparable](field *T, def T) {
	var zero T
	if *field == zero {
		*field = def
	}
}

// Validate reports every unusable field, after defaults are applied.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	add := func(ok bool, format string, a ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, a...))
		}
	}
	add(c.Shards >= 1 && c.Shards <= shardsMax, "shards: must be between 1 and %d", shardsMax)
	add(c.ActorsMax >= 1, "actors max: must be at least 1")
	add(c.InflightPerSKUMax >= 1 && c.InflightPerSKUMax <= c.InflightMax && c.InflightPerSKUMax <= math.MaxInt32,
		"in-flight limits: need 1 <= per SKU <= overall, per SKU <= %d", math.MaxInt32)
	add(c.BatchOrdersMax >= 1 && c.BatchBytesMax >= 1<<10 && c.BatchProductsMax >= 1,
		"batch limits: need >= 1 order, >= 1 KiB and >= 1 product")
	add(c.Committers >= 1 && c.Committers <= committersMax, "committers: must be between 1 and %d", committersMax)
	add(c.CommitQueueOpsMax >= c.BatchOrdersMax, "commit queue: must hold at least one batch (%d operations)", c.BatchOrdersMax)
	add(c.LoadBatchMax >= 1 && c.LoadBatchMax <= loadBatchMaxMax, "load batch: must be between 1 and %d", loadBatchMaxMax)
	add(c.LoadQueueMax >= 1, "load queue: must be at least 1")
	add(c.CrashesMax >= 1, "crashes max: must be at least 1")
	for name, d := range map[string]time.Duration{"actor idle": c.ActorIdle, "order ttl": c.OrderTTL,
		"commit timeout": c.CommitTimeout, "load timeout": c.LoadTimeout, "crash window": c.CrashWindow,
		"crash backoff": c.CrashBackoff} {
		add(d > 0, "%s: must be positive", name)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("actors config: %w", err)
	}
	return nil
}
