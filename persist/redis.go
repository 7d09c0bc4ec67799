package persist

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis limits and defaults; zero RedisConfig fields take these.
const (
	// PrefixDefault starts every key flashstock writes.
	PrefixDefault = "flashstock:"
	// ListTTLDefault is how long a cached product-list page lives.
	ListTTLDefault = 30 * time.Second
	// listTTLMax bounds how stale a page can get if invalidation is lost.
	listTTLMax = time.Hour
	// RedisPoolSizeDefault is the connection pool size.
	RedisPoolSizeDefault = 16
	redisPoolSizeMax     = 1000
	// RedisDialTimeoutDefault bounds one dial and the start-up ping.
	RedisDialTimeoutDefault = 5 * time.Second
	// RedisReadTimeoutDefault and RedisWriteTimeoutDefault bound one
	// command: the cache is an optimisation, so a slow Redis must fail fast.
	RedisReadTimeoutDefault  = time.Second
	RedisWriteTimeoutDefault = time.Second
	// redisRetriesMax is how often go-redis retries a failed command: once,
	// since a cache miss is cheaper than a slow request.
	redisRetriesMax = 1
)

// RedisConfig says how to reach Redis. Zero fields take their defaults.
type RedisConfig struct {
	// URL is redis://[user:password@]host:port/db (or rediss:// for TLS).
	URL string
	// Prefix starts every key, so several deployments (or tests) can share
	// one server; "" = PrefixDefault.
	Prefix string
	// ListTTL is how long a cached product-list page lives; 0 = ListTTLDefault.
	ListTTL time.Duration
	// PoolSize is the most connections; 0 = RedisPoolSizeDefault.
	PoolSize int
	// DialTimeout, ReadTimeout and WriteTimeout bound each network step;
	// 0 = their defaults.
	DialTimeout  time.Duration
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
}

func (c RedisConfig) withDefaults() RedisConfig {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if c.Prefix == "" {
		c.Prefix = PrefixDefault
	}
	if c.PoolSize == 0 {
		c.PoolSize = RedisPoolSizeDefault
	}
	def(&c.ListTTL, ListTTLDefault)
	def(&c.DialTimeout, RedisDialTimeoutDefault)
	def(&c.ReadTimeout, RedisReadTimeoutDefault)
	def(&c.WriteTimeout, RedisWriteTimeoutDefault)
	return c
}

// Validate reports every unusable field, after defaults are applied.
func (c RedisConfig) Validate() error {
	c = c.withDefaults()
	var errs []error
	if c.URL == "" {
		errs = append(errs, errors.New("redis URL is required"))
	} else if _, err := redis.ParseURL(c.URL); err != nil {
		errs = append(errs, errors.New("redis URL does not parse"))
	}
	if c.ListTTL < time.Millisecond || c.ListTTL > listTTLMax {
		errs = append(errs, fmt.Errorf("list TTL must be between 1ms and %s", listTTLMax))
	}
	if c.PoolSize < 1 || c.PoolSize > redisPoolSizeMax {
		errs = append(errs, fmt.Errorf("redis pool size must be between 1 and %d", redisPoolSizeMax))
	}
	if c.DialTimeout < 0 || c.ReadTimeout < 0 || c.WriteTimeout < 0 {
		errs = append(errs, errors.New("redis timeouts must not be negative"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("persist redis config: %w", err)
	}
	return nil
}

// Redacted returns c with the password in URL masked, for logging.
func (c RedisConfig) Redacted() RedisConfig {
	c.URL = redactURL(c.URL)
	return c
}

// Redis is a Redis client with flashstock's key prefix. Its methods are
// safe for concurrent use.
type Redis struct {
	client *redis.Client
	cfg    RedisConfig // with defaults applied
}

// OpenRedis connects to Redis and pings it. A server that cannot be
// reached is engine.ErrUnavailable.
func OpenRedis(ctx context.Context, cfg RedisConfig) (*Redis, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	opts, err := redis.ParseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("persist: parse redis URL: %w", err)
	}
	opts.PoolSize, opts.MaxRetries = cfg.PoolSize, redisRetriesMax
	opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout = cfg.DialTimeout, cfg.ReadTimeout, cfg.WriteTimeout
	opts.DisableIdentity = true // no CLIENT SETINFO: one round trip less per dial
	r := &Redis{client: redis.NewClient(opts), cfg: cfg}
	pingCtx, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
	defer cancel()
	if err := r.Ping(pingCtx); err != nil {
		return nil, errors.Join(fmt.Errorf("persist: open redis: %w", err), r.Close())
	}
	return r, nil
}

// Ping checks that Redis answers; failures are engine.ErrUnavailable.
func (r *Redis) Ping(ctx context.Context) error {
	if err := r.client.Ping(ctx).Err(); err != nil {
		return wrapRedisError("ping redis", err)
	}
	return nil
}

// Close closes the client's connections.
func (r *Redis) Close() error {
	if err := r.client.Close(); err != nil {
		return fmt.Errorf("persist: close redis: %w", err)
	}
	return nil
}
