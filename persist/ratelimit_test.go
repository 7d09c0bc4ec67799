package persist_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flashstock/flashstock/engine"
	"github.com/flashstock/flashstock/internal/testenv"
	"github.com/flashstock/flashstock/persist"
)

// TestRateLimiter runs a 3/h rate (one request per 20 minutes) against the
// real Redis: the burst passes, the next request is refused, keys and
// limiter names are independent, and the decisions agree with
// engine.Rate.Step, which the in-memory limiter uses. The test takes far
// less than one emission interval, so no budget refills while it runs.
func TestRateLimiter(t *testing.T) {
	t.Parallel()
	url, prefix := testenv.RedisURL(t)
	r, err := persist.OpenRedis(t.Context(), persist.RedisConfig{URL: url, Prefix: prefix})
	if err != nil {
		t.Fatalf("OpenRedis: %v", err)
	}
	t.Cleanup(func() { _ = r.Close() })
	rate := engine.Rate{Count: 3, Period: time.Hour}
	orders := r.RateLimiter("orders", rate)
	ctx := t.Context()
	const slack = time.Minute // bounds how long the test may have run between requests

	var tat time.Time
	now := time.Now()
	for i := range rate.Count + 1 {
		got, err := orders.Allow(ctx, "user:a")
		if err != nil {
			t.Fatalf("request %d: Allow: %v", i+1, err)
		}
		var want engine.RateDecision
		tat, want = rate.Step(tat, now)
		if got.Allowed != want.Allowed || got.Limit != want.Limit || got.Remaining != want.Remaining ||
			!near(got.RetryAfter, want.RetryAfter, slack) || !near(got.ResetAfter, want.ResetAfter, slack) {
			t.Fatalf("request %d: Allow = %+v; engine.Rate.Step says %+v", i+1, got, want)
		}
	}

	// Another key, and the same key under another limiter name, start full.
	for _, other := range []struct {
		l   *persist.RateLimiter
		key string
	}{{orders, "user:b"}, {r.RateLimiter("auth", rate), "user:a"}} {
		d, err := other.l.Allow(ctx, other.key)
		if err != nil || !d.Allowed || d.Remaining != rate.Count-1 {
			t.Fatalf("independent key %q: Allow = %+v, %v; want allowed with %d remaining", other.key, d, err, rate.Count-1)
		}
	}

	// The key layout is <prefix>rate:<name>:<key>, expiring with the budget.
	raw := redis.NewClient(mustParseRedisURL(t, url))
	t.Cleanup(func() { _ = raw.Close() })
	ttl, err := raw.TTL(ctx, prefix+"rate:orders:user:a").Result()
	if err != nil || ttl <= 0 || ttl > time.Hour+time.Second {
		t.Fatalf("TTL(%srate:orders:user:a) = %v, %v; want a TTL within the hour", prefix, ttl, err)
	}

	// The caller's own cancellation is not Redis being unavailable.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := orders.Allow(cancelled, "user:c"); !errors.Is(err, context.Canceled) || errors.Is(err, engine.ErrUnavailable) {
		t.Fatalf("Allow with a cancelled context = %v, want context.Canceled", err)
	}
}

// near reports whether got is within slack below want (time passes in
// Redis between the requests; it never runs backwards).
func near(got, want, slack time.Duration) bool {
	return got <= want && got > want-slack
}

func mustParseRedisURL(t *testing.T, url string) *redis.Options {
	t.Helper()
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	return opts
}

func TestRateLimiterOffNeverCallsRedis(t *testing.T) {
	t.Parallel()
	r := openClosedRedis(t)
	d, err := r.RateLimiter("auth", engine.Rate{}).Allow(t.Context(), "ip:127.0.0.1")
	if err != nil || d != (engine.RateDecision{Allowed: true}) {
		t.Fatalf("off rate on a closed client: Allow = %+v, %v; want allowed", d, err)
	}
}

func TestRateLimiterClosedRedisIsUnavailable(t *testing.T) {
	t.Parallel()
	r := openClosedRedis(t)
	l := r.RateLimiter("orders", engine.Rate{Count: 5, Period: time.Minute})
	_, err := l.Allow(t.Context(), "user:a")
	if !errors.Is(err, engine.ErrUnavailable) {
		t.Fatalf("Allow on a closed client = %v, want ErrUnavailable", err)
	}
}

func TestRateLimiterPanicsOnInvalidRate(t *testing.T) {
	t.Parallel()
	r := openClosedRedis(t)
	defer func() {
		if recover() == nil {
			t.Fatal("RateLimiter with Rate{Count: 5} did not panic")
		}
	}()
	r.RateLimiter("orders", engine.Rate{Count: 5})
}

// openClosedRedis opens a client on the test Redis and closes it.
func openClosedRedis(t *testing.T) *persist.Redis {
	t.Helper()
	url, prefix := testenv.RedisURL(t)
	r, err := persist.OpenRedis(t.Context(), persist.RedisConfig{URL: url, Prefix: prefix})
	if err != nil {
		t.Fatalf("OpenRedis: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return r
}
