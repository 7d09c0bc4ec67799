package main

import (
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/mail"
	"net/url"
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
	Seed         bool

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

// setting binds one config field to its environment variable and flag.
type setting struct {
	env, flag, usage, def string
	set                   func(c *config, v string) error
	secret                bool
}

func str(dst func(*config) *string) func(*config, string) error {
	return func(c *config, v string) error { *dst(c) = v; return nil }
}

func dur(dst func(*config) *time.Duration) func(*config, string) error {
	return func(c *config, v string) error {
		d, err := time.ParseDuration(v)
		*dst(c) = d
		return err
	}
}

func integer(dst func(*config) *int) func(*config, string) error {
	return func(c *config, v string) error {
		n, err := strconv.Atoi(v)
		*dst(c) = n
		return err
	}
}

func boolean(dst func(*config) *bool) func(*config, string) error {
	return func(c *config, v string) error {
		b, err := strconv.ParseBool(v)
		*dst(c) = b
		return err
	}
}

func rate(dst func(*config) *engine.Rate) func(*config, string) error {
	return func(c *config, v string) error {
		r, err := engine.ParseRate(v)
		*dst(c) = r
		return err
	}
}

// settings is every configurable value; `flashstock serve --help` lists them.
var settings = []setting{
	{"FLASHSTOCK_HTTP_ADDR", "http-addr", "listen address (port 0 = pick a free one and log it)", "127.0.0.1:8080",
		str(func(c *config) *string { return &c.HTTPAddr }), false},
	{"FLASHSTOCK_DATABASE_URL", "database-url", "PostgreSQL URL; empty in dev = local database under the data dir", "",
		str(func(c *config) *string { return &c.DatabaseURL }), true},
	{"FLASHSTOCK_REDIS_URL", "redis-url", "Redis URL; empty in dev = local Redis under the data dir", "",
		str(func(c *config) *string { return &c.RedisURL }), true},
	{"FLASHSTOCK_REDIS_PREFIX", "redis-prefix", "prefix of every Redis key (to share one Redis between deployments)", "flashstock:",
		str(func(c *config) *string { return &c.RedisPrefix }), false},
	{"FLASHSTOCK_ENV", "env", "dev or prod (prod refuses to start without strong secrets)", envDev,
		str(func(c *config) *string { return &c.Env }), false},
	{"FLASHSTOCK_JWT_SECRET", "jwt-secret", "HS256 key, at least 32 bytes (dev: random per start when empty)", "",
		str(func(c *config) *string { return &c.JWTSecret }), true},
	{"FLASHSTOCK_ACCESS_TTL", "access-ttl", "access-token lifetime", "15m",
		dur(func(c *config) *time.Duration { return &c.AccessTTL }), false},
	{"FLASHSTOCK_REFRESH_TTL", "refresh-ttl", "refresh-token lifetime", "168h",
		dur(func(c *config) *time.Duration { return &c.RefreshTTL }), false},
	{"FLASHSTOCK_LOG_LEVEL", "log-level", "zerolog level: trace, debug, info, warn, error", "info",
		str(func(c *config) *string { return &c.LogLevel }), false},
	{"FLASHSTOCK_DATA_DIR", "data-dir", "dev only: where the local PostgreSQL and Redis keep their data", ".data",
		str(func(c *config) *string { return &c.DataDir }), false},
	{"FLASHSTOCK_SHUTDOWN_TIMEOUT", "shutdown-timeout", "bound on draining in-flight requests at shutdown", "15s",
		dur(func(c *config) *time.Duration { return &c.ShutdownTimeout }), false},
	{"FLASHSTOCK_DB_CONNS_MAX", "db-conns-max", "PostgreSQL connection pool size", "16",
		integer(func(c *config) *int { return &c.DBConnsMax }), false},
	{"FLASHSTOCK_BCRYPT_COST", "bcrypt-cost", "bcrypt cost of password hashes (4..31)", "10",
		integer(func(c *config) *int { return &c.BcryptCost }), false},
	{"FLASHSTOCK_HEADER_BYTES_MAX", "header-bytes-max", "most bytes of a request's line and headers before 431 header_too_large (1024..1048576)", "16384",
		integer(func(c *config) *int { return &c.HeaderBytesMax }), false},
	{"FLASHSTOCK_SEED", "seed", "dev only: seed a demo catalogue and admin when using the local database", "true",
		boolean(func(c *config) *bool { return &c.Seed }), false},
	{"FLASHSTOCK_SHARDS", "shards", "number of shards products are hashed into (the unit of ownership)", "256",
		integer(func(c *config) *int { return &c.Shards }), false},
	{"FLASHSTOCK_ACTOR_IDLE", "actor-idle", "a SKU actor unused this long is passivated", "5m",
		dur(func(c *config) *time.Duration { return &c.ActorIdle }), false},
	{"FLASHSTOCK_ACTORS_MAX", "actors-max", "most live SKU actors (an idle one is about 1 KiB); spawning one more passivates the least recently used idle one", strconv.Itoa(actors.ActorsMaxDefault),
		integer(func(c *config) *int { return &c.ActorsMax }), false},
	{"FLASHSTOCK_ORDER_TTL", "order-ttl", "how long a pending order waits for payment before it expires", "15m",
		dur(func(c *config) *time.Duration { return &c.OrderTTL }), false},
	{"FLASHSTOCK_ITEMS_PER_ORDER_MAX", "items-per-order-max", "most distinct products in one order (1..100)", "100",
		integer(func(c *config) *int { return &c.ItemsPerOrderMax }), false},
	{"FLASHSTOCK_ITEM_QUANTITY_MAX", "item-quantity-max", "most units of one product in one order (1..10000)", "10000",
		integer(func(c *config) *int { return &c.ItemQuantityMax }), false},
	{"FLASHSTOCK_INFLIGHT_PER_SKU_MAX", "inflight-per-sku-max", "requests in flight per product before 503 overloaded", "4096",
		integer(func(c *config) *int { return &c.InflightPerSKUMax }), false},
	{"FLASHSTOCK_INFLIGHT_MAX", "inflight-max", "requests in flight over all products before 503 overloaded", "65536",
		integer(func(c *config) *int { return &c.InflightMax }), false},
	{"FLASHSTOCK_BATCH_ORDERS_MAX", "batch-orders-max", "most operations in one group commit", "1000",
		integer(func(c *config) *int { return &c.BatchOrdersMax }), false},
	{"FLASHSTOCK_BATCH_PRODUCTS_MAX", "batch-products-max", "most products one transaction of the commit pipeline touches", strconv.Itoa(actors.BatchProductsMaxDefault),
		integer(func(c *config) *int { return &c.BatchProductsMax }), false},
	{"FLASHSTOCK_COMMITTERS", "committers", "transactions the commit pipeline runs at once, each on a connection of its own (1..64, fewer than --db-conns-max)", strconv.Itoa(actors.CommittersDefault),
		integer(func(c *config) *int { return &c.Committers }), false},
	{"FLASHSTOCK_COMMIT_QUEUE_OPS_MAX", "commit-queue-ops-max", "operations waiting for the commit pipeline before 503 overloaded (at least --batch-orders-max)", strconv.Itoa(actors.CommitQueueOpsMaxDefault),
		integer(func(c *config) *int { return &c.CommitQueueOpsMax }), false},
	{"FLASHSTOCK_HOLD_TIMEOUT", "hold-timeout", "age after which units held for an unfinished multi-product order are returned", "1m",
		dur(func(c *config) *time.Duration { return &c.HoldTimeout }), false},
	{"FLASHSTOCK_REPAIR_INTERVAL", "repair-interval", "how often held units left behind are looked for", "10s",
		dur(func(c *config) *time.Duration { return &c.RepairInterval }), false},
	{"FLASHSTOCK_RATE_ORDERS", "rate-orders", "order creation per user: N/s, N/m, N/h or off", "5/m",
		rate(func(c *config) *engine.Rate { return &c.RateOrders }), false},
	{"FLASHSTOCK_RATE_AUTH", "rate-auth", "login and registration per client IP: N/s, N/m, N/h or off", "10/m",
		rate(func(c *config) *engine.Rate { return &c.RateAuth }), false},
	{"FLASHSTOCK_PPROF_ADDR", "pprof-addr", "serve Go's pprof profiles on this loopback address (empty = off)", "",
		str(func(c *config) *string { return &c.PprofAddr }), false},
	{"FLASHSTOCK_WEBHOOK_SECRET", "webhook-secret", "payment webhook signing secret, whsec_ + base64 of 24-64 bytes (dev: generated and kept in the data dir when empty)", "",
		str(func(c *config) *string { return &c.WebhookSecret }), true},
	{"FLASHSTOCK_SMTP_URL", "smtp-url", "mail server, smtp://user:pass@host:port (STARTTLS when offered; ?starttls=required|off) or smtps://; empty = log mails instead of sending", "",
		str(func(c *config) *string { return &c.SMTPURL }), true},
	{"FLASHSTOCK_MAIL_FROM", "mail-from", "sender address of every mail", "flashstock <noreply@localhost>",
		str(func(c *config) *string { return &c.MailFrom }), false},
	{"FLASHSTOCK_ADMIN_EMAIL", "admin-email", "where low-stock alerts, daily reports and dead-letter alerts go", "admin@localhost",
		str(func(c *config) *string { return &c.AdminEmail }), false},
	{"FLASHSTOCK_MAIL_ATTEMPTS", "mail-attempts", "deliveries tried before a mail is dead-lettered (1..100)", "8",
		integer(func(c *config) *int { return &c.MailAttempts }), false},
	{"FLASHSTOCK_MAIL_POLL_INTERVAL", "mail-poll-interval", "how often the mailer looks at the outbox", "1s",
		dur(func(c *config) *time.Duration { return &c.MailPollInterval }), false},
	{"FLASHSTOCK_MAIL_BACKOFF", "mail-backoff", "wait before a mail's first retry; doubles on each further retry, with jitter", "5s",
		dur(func(c *config) *time.Duration { return &c.MailBackoff }), false},
	{"FLASHSTOCK_MAIL_BACKOFF_MAX", "mail-backoff-max", "longest wait between two deliveries of a mail", "30m",
		dur(func(c *config) *time.Duration { return &c.MailBackoffMax }), false},
	{"FLASHSTOCK_TASK_ATTEMPTS", "task-attempts", "tries of a scheduled task run before it is dead-lettered (1..100)", "3",
		integer(func(c *config) *int { return &c.TaskAttempts }), false},
	{"FLASHSTOCK_NODE_ID", "node-id", "this node's name in the cluster, unique (empty = host name + \"-\" + HTTP port)", "",
		str(func(c *config) *string { return &c.NodeID }), false},
	{"FLASHSTOCK_ADVERTISE_URL", "advertise-url", "base URL peers use to reach this node (empty = http:// + the HTTP listen address)", "",
		str(func(c *config) *string { return &c.AdvertiseURL }), false},
	{"FLASHSTOCK_NODE_NAME", "node-name", "this node's name in task run records (empty = the host name)", "",
		str(func(c *config) *string { return &c.NodeName }), false},
}

func init() { settings = append(settings, scheduleSettings()...) }

// scheduleSettings are one FLASHSTOCK_SCHEDULE_<TASK> setting per task.
func scheduleSettings() []setting {
	names := make([]string, 0, len(usecase.DefaultSchedules))
	for name := range usecase.DefaultSchedules {
		names = append(names, name)
	}
	slices.Sort(names)
	out := make([]setting, len(names))
	for i, name := range names {
		out[i] = setting{"FLASHSTOCK_SCHEDULE_" + strings.ToUpper(name), "schedule-" + strings.ReplaceAll(name, "_", "-"),
			"when the " + name + " task runs: an interval (e.g. 30s), daily@HH:MM (UTC) or off",
			usecase.DefaultSchedules[name].String(), func(c *config, v string) error {
				s, err := engine.ParseSchedule(v)
				if c.Schedules == nil {
					c.Schedules = map[string]engine.Schedule{}
				}
				c.Schedules[name] = s
				return err
			}, false}
	}
	return out
}

// bindConfig defines a flag for every setting on fs, defaulting to the
// environment variable's value (else the built-in default). After fs is
// parsed, the returned function converts the values into a config.
func bindConfig(fs *flag.FlagSet, getenv func(string) string) func() (config, error) {
	values := make([]*string, len(settings))
	for i, s := range settings {
		v := s.def
		if e := getenv(s.env); e != "" {
			v = e
		}
		values[i] = fs.String(s.flag, v, s.usage+" ($"+s.env+")")
	}
	return func() (config, error) {
		var c config
		var errs []error
		for i, s := range settings {
			if err := s.set(&c, *values[i]); err != nil {
				errs = append(errs, fmt.Errorf("%s / --%s: %q: %w", s.env, s.flag, *values[i], err))
			}
		}
		return c, errors.Join(errs...)
	}
}

// validate checks the configuration; in dev it fills in a random JWT secret.
func (c *config) validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.Env != envDev && c.Env != envProd {
		add("FLASHSTOCK_ENV: must be dev or prod, not %q", c.Env)
	}
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		add("FLASHSTOCK_HTTP_ADDR: %v", err)
	}
	if _, err := zerolog.ParseLevel(c.LogLevel); err != nil || c.LogLevel == "" {
		add("FLASHSTOCK_LOG_LEVEL: unknown level %q", c.LogLevel)
	}
	for name, raw := range map[string]string{"FLASHSTOCK_DATABASE_URL": c.DatabaseURL, "FLASHSTOCK_REDIS_URL": c.RedisURL} {
		if u, err := url.Parse(raw); raw != "" && (err != nil || u.Scheme == "" || u.Host == "") {
			add("%s: not a URL with a scheme and host", name)
		}
	}
	if c.AccessTTL <= 0 || c.RefreshTTL <= 0 || c.AccessTTL > c.RefreshTTL {
		add("token lifetimes: need 0 < FLASHSTOCK_ACCESS_TTL <= FLASHSTOCK_REFRESH_TTL")
	}
	if c.ShutdownTimeout <= 0 {
		add("FLASHSTOCK_SHUTDOWN_TIMEOUT: must be positive")
	}
	if c.DBConnsMax < 2 || c.DBConnsMax > 1000 {
		add("FLASHSTOCK_DB_CONNS_MAX: must be between 2 and 1000")
	}
	if c.BcryptCost < 4 || c.BcryptCost > 31 {
		add("FLASHSTOCK_BCRYPT_COST: must be between 4 and 31")
	}
	if len(c.NodeID) > nodeIDBytesMax || c.NodeID != "" && engine.CheckLine(c.NodeID, nodeIDBytesMax) != "" {
		errs = append(errs, fmt.Errorf("FLASHSTOCK_NODE_ID: at most %d bytes of printable text", nodeIDBytesMax))
	}
	if c.AdvertiseURL != "" {
		if u, err := url.Parse(c.AdvertiseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, errors.New("FLASHSTOCK_ADVERTISE_URL: must be an http:// or https:// URL with a host"))
		}
	}
	if c.HeaderBytesMax < 1<<10 || c.HeaderBytesMax > 1<<20 {
		add("FLASHSTOCK_HEADER_BYTES_MAX: must be between 1024 and 1048576")
	}
	if c.PprofAddr != "" {
		if host, _, err := net.SplitHostPort(c.PprofAddr); err != nil || !net.ParseIP(host).IsLoopback() {
			add("FLASHSTOCK_PPROF_ADDR: must be a loopback host:port (profiles expose internals)")
		}
	}
	// actors.Config and usecase.Config read zero as "default"; here every value was given
	// (the defaults are in the settings table), so zero is a mistake.
	for name, n := range map[string]int{"FLASHSTOCK_SHARDS": c.Shards, "FLASHSTOCK_INFLIGHT_PER_SKU_MAX": c.InflightPerSKUMax,
		"FLASHSTOCK_INFLIGHT_MAX": c.InflightMax, "FLASHSTOCK_BATCH_ORDERS_MAX": c.BatchOrdersMax,
		"FLASHSTOCK_ACTORS_MAX": c.ActorsMax, "FLASHSTOCK_BATCH_PRODUCTS_MAX": c.BatchProductsMax,
		"FLASHSTOCK_COMMITTERS": c.Committers, "FLASHSTOCK_COMMIT_QUEUE_OPS_MAX": c.CommitQueueOpsMax} {
		if n < 1 {
			add("%s: must be at least 1", name)
		}
	}
	if c.Committers >= c.DBConnsMax {
		add("FLASHSTOCK_COMMITTERS: each holds a connection while it commits; must be below FLASHSTOCK_DB_CONNS_MAX (%d)", c.DBConnsMax)
	}
	for name, d := range map[string]time.Duration{"FLASHSTOCK_ACTOR_IDLE": c.ActorIdle, "FLASHSTOCK_ORDER_TTL": c.OrderTTL,
		"FLASHSTOCK_HOLD_TIMEOUT": c.HoldTimeout, "FLASHSTOCK_REPAIR_INTERVAL": c.RepairInterval} {
		if d <= 0 {
			add("%s: must be positive", name)
		}
	}
	if err := c.actorsConfig().Validate(); err != nil {
		add("%v", err)
	}
	if err := c.usecaseConfig().Validate(); err != nil {
		add("%v", err)
	}
	if err := c.limits().Validate(); err != nil {
		add("FLASHSTOCK_ITEMS_PER_ORDER_MAX / FLASHSTOCK_ITEM_QUANTITY_MAX: %v", err)
	}
	c.validateAsync(add)
	c.validateSecrets(add)
	return errors.Join(errs...)
}

// validateAsync checks the mail and task settings.
func (c *config) validateAsync(add func(string, ...any)) {
	if c.SMTPURL != "" {
		if u, err := url.Parse(c.SMTPURL); err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Host == "" {
			add("FLASHSTOCK_SMTP_URL: want smtp://[user:pass@]host[:port] or smtps://…")
		}
	}
	if _, err := mail.ParseAddress(c.MailFrom); err != nil {
		add("FLASHSTOCK_MAIL_FROM: %v", err)
	}
	if _, err := mail.ParseAddress(c.AdminEmail); err != nil {
		add("FLASHSTOCK_ADMIN_EMAIL: %v", err)
	}
	if c.MailAttempts < 1 || c.MailAttempts > 100 {
		add("FLASHSTOCK_MAIL_ATTEMPTS: must be between 1 and 100")
	}
	if c.TaskAttempts < 1 || c.TaskAttempts > 100 {
		add("FLASHSTOCK_TASK_ATTEMPTS: must be between 1 and 100")
	}
	if c.MailPollInterval <= 0 || c.MailBackoff <= 0 || c.MailBackoffMax < c.MailBackoff {
		add("FLASHSTOCK_MAIL_POLL_INTERVAL, FLASHSTOCK_MAIL_BACKOFF: must be positive, FLASHSTOCK_MAIL_BACKOFF_MAX at least the back-off")
	}
	if err := c.mailerConfig().Validate(); err != nil {
		add("%v", err)
	}
	if err := c.tasksConfig().Validate(); err != nil {
		add("%v", err)
	}
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

// log writes the effective configuration once, secrets masked.
func (c config) log(l zerolog.Logger) {
	secret := "(set)"
	if c.jwtGenerated {
		secret = "(random for this start)"
	}
	webhookSecret := "(set)"
	if c.webhookGenerated {
		webhookSecret = "(dev: kept in the data dir)"
	}
	smtp := "(none: mails are logged)"
	if c.SMTPURL != "" {
		smtp = redact(c.SMTPURL)
	}
	schedules := map[string]string{}
	for name, s := range c.Schedules {
		schedules[name] = s.String()
	}
	l.Info().Str("http_addr", c.HTTPAddr).Str("env", c.Env).
		Str("database_url", redact(c.DatabaseURL)).Str("redis_url", redact(c.RedisURL)).
		Str("jwt_secret", secret).Stringer("access_ttl", c.AccessTTL).Stringer("refresh_ttl", c.RefreshTTL).
		Str("log_level", c.LogLevel).Str("data_dir", c.DataDir).Stringer("shutdown_timeout", c.ShutdownTimeout).Str("redis_prefix", c.RedisPrefix).
		Int("db_conns_max", c.DBConnsMax).Int("bcrypt_cost", c.BcryptCost).Int("header_bytes_max", c.HeaderBytesMax).
		Str("node_id", c.NodeID).Str("advertise_url", c.AdvertiseURL).
		Int("shards", c.Shards).Stringer("actor_idle", c.ActorIdle).Int("actors_max", c.ActorsMax).Stringer("order_ttl", c.OrderTTL).
		Int("items_per_order_max", c.ItemsPerOrderMax).Int("item_quantity_max", c.ItemQuantityMax).
		Int("inflight_per_sku_max", c.InflightPerSKUMax).Int("inflight_max", c.InflightMax).
		Int("batch_orders_max", c.BatchOrdersMax).Int("batch_products_max", c.BatchProductsMax).
		Int("committers", c.Committers).Int("commit_queue_ops_max", c.CommitQueueOpsMax).Stringer("hold_timeout", c.HoldTimeout).
		Stringer("repair_interval", c.RepairInterval).Stringer("rate_orders", c.RateOrders).
		Stringer("rate_auth", c.RateAuth).Str("pprof_addr", c.PprofAddr).
		Str("webhook_secret", webhookSecret).Str("smtp_url", smtp).Str("mail_from", c.MailFrom).
		Str("admin_email", c.AdminEmail).Int("mail_attempts", c.MailAttempts).Stringer("mail_poll_interval", c.MailPollInterval).
		Stringer("mail_backoff", c.MailBackoff).Stringer("mail_backoff_max", c.MailBackoffMax).
		Int("task_attempts", c.TaskAttempts).Str("node_name", c.NodeName).Interface("schedules", schedules).
		Msg("effective configuration")
}

// redact masks the password of a URL; an empty URL reads as "(local dev)".
func redact(raw string) string {
	if raw == "" {
		return "(local dev)"
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable)"
	}
	return u.Redacted()
}
