package httpd

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/flashstock/flashstock/engine"
)

// RateLimiter decides whether one more request under key fits its rate.
type RateLimiter interface {
	// Allow counts one request under key and says whether it conforms.
	Allow(ctx context.Context, key string) (engine.RateDecision, error)
}

// rateLimitFailOpens counts requests let through because their limiter
// failed. It is process-wide (a process runs one Server); Server has no
// field for it yet.
var rateLimitFailOpens atomic.Uint64

// RateLimitFailOpens returns how many requests were let through because a
// rate limiter failed (Redis down, memory limiter full), since the process
// started. The count is process-wide, not per Server.
func (s *Server) RateLimitFailOpens() uint64 { return rateLimitFailOpens.Load() }

// rateLimit counts one request under key with l; nil l means no limit. A
// refused request is a *rateLimitedError (429, with Retry-After and
// RateLimit-* headers set by writeProblem); an allowed one gets the
// RateLimit-* headers now. A limiter that fails lets the request through:
// the failure is counted and logged here, once, and rateLimit returns nil.
func (s *Server) rateLimit(c *call, l RateLimiter, key string) error {
	if l == nil {
		return nil
	}
	d, err := l.Allow(c.context, key)
	if err != nil {
		rateLimitFailOpens.Add(1)
		s.log.Warn().Err(err).Str("request_id", c.requestID).Str("route", c.route).
			Msg("rate limiter failed; request let through")
		return nil
	}
	if !d.Allowed {
		return &rateLimitedError{decision: d}
	}
	setRateLimitHeaders(&c.ctx.Response.Header, d)
	return nil
}

// rateLimitedError is errRateLimited with the decision that refused the
// request.
type rateLimitedError struct {
	decision engine.RateDecision
}

func (e *rateLimitedError) Error() string {
	return fmt.Sprintf("%v: retry after %d s", errRateLimited, retryAfterSecondsOf(e.decision))
}

// Unwrap makes errors.Is(err, errRateLimited) true.
func (e *rateLimitedError) Unwrap() error { return errRateLimited }

// setHeaders writes Retry-After and the RateLimit-* headers of a refusal.
func (e *rateLimitedError) setHeaders(h *fasthttp.ResponseHeader) {
	h.Set("Retry-After", strconv.Itoa(retryAfterSecondsOf(e.decision)))
	setRateLimitHeaders(h, e.decision)
}

// setRateLimitHeaders writes RateLimit-Limit, -Remaining and -Reset
// (seconds until the budget is full again, rounded up); none for an off
// rate, which has no limit to report.
func setRateLimitHeaders(h *fasthttp.ResponseHeader, d engine.RateDecision) {
	if d.Limit <= 0 {
		return
	}
	h.Set("RateLimit-Limit", strconv.Itoa(d.Limit))
	h.Set("RateLimit-Remaining", strconv.Itoa(max(d.Remaining, 0)))
	h.Set("RateLimit-Reset", strconv.FormatInt(ceilSeconds(d.ResetAfter), 10))
}

// retryAfterSecondsOf is d.RetryAfter in whole seconds, rounded up, at
// least 1: a client told 0 would retry at once and be refused again.
func retryAfterSecondsOf(d engine.RateDecision) int {
	return int(max(ceilSeconds(d.RetryAfter), 1))
}

// ceilSeconds is d in seconds, rounded up; 0 for d ≤ 0.
func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}

const (
	// memLimiterKeysMax is the most keys a memory limiter tracks; beyond it
	// new keys are let through (and counted) until old ones are replenished.
	memLimiterKeysMax = 100_000
	// memSweepInterval is the least time between two sweeps of a full
	// memory limiter, so a flood of new keys costs one pass over the map
	// per interval, not one per request.
	memSweepInterval = time.Second
)

// errMemLimiterFull is what a full memory limiter answers for a new key;
// rateLimit lets the request through.
var errMemLimiterFull = fmt.Errorf("memory rate limiter: %w: too many keys tracked", engine.ErrOverloaded)

// memoryLimiter is a GCRA RateLimiter kept in process memory, for a single
// node without Redis: engine.Rate.Step over a map of theoretical arrival
// times. It is safe for concurrent use.
type memoryLimiter struct {
	rate    engine.Rate
	now     func() time.Time
	keysMax int

	mu          sync.Mutex
	tats        map[string]time.Time // guarded by mu: each key's theoretical arrival time
	earliest    time.Time            // guarded by mu: no key's tat is before it (0 = unknown)
	nextSweepAt time.Time            // guarded by mu: no sweep before this
}

var _ RateLimiter = (*memoryLimiter)(nil)

// NewMemoryLimiter returns an in-memory GCRA limiter of rate, for when
// Redis is not configured; its budgets are per process. It tracks at most
// memLimiterKeysMax keys, forgetting those whose budget is full again when it
// needs room; while it has none, requests under new keys fail with
// engine.ErrOverloaded, which Server treats as "let through". An off rate
// allows everything. It panics if rate fails Validate: configuration is
// parsed with engine.ParseRate, so that is a programming error.
func NewMemoryLimiter(rate engine.Rate) RateLimiter {
	return newMemoryLimiter(rate, time.Now, memLimiterKeysMax)
}

func newMemoryLimiter(rate engine.Rate, now func() time.Time, keysMax int) *memoryLimiter {
	if err := rate.Validate(); err != nil {
		panic(fmt.Sprintf("httpd: NewMemoryLimiter: %v", err))
	}
	return &memoryLimiter{rate: rate, now: now, keysMax: keysMax, tats: make(map[string]time.Time)}
}

// Allow counts one request under key; it fails only when the limiter is
// full and key is new.
func (l *memoryLimiter) Allow(_ context.Context, key string) (engine.RateDecision, error) {
	if l.rate.IsOff() {
		return engine.RateDecision{Allowed: true}, nil
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	tat, known := l.tats[key]
	if !known && len(l.tats) >= l.keysMax && !l.sweepLocked(now) {
		return engine.RateDecision{}, errMemLimiterFull
	}
	newTAT, d := l.rate.Step(tat, now)
	if d.Allowed {
		l.tats[key] = newTAT
		if l.earliest.IsZero() || newTAT.Before(l.earliest) {
			l.earliest = newTAT
		}
	}
	return d, nil
}

// sweepLocked forgets every key whose budget is full again (tat not after
// now) and reports whether there is room for a new key. It skips the pass
// when it cannot free anything yet, or swept less than memSweepInterval
// ago. mu held.
func (l *memoryLimiter) sweepLocked(now time.Time) bool {
	if now.Before(l.earliest) || now.Before(l.nextSweepAt) {
		return false
	}
	l.nextSweepAt = now.Add(memSweepInterval)
	l.earliest = time.Time{}
	for key, tat := range l.tats {
		switch {
		case !tat.After(now):
			delete(l.tats, key)
		case l.earliest.IsZero() || tat.Before(l.earliest):
			l.earliest = tat
		}
	}
	return len(l.tats) < l.keysMax
}
