package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/flashstock/flashstock/bench"
	"github.com/flashstock/flashstock/persist"
)

// Limits of a baseline server: the same as flashstock's own.
const (
	baselineTimeout      = 10 * time.Second
	baselineBodyBytesMax = 1 << 20
)

const baselineUsage = "bench-baseline --kind naive|redislock|ceiling [config flags]   (started by flashstock bench)"

// cmdBenchBaseline serves one of the bench's baselines on
// FLASHSTOCK_HTTP_ADDR until ctx ends: the same database, Redis, JWT
// secret and pool size settings as flashstock serve.
func cmdBenchBaseline(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "bench-baseline", baselineUsage)
	kind := fs.String("kind", "", "naive, redislock or ceiling")
	c, err := parseConfig(e, fs, args)
	if err != nil {
		return err
	}
	baselines := []string{bench.TargetNaive, bench.TargetRedisLock, bench.TargetCeiling}
	if !slices.Contains(baselines, *kind) {
		return fmt.Errorf("%w: --kind must be one of %v", errUsage, baselines)
	}
	log := newLogger(e.stderr, c.LogLevel)
	deps := bench.BaselineDeps{JWTSecret: []byte(c.JWTSecret), Log: log}
	if *kind != bench.TargetCeiling {
		if c.DatabaseURL == "" {
			return fmt.Errorf("%w: FLASHSTOCK_DATABASE_URL is required", errUsage)
		}
		store, err := persist.Open(ctx, persist.Config{DatabaseURL: c.DatabaseURL, MaxConns: int32(c.DBConnsMax)})
		if err != nil {
			return fmt.Errorf("database: %w", err)
		}
		defer store.Close()
		deps.Orders, deps.Products = store, store
	}
	if *kind == bench.TargetRedisLock {
		if c.RedisURL == "" {
			return fmt.Errorf("%w: FLASHSTOCK_REDIS_URL is required", errUsage)
		}
		rd, err := persist.OpenRedis(ctx, persist.RedisConfig{URL: c.RedisURL, Prefix: c.RedisPrefix})
		if err != nil {
			return fmt.Errorf("redis: %w", err)
		}
		defer rd.Close()
		deps.Locks = rd
	}
	handler, err := bench.NewBaseline(*kind, deps)
	if err != nil {
		return err
	}
	return serveBaseline(ctx, c.HTTPAddr, handler)
}

// serveBaseline serves handler on addr until ctx ends.
func serveBaseline(ctx context.Context, addr string, handler fasthttp.RequestHandler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &fasthttp.Server{Handler: handler, Name: "flashstock-baseline", ReadTimeout: baselineTimeout,
		WriteTimeout: baselineTimeout, MaxRequestBodySize: baselineBodyBytesMax, NoDefaultServerHeader: true,
		CloseOnShutdown: true}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), baselineTimeout)
	defer cancel()
	if err := srv.ShutdownWithContext(sctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	<-served
	return nil
}
