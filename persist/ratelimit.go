package persist

import (
	"context"
	"fmt"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"github.com/flashstock/flashstock/engine"
)

// RateLimiter limits requests per key with GCRA in Redis
// (github.com/go-redis/redis_rate), so every node sharing the Redis shares
// the budgets. One key per limited subject:
//
//	<prefix>rate:<name>:<key>    the key's theoretical arrival time, a float;
//	                             it expires once the budget is full again
//
// Each Allow is one Lua script run: one round trip, atomic, timed by the
// Redis server's clock. It runs the algorithm of engine.Rate.Step with the
// same parameters (burst Count, one more request per Period/Count), in
// floating-point seconds rather than nanoseconds. Like ListCache it needs a
// standalone Redis. It is safe for concurrent use.
type RateLimiter struct {
	limiter *redis_rate.Limiter
	limit   redis_rate.Limit
	rate    engine.Rate
	keyPart string // "<name>:", put between redis_rate's "rate:" and the key
}

// RateLimiter returns a limiter of rate on r; name (such as "orders" or
// "auth") separates its keys from other limiters'. An off rate allows every
// request without calling Redis. It panics if rate fails Validate:
// configuration is parsed with engine.ParseRate, so that is a programming
// error.
func (r *Redis) RateLimiter(name string, rate engine.Rate) *RateLimiter {
	if err := rate.Validate(); err != nil {
		panic(fmt.Sprintf("persist: RateLimiter %q: %v", name, err))
	}
	return &RateLimiter{
		limiter: redis_rate.NewLimiter(prefixedScripter{client: r.client, prefix: r.cfg.Prefix}),
		limit:   redis_rate.Limit{Rate: rate.Count, Burst: rate.Count, Period: rate.Period},
		rate:    rate,
		keyPart: name + ":",
	}
}

// Allow counts one request under key and says whether it conforms to the
// rate. Redis failures are engine.ErrUnavailable (the caller decides whether
// to fail open); a caller's cancellation stays context.Canceled.
func (l *RateLimiter) Allow(ctx context.Context, key string) (engine.RateDecision, error) {
	if l.rate.IsOff() {
		return engine.RateDecision{Allowed: true}, nil
	}
	res, err := l.limiter.Allow(ctx, l.keyPart+key, l.limit)
	if err != nil {
		return engine.RateDecision{}, wrapRedisError("rate limit", err)
	}
	d := engine.RateDecision{
		Allowed:    res.Allowed > 0,
		Limit:      l.rate.Count,
		Remaining:  max(res.Remaining, 0),
		RetryAfter: max(res.RetryAfter, 0), // redis_rate says -1 when allowed
		ResetAfter: max(res.ResetAfter, 0),
	}
	if d.Allowed {
		d.RetryAfter = 0
	}
	return d, nil
}

// prefixedScripter is the client redis_rate runs its script on: it puts
// the deployment's key prefix in front of every key, since redis_rate
// itself always starts its keys with a fixed "rate:". It lists each method
// redis_rate needs rather than embedding the client, so a command that
// would bypass the prefix does not compile.
type prefixedScripter struct {
	client *redis.Client
	prefix string
}

func (p prefixedScripter) keys(keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = p.prefix + k
	}
	return out
}

func (p prefixedScripter) Eval(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd {
	return p.client.Eval(ctx, script, p.keys(keys), args...)
}

func (p prefixedScripter) EvalSha(ctx context.Context, sha1 string, keys []string, args ...any) *redis.Cmd {
	return p.client.EvalSha(ctx, sha1, p.keys(keys), args...)
}

func (p prefixedScripter) EvalRO(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd {
	return p.client.EvalRO(ctx, script, p.keys(keys), args...)
}

func (p prefixedScripter) EvalShaRO(ctx context.Context, sha1 string, keys []string, args ...any) *redis.Cmd {
	return p.client.EvalShaRO(ctx, sha1, p.keys(keys), args...)
}

func (p prefixedScripter) ScriptExists(ctx context.Context, hashes ...string) *redis.BoolSliceCmd {
	return p.client.ScriptExists(ctx, hashes...)
}

func (p prefixedScripter) ScriptLoad(ctx context.Context, script string) *redis.StringCmd {
	return p.client.ScriptLoad(ctx, script)
}

func (p prefixedScripter) Del(ctx context.Context, keys ...string) *redis.IntCmd {
	return p.client.Del(ctx, p.keys(keys)...)
}
