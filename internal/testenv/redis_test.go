package testenv_test

import (
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/flashstock/flashstock/internal/testenv"
)

func redisClient(t *testing.T, url string) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	return c
}

func TestRedisURLDeletesOnlyItsKeysAfterTest(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	url, outerPrefix := testenv.RedisURL(t)
	c := redisClient(t, url)
	kept := outerPrefix + "kept"
	if err := c.Set(ctx, kept, "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	var prefix string
	t.Run("user", func(t *testing.T) {
		_, prefix = testenv.RedisURL(t)
		if prefix == outerPrefix {
			t.Fatalf("two calls share prefix %s", prefix)
		}
		for _, k := range []string{prefix + "a", prefix + "b"} {
			if err := c.Set(ctx, k, "v", 0).Err(); err != nil {
				t.Fatal(err)
			}
		}
	})
	if n, err := c.Exists(ctx, prefix+"a", prefix+"b").Result(); err != nil || n != 0 {
		t.Errorf("%d keys %s* left after the test (%v)", n, prefix, err)
	}
	if n, err := c.Exists(ctx, kept).Result(); err != nil || n != 1 {
		t.Errorf("another test's key %s was deleted (%v)", kept, err)
	}
}
