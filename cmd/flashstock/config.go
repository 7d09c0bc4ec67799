package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/flashstock/flashstock/actors"
	"github.com/flashstock/flashstock/engine"
	"github.com/flashstock/flashstock/usecase"
)

// Environments.
const (
	envDev  = "dev"
	envProd = "prod"
)

const jwtSecretBytesMin = 32

// nodeIDBytesMax bounds FLASHSTOCK_NODE_ID.
const nodeIDBytesMax = 128

// config is the effective configuration of one command: built-in defaults,
// overridden by FLASHSTOCK_* environment variables, overridden by flags.
type config struct {
	HTTPAddr        string
	DatabaseURL     string
	RedisURL        string
	RedisPrefix     string
	Env             string
	JWTSecret       string
	AccessTTL       time.Duration
	RefreshTTL      time.Duration
	LogLevel        string
	DataDir         string
	ShutdownTimeout time.Duration
	DBConnsMax      int
	BcryptCost      int
	HeaderBytesMax  int
	// NodeID names this node in the cluster (shard_owners); AdvertiseURL is
	// how peers reach it. Empty = derived from the host name and the HTTP
	// listen address once it is known (see nodeIdentity).
	NodeID       string
	AdvertiseURL string
	// LeaseTTL is a shard lease's validity; LeaseRedisURLs the Redis
	// servers of the leases (comma-separated: one, or 3+ for a quorum;
	// empty = RedisURL). Without Redis a node owns every shard alone.
	LeaseTTL       time.Duration
	LeaseRedisURLs string
	Seed           bool

	// Inventory core.
	Shards            int
	ActorIdle         time.Duration
	ActorsMax         int
	OrderTTL          time.Duration
	ItemsPerOrderMax  int
	ItemQuantityMax   int
	InflightPerSKUMax int
	InflightMax       int
	BatchOrdersMax    int
	BatchProductsMax  int
	Committers        int
	CommitQueueOpsMax int
	HoldTimeout       time.Duration
	RepairInterval    time.Duration
	RateOrders        engine.Rate
	RateAuth          engine.Rate
	PprofAddr         string

	// Payments and async work.
	WebhookSecret    string
	SMTPURL          string
	MailFrom         string
	AdminEmail       string
	MailAttempts     int
	MailPollInterval time.Duration
	MailBackoff      time.Duration
	MailBackoffMax   time.Duration
	TaskAttempts     int
	NodeName         string
	Schedules        map[string]engine.Schedule // by task name

	jwtGenerated     bool // JWTSecret was generated for this start (dev only)
	webhookGenerated bool // WebhookSecret is the dev one kept in the data dir
}

// settings is every configurable value, bound to c's fields; `flashstock
// serve --help` lists them, in this order they are checked and logged.
// Adding one is adding an entry here (and the field to config).
func (c *config) settings() []setting {
	s := []setting{
		{name: "http-addr", def: "127.0.0.1:8080", help: "listen address (port 0 = pick a free one and log it)",
			v: str(&c.HTTPAddr).must(hostPort)},
		{name: "env", def: envDev, help: "dev or prod (prod refuses to start without strong secrets)",
			v: str(&c.Env).must(envName)},
		{name: "database-url", help: "PostgreSQL URL; empty in dev = local database under the data dir",
			v: str(&c.DatabaseURL).must(optional(serviceURL)).masked(redact)},
		{name: "redis-url", help: "Redis URL; empty in dev = local Redis under the data dir",
			v: str(&c.RedisURL).must(optional(serviceURL)).masked(redact)},
		{name: "jwt-secret", help: "HS256 key, at least 32 bytes (dev: random per start when empty)",
			v: str(&c.JWTSecret).masked(c.jwtSecretShown)}, // checked by validateSecrets
		{name: "access-ttl", def: "15m", help: "access-token lifetime", v: dur(&c.AccessTTL).must(positive)},
		{name: "refresh-ttl", def: "168h", help: "refresh-token lifetime", v: dur(&c.RefreshTTL).must(positive)},
		{name: "log-level", def: "info", help: "zerolog level: trace, debug, info, warn, error", v: str(&c.LogLevel).must(logLevel)},
		{name: "data-dir", def: ".data", help: "dev only: where the local PostgreSQL and Redis keep their data", v: str(&c.DataDir)},
		{name: "seed", def: "true", help: "dev only: seed a demo catalogue and admin when using the local database", v: boolean(&c.Seed)},
		{name: "shutdown-timeout", def: "15s", help: "bound on draining in-flight requests at shutdown",
			v: dur(&c.ShutdownTimeout).must(positive)},
		{name: "redis-prefix", def: "flashstock:", help: "prefix of every Redis key (to share one Redis between deployments)",
			v: str(&c.RedisPrefix)},
		{name: "db-conns-max", def: "16", help: "PostgreSQL connection pool size", v: integer(&c.DBConnsMax).must(between(2, 1000))},
		{name: "bcrypt-cost", def: "10", help: "bcrypt cost of password hashes (4..31)", v: integer(&c.BcryptCost).must(between(4, 31))},
		{name: "header-bytes-max", def: "16384", help: "most bytes of a request's line and headers before 431 header_too_large (1024..1048576)",
			v: integer(&c.HeaderBytesMax).must(between(1<<10, 1<<20))},
		{name: "node-id", help: "this node's name in the cluster, unique (empty = host name + \"-\" + HTTP port)",
			v: str(&c.NodeID).must(optional(nodeID))},
		{name: "advertise-url", help: "base URL peers use to reach this node (empty = http:// + the HTTP listen address)",
			v: str(&c.AdvertiseURL).must(optional(httpURL))},
		{name: "lease-ttl", def: "10s", help: "validity of a shard lease and of a node's announcement (1s..5m); renewed every third of it",
			v: dur(&c.LeaseTTL).must(durationBetween(time.Second, 5*time.Minute))},
		{name: "lease-redis-urls", help: "comma-separated Redis URLs of the shard leases: one, or 3 or more for a Redlock quorum (empty = --redis-url)",
			v: str(&c.LeaseRedisURLs).must(optional(urlList)).masked(redactList)},

		// Inventory core. actors.Config and usecase.Config read zero as
		// "default"; here every value is given, so zero is a mistake.
		{name: "shards", def: "256", help: "number of shards products are hashed into (the unit of ownership)",
			v: integer(&c.Shards).must(atLeast(1))},
		{name: "actor-idle", def: "5m", help: "a SKU actor unused this long is passivated", v: dur(&c.ActorIdle).must(positive)},
		{name: "actors-max", def: strconv.Itoa(actors.ActorsMaxDefault),
			help: "most live SKU actors (an idle one is about 1 KiB); spawning one more passivates the least recently used idle one",
			v:    integer(&c.ActorsMax).must(atLeast(1))},
		{name: "order-ttl", def: "15m", help: "how long a pending order waits for payment before it expires",
			v: dur(&c.OrderTTL).must(positive)},
		{name: "items-per-order-max", def: "100", help: "most distinct products in one order (1..100)",
			v: integer(&c.ItemsPerOrderMax)}, // checked by engine.Limits
		{name: "item-quantity-max", def: "10000", help: "most units of one product in one order (1..10000)",
			v: integer(&c.ItemQuantityMax)}, // checked by engine.Limits
		{name: "inflight-per-sku-max", def: "4096", help: "requests in flight per product before 503 overloaded",
			v: integer(&c.InflightPerSKUMax).must(atLeast(1))},
		{name: "inflight-max", def: "65536", help: "requests in flight over all products before 503 overloaded",
			v: integer(&c.InflightMax).must(atLeast(1))},
		{name: "batch-orders-max", def: "1000", help: "most operations in one group commit",
			v: integer(&c.BatchOrdersMax).must(atLeast(1))},
		{name: "batch-products-max", def: strconv.Itoa(actors.BatchProductsMaxDefault),
			help: "most products one transaction of the commit pipeline touches", v: integer(&c.BatchProductsMax).must(atLeast(1))},
		{name: "committers", def: strconv.Itoa(actors.CommittersDefault),
			help: "transactions the commit pipeline runs at once, each on a connection of its own (1..64, fewer than --db-conns-max)",
			v:    integer(&c.Committers).must(atLeast(1))},
		{name: "commit-queue-ops-max", def: strconv.Itoa(actors.CommitQueueOpsMaxDefault),
			help: "operations waiting for the commit pipeline before 503 overloaded (at least --batch-orders-max)",
			v:    integer(&c.CommitQueueOpsMax).must(atLeast(1))},
		{name: "hold-timeout", def: "1m", help: "age after which units held for an unfinished multi-product order are returned",
			v: dur(&c.HoldTimeout).must(positive)},
		{name: "repair-interval", def: "10s", help: "how often held units left behind are looked for",
			v: dur(&c.RepairInterval).must(positive)},
		{name: "rate-orders", def: "5/m", help: "order creation per user: N/s, N/m, N/h or off", v: rate(&c.RateOrders)},
		{name: "rate-auth", def: "10/m", help: "login and registration per client IP: N/s, N/m, N/h or off", v: rate(&c.RateAuth)},
		{name: "pprof-addr", help: "serve Go's pprof profiles on this loopback address (empty = off)",
			v: str(&c.PprofAddr).must(optional(loopbackAddr))},

		// Payments and async work.
		{name: "webhook-secret",
			help: "payment webhook signing secret, whsec_ + base64 of 24-64 bytes (dev: generated and kept in the data dir when empty)",
			v:    str(&c.WebhookSecret).masked(c.webhookSecretShown)}, // checked by validateSecrets
		{name: "smtp-url",
			help: "mail server, smtp://user:pass@host:port (STARTTLS when offered; ?starttls=required|off) or smtps://; empty = log mails instead of sending",
			v:    str(&c.SMTPURL).must(optional(smtpURL)).masked(smtpURLShown)},
		{name: "mail-from", def: "flashstock <noreply@localhost>", help: "sender address of every mail", v: str(&c.MailFrom).must(mailAddress)},
		{name: "admin-email", def: "admin@localhost", help: "where low-stock alerts, daily reports and dead-letter alerts go",
			v: str(&c.AdminEmail).must(mailAddress)},
		{name: "mail-attempts", def: "8", help: "deliveries tried before a mail is dead-lettered (1..100)",
			v: integer(&c.MailAttempts).must(between(1, 100))},
		{name: "mail-poll-interval", def: "1s", help: "how often the mailer looks at the outbox", v: dur(&c.MailPollInterval).must(positive)},
		{name: "mail-backoff", def: "5s", help: "wait before a mail's first retry; doubles on each further retry, with jitter",
			v: dur(&c.MailBackoff).must(positive)},
		{name: "mail-backoff-max", def: "30m", help: "longest wait between two deliveries of a mail", v: dur(&c.MailBackoffMax).must(positive)},
		{name: "task-attempts", def: "3", help: "tries of a scheduled task run before it is dead-lettered (1..100)",
			v: integer(&c.TaskAttempts).must(between(1, 100))},
		{name: "node-name", help: "this node's name in task run records (empty = the host name)", v: str(&c.NodeName)},
	}
	// One FLASHSTOCK_SCHEDULE_<TASK> per task, logged as "schedules": {task: …}.
	for _, task := range slices.Sorted(maps.Keys(usecase.DefaultSchedules)) {
		s = append(s, setting{name: "schedule-" + strings.ReplaceAll(task, "_", "-"), def: usecase.DefaultSchedules[task].String(),
			help: "when the " + task + " task runs: an interval (e.g. 30s), daily@HH:MM (UTC) or off",
			v:    schedule(c, task), group: "schedules", key: task})
	}
	return s
}

// What the log shows of the secrets.

func (c *config) jwtSecretShown(string) string {
	if c.jwtGenerated {
		return "(random for this start)"
	}
	return "(set)"
}

func (c *config) webhookSecretShown(string) string {
	if c.webhookGenerated {
		return "(dev: kept in the data dir)"
	}
	return "(set)"
}

func smtpURLShown(u string) string {
	if u == "" {
		return "(none: mails are logged)"
	}
	return redact(u)
}

// validate checks the configuration: each setting's own check, then those
// across settings and the parts' own Validate; in dev it fills in a random
// JWT secret.
func (c *config) validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	for _, s := range c.settings() {
		if err := s.v.check(); err != nil {
			add("%s: %v", s.env(), err)
		}
	}
	if c.AccessTTL > c.RefreshTTL {
		add("FLASHSTOCK_ACCESS_TTL: must be at most FLASHSTOCK_REFRESH_TTL")
	}
	if c.Committers >= c.DBConnsMax {
		add("FLASHSTOCK_COMMITTERS: each holds a connection while it commits; must be below FLASHSTOCK_DB_CONNS_MAX (%d)", c.DBConnsMax)
	}
	if c.MailBackoffMax < c.MailBackoff {
		add("FLASHSTOCK_MAIL_BACKOFF_MAX: must be at least FLASHSTOCK_MAIL_BACKOFF")
	}
	if err := c.limits().Validate(); err != nil {
		add("FLASHSTOCK_ITEMS_PER_ORDER_MAX / FLASHSTOCK_ITEM_QUANTITY_MAX: %v", err)
	}
	for _, err := range []error{c.actorsConfig().Validate(), c.usecaseConfig().Validate(),
		c.mailerConfig().Validate(), c.tasksConfig().Validate()} {
		if err != nil {
			errs = append(errs, err)
		}
	}
	c.validateSecrets(add)
	return errors.Join(errs...)
}

func (c *config) validateSecrets(add func(string, ...any)) {
	if c.Env == envProd {
		if len(c.JWTSecret) < jwtSecretBytesMin {
			add("FLASHSTOCK_JWT_SECRET: prod needs at least %d bytes", jwtSecretBytesMin)
		}
		if c.DatabaseURL == "" {
			add("FLASHSTOCK_DATABASE_URL: required in prod")
		}
		if c.WebhookSecret == "" {
			add("FLASHSTOCK_WEBHOOK_SECRET: required in prod (whsec_ + base64 of 24-64 random bytes)")
		}
	}
	if c.WebhookSecret != "" {
		n, err := checkWebhookSecret(c.WebhookSecret)
		switch {
		case err != nil:
			add("FLASHSTOCK_WEBHOOK_SECRET: %v", err)
		case c.Env == envProd && n < webhookSecretBytesMin:
			add("FLASHSTOCK_WEBHOOK_SECRET: prod needs a key of at least %d bytes, not %d", webhookSecretBytesMin, n)
		}
	} else if c.Env == envDev {
		c.webhookGenerated = true // loaded from (or created in) the data dir when needed
	}
	if c.Env == envProd {
		return
	}
	if c.JWTSecret == "" {
		c.JWTSecret = rand.Text() + rand.Text() // 52 base32 characters, 260 bits
		c.jwtGenerated = true
	} else if len(c.JWTSecret) < jwtSecretBytesMin {
		add("FLASHSTOCK_JWT_SECRET: need at least %d bytes", jwtSecretBytesMin)
	}
}

// actorsConfig is the part of c the actors take.
func (c config) actorsConfig() actors.Config {
	return actors.Config{Shards: c.Shards, ActorIdle: c.ActorIdle, ActorsMax: c.ActorsMax, OrderTTL: c.OrderTTL,
		InflightPerSKUMax: c.InflightPerSKUMax, InflightMax: c.InflightMax, BatchOrdersMax: c.BatchOrdersMax,
		BatchProductsMax: c.BatchProductsMax, Committers: c.Committers, CommitQueueOpsMax: c.CommitQueueOpsMax}
}

// usecaseConfig is the part of c the use cases take (the order TTL as the
// actors have it: single- and multi-product orders wait alike).
func (c config) usecaseConfig() usecase.Config {
	return usecase.Config{OrderTTL: c.OrderTTL, HoldTimeout: c.HoldTimeout, RepairInterval: c.RepairInterval}
}

// mailerConfig is the part of c the mailer takes.
func (c config) mailerConfig() actors.MailerConfig {
	return actors.MailerConfig{PollInterval: c.MailPollInterval, AttemptsMax: c.MailAttempts,
		Backoff: engine.Backoff{Base: c.MailBackoff, Max: c.MailBackoffMax}}
}

// tasksConfig is the part of c the scheduled tasks take.
func (c config) tasksConfig() usecase.TasksConfig {
	return usecase.TasksConfig{Schedules: c.Schedules, AdminEmail: c.AdminEmail}
}

// runnerConfig is the part of c task runs take.
func (c config) runnerConfig() actors.RunnerConfig {
	node := c.NodeName
	if node == "" {
		node, _ = os.Hostname()
	}
	return actors.RunnerConfig{Node: node, AttemptsMax: c.TaskAttempts}
}

// limits are the per-order limits.
func (c config) limits() engine.Limits {
	return engine.Limits{ItemsPerOrderMax: c.ItemsPerOrderMax, ItemQuantityMax: int64(c.ItemQuantityMax)}
}

// log writes the effective configuration once: every setting, secrets
// masked.
func (c config) log(l zerolog.Logger) {
	e := l.Info()
	var groups []string
	dicts := map[string]*zerolog.Event{}
	for _, s := range c.settings() {
		if s.group == "" {
			e = s.v.logTo(e, s.logKey())
			continue
		}
		if dicts[s.group] == nil {
			groups = append(groups, s.group)
			dicts[s.group] = zerolog.Dict()
		}
		dicts[s.group] = s.v.logTo(dicts[s.group], s.logKey())
	}
	for _, g := range groups {
		e = e.Dict(g, dicts[g])
	}
	e.Msg("effective configuration")
}
