package devenv

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func startRedis(t *testing.T, cfg RedisConfig) *Redis {
	t.Helper()
	start := time.Now()
	r, err := StartRedis(testContext(t), cfg)
	if err != nil {
		t.Fatalf("StartRedis: %v", err)
	}
	t.Logf("redis ready at %s in %v", r.URL(), time.Since(start))
	t.Cleanup(func() { _ = r.Stop(context.Background()) })
	return r
}

func redisClient(t *testing.T, url string) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("ParseURL(%q): %v", url, err)
	}
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	return c
}

func TestRedisThrowaway(t *testing.T) {
	t.Parallel()
	r := startRedis(t, RedisConfig{})
	ctx := testContext(t)
	c := redisClient(t, r.URL())
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("SET: %v", err)
	}
	if got, err := c.Get(ctx, "k").Result(); err != nil || got != "v" {
		t.Fatalf("GET = %q, %v; want v", got, err)
	}
	if err := r.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := r.Stop(ctx); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if _, err := os.Stat(r.tempDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s still there after Stop (%v)", r.tempDir, err)
	}
	if err := pingRedis(ctx, r.addr); err == nil {
		t.Error("server still answers after Stop")
	}
}

func TestRedisPersistentReuse(t *testing.T) {
	t.Parallel()
	cfg := RedisConfig{DataDir: filepath.Join(t.TempDir(), "redis")}
	r := startRedis(t, cfg)
	ctx := testContext(t)
	if err := redisClient(t, r.URL()).Set(ctx, "k", "kept", 0).Err(); err != nil {
		t.Fatalf("SET: %v", err)
	}
	if err := r.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	r = startRedis(t, cfg)
	if got, err := redisClient(t, r.URL()).Get(ctx, "k").Result(); err != nil || got != "kept" {
		t.Fatalf("after restart: GET = %q, %v; want kept", got, err)
	}
}
