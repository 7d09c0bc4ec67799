package persist

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Pool limits and defaults.
const (
	// MaxConnsDefault is the pool size when Config.MaxConns is zero.
	MaxConnsDefault int32 = 16
	// maxConnsMax guards against a typo sizing the pool past what one
	// PostgreSQL server accepts by default.
	maxConnsMax int32 = 1000
	// ConnectTimeoutDefault bounds dialing and the start-up ping when
	// Config.ConnectTimeout is zero.
	ConnectTimeoutDefault = 5 * time.Second
	// connLifetimeMax recycles connections so that server-side memory and
	// DNS changes do not stay pinned forever.
	connLifetimeMax = time.Hour
	// connIdleMax closes connections idle this long (down to MinConns).
	connIdleMax = 5 * time.Minute
	// healthCheckPeriod is how often idle connections are checked.
	healthCheckPeriod = time.Minute
)

// Config says how to reach PostgreSQL. Zero fields take their defaults.
type Config struct {
	// DatabaseURL is a postgres:// URL or key=value DSN. Unknown query
	// parameters (for example search_path) are sent to the server as
	// run-time parameters of every connection. Pool sizes given here
	// override pool_* parameters in the URL.
	DatabaseURL string
	// MaxConns is the pool size; 0 = MaxConnsDefault.
	MaxConns int32
	// MinConns connections are kept open even when idle.
	MinConns int32
	// ConnectTimeout bounds one dial; 0 = ConnectTimeoutDefault.
	ConnectTimeout time.Duration
	// StatementTimeout makes the server cancel statements running longer;
	// 0 = the server's setting.
	StatementTimeout time.Duration
}

func (c Config) withDefaults() Config {
	if c.MaxConns == 0 {
		c.MaxConns = MaxConnsDefault
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = ConnectTimeoutDefault
	}
	return c
}

// Validate reports every unusable field, after defaults are applied.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	if c.DatabaseURL == "" {
		errs = append(errs, errors.New("database URL is required"))
	} else if _, err := pgxpool.ParseConfig(c.DatabaseURL); err != nil {
		errs = append(errs, errors.New("database URL does not parse"))
	}
	if c.MaxConns < 1 || c.MaxConns > maxConnsMax {
		errs = append(errs, fmt.Errorf("max conns must be between 1 and %d", maxConnsMax))
	}
	if c.MinConns < 0 || c.MinConns > c.MaxConns {
		errs = append(errs, errors.New("min conns must be between 0 and max conns"))
	}
	if c.ConnectTimeout < 0 {
		errs = append(errs, errors.New("connect timeout must not be negative"))
	}
	if c.StatementTimeout < 0 {
		errs = append(errs, errors.New("statement timeout must not be negative"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("persist config: %w", err)
	}
	return nil
}

// Redacted returns c with the password in DatabaseURL masked, for logging.
func (c Config) Redacted() Config {
	c.DatabaseURL = redactURL(c.DatabaseURL)
	return c
}

// redactURL masks the password of a URL; anything that is not a URL with
// a scheme is masked whole, since a DSN may carry password=.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" {
		return "xxxxx"
	}
	return u.Redacted()
}

// Store is the PostgreSQL store. Its methods are safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
}

// Open builds the connection pool with explicit sizes and timeouts and pings
// the server. A server that cannot be reached is engine.ErrUnavailable.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	pc, err := pgxpool.ParseConfig(cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("persist: parse database URL: %w", err)
	}
	pc.MaxConns, pc.MinConns = cfg.MaxConns, cfg.MinConns
	pc.MaxConnLifetime, pc.MaxConnIdleTime = connLifetimeMax, connIdleMax
	pc.HealthCheckPeriod = healthCheckPeriod
	pc.ConnConfig.ConnectTimeout = cfg.ConnectTimeout
	if cfg.StatementTimeout > 0 {
		ms := cfg.StatementTimeout.Milliseconds()
		pc.ConnConfig.RuntimeParams["statement_timeout"] = strconv.FormatInt(max(ms, 1), 10)
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("persist: open pool: %w", err)
	}
	s := &Store{pool: pool}
	pingCtx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
	defer cancel()
	if err := s.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("persist: open: %w", err)
	}
	return s, nil
}

// Ping checks that a connection can be acquired and answers; failures are
// engine.ErrUnavailable.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return wrapError("ping postgres", err)
	}
	return nil
}

// Close closes every connection, waiting for acquired ones to be released.
func (s *Store) Close() { s.pool.Close() }
