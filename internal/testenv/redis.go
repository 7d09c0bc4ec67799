package testenv

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flashstock/flashstock/internal/devenv"
)

const (
	// redisConnsMax bounds the connections of the shared cleanup client.
	redisConnsMax = 4
	// redisCleanupTimeout bounds deleting one test's keys.
	redisCleanupTimeout = 30 * time.Second
	// scanCountPerCall is the COUNT hint of each SCAN during cleanup.
	scanCountPerCall = 1000
)

// shared is the process's Redis client for checks and cleanup.
var shared struct {
	mu     sync.Mutex    // guards client
	client *redis.Client // nil until first needed
}

// RedisURL returns the URL of the test Redis and a key prefix ("t_" and 16
// hex digits and ":") unique to this call. The test must use only keys
// starting with keyPrefix; they are deleted when the test ends. It fails
// the test if FLASHSTOCK_TEST_REDIS_URL is unset or the server does not
// answer. It is safe for concurrent use.
func RedisURL(tb testing.TB) (url, keyPrefix string) {
	tb.Helper()
	url = os.Getenv(devenv.TestRedisURLEnv)
	if url == "" {
		tb.Fatalf("testenv: %s is not set; run the tests with `make test`, or call testenv.Main from TestMain", devenv.TestRedisURLEnv)
	}
	client, err := redisClient(url)
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), redisCleanupTimeout)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		tb.Fatalf("testenv: redis at %s does not answer: %v", url, err)
	}
	keyPrefix = uniqueName() + ":"
	tb.Cleanup(func() {
		if err := deleteKeys(client, keyPrefix); err != nil {
			tb.Errorf("testenv: delete keys %s*: %v", keyPrefix, err)
		}
	})
	return url, keyPrefix
}

// deleteKeys deletes every key starting with prefix, which must hold no
// glob characters.
func deleteKeys(client *redis.Client, prefix string) error {
	ctx, cancel := context.WithTimeout(context.Background(), redisCleanupTimeout)
	defer cancel()
	var cursor uint64
	for {
		keys, next, err := client.Scan(ctx, cursor, prefix+"*", scanCountPerCall).Result()
		if err != nil {
			return err
		}
		if len(keys) > 0 {
			if err := client.Del(ctx, keys...).Err(); err != nil {
				return err
			}
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
}

// redisClient returns the shared client, opening it on first use.
func redisClient(url string) (*redis.Client, error) {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.client != nil {
		return shared.client, nil
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", devenv.TestRedisURLEnv, err)
	}
	opt.PoolSize = redisConnsMax
	shared.client = redis.NewClient(opt)
	return shared.client, nil
}

func closeRedis() {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.client != nil {
		_ = shared.client.Close()
		shared.client = nil
	}
}
