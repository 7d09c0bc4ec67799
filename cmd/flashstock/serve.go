package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"

	"github.com/rs/zerolog"

	"github.com/flashstock/flashstock/engine"
	"github.com/flashstock/flashstock/httpd"
	"github.com/flashstock/flashstock/persist"
)

func cmdServe(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "serve", "serve [flags]")
	c, err := parseConfig(e, fs, args)
	if err != nil {
		return err
	}
	log := newLogger(e.stderr, c.LogLevel)
	c.log(log)
	ls, local, err := useLocalServices(ctx, &c, e.stderr, true)
	if err != nil {
		return err
	}
	defer func() {
		if err := ls.stop(); err != nil {
			log.Error().Err(err).Msg("stopping local services")
		}
	}()
	d, err := openDeps(ctx, c, log)
	if err != nil {
		return err
	}
	defer d.close()
	var demo *demoAccount
	if local && c.Seed {
		if demo, err = seedDemo(ctx, d.store, c); err != nil {
			return err
		}
	}
	if err := ensureShards(ctx, c, d.store); err != nil {
		return err
	}
	secretFrom := resolveWebhookSecret(&c, log)
	obs, err := newObservability()
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	k, err := startCore(c, d, obs.metrics, log)
	if err != nil {
		return err
	}
	obs.core.Store(k)
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), c.ShutdownTimeout)
		defer cancel()
		if err := k.stop(sctx); err != nil {
			log.Error().Err(err).Msg("stopping the actors")
		}
	}()
	if c.webhookGenerated {
		printWebhookSecret(e.stdout, c.WebhookSecret, secretFrom)
	}
	return serveHTTP(ctx, e, c, d, k, obs, log, demo)
}

// printWebhookSecret tells a developer the dev webhook secret (never
// logged: it goes to standard output only).
func printWebhookSecret(w io.Writer, secret, from string) {
	fmt.Fprintf(w, "flashstock: dev webhook secret (%s): %s\n"+
		"  sign test events with: flashstock webhook send --reference ORD-… --status success --amount N\n",
		from, secret)
}

// parseConfig loads and validates the configuration of a command; the
// command's own flags must already be defined on fs.
func parseConfig(e env, fs *flag.FlagSet, args []string) (config, error) {
	finish := bindConfig(fs, e.getenv)
	if err := parseFlags(e, fs, args, fs.Parse); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	c, err := finish()
	if err != nil {
		return c, fmt.Errorf("%w: %v", errUsage, err)
	}
	if err := c.validate(); err != nil {
		return c, fmt.Errorf("configuration:\n%w", err)
	}
	return c, nil
}

// deps are the opened adapters a command uses.
type deps struct {
	store  *persist.Store
	redis  *persist.Redis  // nil when no Redis URL is configured
	leases *persist.Leases // shard leases; nil without Redis (a single node)
}

// openDeps opens PostgreSQL (applying pending migrations) and, when
// configured, Redis.
func openDeps(ctx context.Context, c config, log zerolog.Logger) (*deps, error) {
	store, err := persist.Open(ctx, persist.Config{DatabaseURL: c.DatabaseURL, MaxConns: int32(c.DBConnsMax)})
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	d := &deps{store: store}
	applied, err := persist.Migrate(ctx, store, func(msg string) { log.Info().Msg(msg) })
	if err != nil {
		d.close()
		return nil, fmt.Errorf("migrations: %w", err)
	}
	log.Info().Strs("applied", applied).Msg("database schema up to date")
	if c.RedisURL != "" {
		if d.redis, err = persist.OpenRedis(ctx, persist.RedisConfig{URL: c.RedisURL, Prefix: c.RedisPrefix}); err != nil {
			d.close()
			return nil, fmt.Errorf("redis: %w", err)
		}
		if d.leases, err = openLeases(c); err != nil {
			d.close()
			return nil, err
		}
	}
	return d, nil
}

func (d *deps) close() {
	if d.leases != nil {
		_ = d.leases.Close()
	}
	if d.redis != nil {
		_ = d.redis.Close()
	}
	d.store.Close()
}

func newServer(c config, d *deps, k *core, obs *observability, node *clusterView, log zerolog.Logger) (*httpd.Server, error) {
	hd := httpd.Deps{Users: d.store, Products: k.catalogue, Live: k.catalogue, Orders: k.orders,
		Payments: k.payments, DeadLetters: k.deadLetters, Actors: k, Cluster: node, Observer: obs.metrics, Metrics: obs.handler(),
		Idempotency: d.store, Log: log, Checks: map[string]httpd.Pinger{"postgres": d.store, "shards": shardsReady{k.inv}},
		OrderLimiter: d.limiter("orders", c.RateOrders), AuthLimiter: d.limiter("auth", c.RateAuth)}
	if d.redis != nil {
		hd.Cache = d.redis.ListCache()
		hd.Checks["redis"] = d.redis
	}
	return httpd.New(httpd.Config{JWTSecret: []byte(c.JWTSecret), AccessTTL: c.AccessTTL,
		RefreshTTL: c.RefreshTTL, BcryptCost: c.BcryptCost, HeaderBytesMax: c.HeaderBytesMax,
		Limits: c.limits(), WebhookSecret: c.WebhookSecret}, hd)
}

// limiter returns the rate limiter named name: GCRA in Redis when Redis is
// configured, in memory otherwise; nil when the rate is off.
func (d *deps) limiter(name string, r engine.Rate) httpd.RateLimiter {
	switch {
	case r.IsOff():
		return nil
	case d.redis != nil:
		return d.redis.RateLimiter(name, r)
	}
	return httpd.NewMemoryLimiter(r)
}

// serveHTTP listens, serves until ctx ends, then drains within the
// shutdown timeout.
func serveHTTP(ctx context.Context, e env, c config, d *deps, k *core, obs *observability, log zerolog.Logger, demo *demoAccount) error {
	node := &clusterView{store: d.store, inv: k.inv}
	srv, err := newServer(c, d, k, obs, node, log)
	if err != nil {
		return err
	}
	obs.server.Store(srv)
	obs.preset(srv)
	ln, err := net.Listen("tcp", c.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	addr := ln.Addr().String()
	node.id, node.url = nodeIdentity(c, addr) // before serving: nothing reads them yet
	leave, err := startOwnership(ctx, c, d, k, obs, node, log)
	if err != nil {
		_ = ln.Close()
		return err
	}
	log.Info().Str("addr", addr).Msg("listening")
	if demo != nil {
		printDemo(e.stdout, addr, demo)
	}
	if e.ready != nil {
		e.ready(addr)
	}
	if err := servePprof(ctx, c.PprofAddr, log); err != nil {
		_ = ln.Close()
		return fmt.Errorf("pprof listener: %w", err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	log.Info().Dur("bound", c.ShutdownTimeout).Msg("shutting down: handing shards over, draining in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), c.ShutdownTimeout)
	defer cancel()
	leave() // other nodes take this node's shards while it drains
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.Canceled) {
		log.Warn().Err(err).Msg("shutdown did not drain in time")
	}
	<-served
	log.Info().Msg("stopped")
	return nil
}

// newLogger returns the process logger: JSON lines on w at level.
func newLogger(w io.Writer, level string) zerolog.Logger {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil {
		lvl = zerolog.InfoLevel
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Str("service", "flashstock").Logger()
}
