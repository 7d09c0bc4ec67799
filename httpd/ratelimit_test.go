package httpd

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"github.com/flashstock/flashstock/engine"
)

var _ RateLimiter = (*rateLimiterFake)(nil)

// rateLimiterFake is a RateLimiter whose behaviour each test sets; with a
// nil AllowFunc it fails with errFakeUnset.
type rateLimiterFake struct {
	AllowFunc func(ctx context.Context, key string) (engine.RateDecision, error)
}

func (f *rateLimiterFake) Allow(ctx context.Context, key string) (engine.RateDecision, error) {
	if f.AllowFunc == nil {
		return engine.RateDecision{}, errFakeUnset
	}
	return f.AllowFunc(ctx, key)
}

// fakeClock is a time source tests move by hand; safe for concurrent use.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time // guarded by mu
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// perMinute is a rate of n requests a minute.
func perMinute(n int) engine.Rate { return engine.Rate{Count: n, Period: time.Minute} }

// mustAllow calls l.Allow and checks whether it allowed and what remained.
func mustAllow(t *testing.T, l RateLimiter, key string, wantAllowed bool, wantRemaining int) engine.RateDecision {
	t.Helper()
	d, err := l.Allow(context.Background(), key)
	if err != nil {
		t.Fatalf("Allow(%q): %v", key, err)
	}
	if d.Allowed != wantAllowed || d.Remaining != wantRemaining {
		t.Fatalf("Allow(%q) = %+v; want allowed=%v remaining=%d", key, d, wantAllowed, wantRemaining)
	}
	return d
}

func TestMemoryLimiterBurstReplenishAndKeys(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	l := newMemoryLimiter(perMinute(3), clock.Now, memLimiterKeysMax) // one request per 20 s
	mustAllow(t, l, "user:a", true, 2)
	mustAllow(t, l, "user:a", true, 1)
	mustAllow(t, l, "user:a", true, 0)
	d := mustAllow(t, l, "user:a", false, 0)
	if d.Limit != 3 || d.RetryAfter != 20*time.Second || d.ResetAfter != time.Minute {
		t.Fatalf("denial = %+v; want limit 3, retry after 20s, reset after 1m", d)
	}
	mustAllow(t, l, "user:b", true, 2) // another key has its own budget

	clock.advance(20*time.Second - time.Nanosecond)
	mustAllow(t, l, "user:a", false, 0)
	clock.advance(time.Nanosecond) // one emission interval: one request back
	mustAllow(t, l, "user:a", true, 0)
	mustAllow(t, l, "user:a", false, 0)
	clock.advance(time.Minute) // fully replenished
	mustAllow(t, l, "user:a", true, 2)
}

// TestMemoryLimiterConcurrent: with the clock frozen, however many
// goroutines race on one key, exactly the burst gets through.
func TestMemoryLimiterConcurrent(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	l := newMemoryLimiter(perMinute(10), clock.Now, memLimiterKeysMax)
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			d, err := l.Allow(context.Background(), "ip:192.0.2.1")
			if err != nil {
				t.Error(err)
			}
			if d.Allowed {
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	if n := allowed.Load(); n != 10 {
		t.Fatalf("%d of 64 concurrent requests allowed, want the burst of 10", n)
	}
}

// TestMemoryLimiterKeyBound: a full limiter forgets only replenished keys,
// keeps serving the keys it has, and refuses new keys with ErrOverloaded
// (which rateLimit lets through) while it has no room.
func TestMemoryLimiterKeyBound(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	l := newMemoryLimiter(perMinute(2), clock.Now, 3) // one request per 30 s
	mustAllow(t, l, "a", true, 1)
	mustAllow(t, l, "a", true, 0) // a is full until +60 s
	mustAllow(t, l, "b", true, 1) // b and c until +30 s
	mustAllow(t, l, "c", true, 1)
	if _, err := l.Allow(context.Background(), "d"); !errors.Is(err, engine.ErrOverloaded) {
		t.Fatalf("new key in a full limiter: err = %v, want ErrOverloaded", err)
	}
	mustAllow(t, l, "b", true, 0) // known keys are still served (b now until +60 s)

	clock.advance(30 * time.Second) // c is replenished, a and b are not
	mustAllow(t, l, "d", true, 1)   // the sweep dropped c to make room
	if _, err := l.Allow(context.Background(), "e"); !errors.Is(err, engine.ErrOverloaded) {
		t.Fatalf("new key with nothing replenished: err = %v, want ErrOverloaded", err)
	}
	mustAllow(t, l, "a", true, 0) // a kept its state: one request back, not two
	if len(l.tats) != 3 {
		t.Fatalf("limiter tracks %d keys, want at most 3", len(l.tats))
	}

	clock.advance(time.Hour) // everything replenished
	for _, k := range []string{"e", "f"} {
		mustAllow(t, l, k, true, 1)
	}
}

func TestMemoryLimiterOff(t *testing.T) {
	t.Parallel()
	l := NewMemoryLimiter(engine.Rate{})
	for range 100 {
		if d, err := l.Allow(context.Background(), "ip:192.0.2.1"); err != nil || d != (engine.RateDecision{Allowed: true}) {
			t.Fatalf("off limiter: Allow = %+v, %v", d, err)
		}
	}
}

// wantRateHeaders checks the RateLimit-* headers (and Retry-After, ""
// meaning absent) of a response.
func wantRateHeaders(t *testing.T, hdr []byte, limit, remaining, reset, retryAfter string) {
	t.Helper()
	for _, h := range []struct{ name, want string }{
		{"RateLimit-Limit", limit}, {"RateLimit-Remaining", remaining},
		{"RateLimit-Reset", reset}, {"Retry-After", retryAfter},
	} {
		if got := headerValue(hdr, h.name); got != h.want {
			t.Errorf("%s = %q, want %q", h.name, got, h.want)
		}
	}
}

// TestAuthRateLimited: registration and login share one budget per client
// IP; past it they answer 429 rate_limited with Retry-After and RateLimit-*,
// before touching the store, and X-Forwarded-For does not escape the limit.
func TestAuthRateLimited(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	ts := newTestServer(t, func(_ *Config, d *Deps) {
		d.AuthLimiter = newMemoryLimiter(perMinute(2), clock.Now, memLimiterKeysMax) // one per 30 s
	})
	alice := map[string]string{"username": "alice", "password": "correct horse"}
	status, hdr, body := ts.do("POST", "/auth/users/", alice)
	if status != fasthttp.StatusCreated {
		t.Fatalf("register: %d %s", status, body)
	}
	wantRateHeaders(t, hdr, "2", "1", "30", "")
	status, hdr, body = ts.do("POST", "/auth/jwt/create/", alice)
	if status != fasthttp.StatusOK {
		t.Fatalf("login: %d %s", status, body)
	}
	wantRateHeaders(t, hdr, "2", "0", "60", "")

	status, hdr, body = ts.do("POST", "/auth/jwt/create/", alice, "X-Request-ID", "req-rl-1")
	p := wantProblem(t, status, hdr, body, fasthttp.StatusTooManyRequests, "rate_limited")
	if p.RequestID != "req-rl-1" {
		t.Errorf("request_id = %q", p.RequestID)
	}
	wantRateHeaders(t, hdr, "2", "0", "60", "30")

	bob := map[string]string{"username": "bob", "password": "correct horse"}
	status, hdr, body = ts.do("POST", "/auth/users/", bob, "X-Forwarded-For", "203.0.113.9")
	wantProblem(t, status, hdr, body, fasthttp.StatusTooManyRequests, "rate_limited")
	if _, err := ts.store.UserByUsername(context.Background(), "bob"); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("a refused registration reached the store: %v", err)
	}

	clock.advance(30 * time.Second)
	if status, _, body := ts.do("POST", "/auth/jwt/create/", alice); status != fasthttp.StatusOK {
		t.Fatalf("login after one interval: %d %s", status, body)
	}
}

// TestAuthRateLimitPerClientIP drives the handler with chosen remote
// addresses: each IP has its own budget.
func TestAuthRateLimitPerClientIP(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	ts := newTestServer(t, func(_ *Config, d *Deps) {
		d.AuthLimiter = newMemoryLimiter(perMinute(1), clock.Now, memLimiterKeysMax)
	})
	login := func(ip string, headers ...string) int {
		var req fasthttp.Request
		req.Header.SetMethod(fasthttp.MethodPost)
		req.SetRequestURI("/auth/jwt/create/")
		req.Header.SetContentType("application/json")
		req.SetBodyString(`{"username":"nobody","password":"wrong password"}`)
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		var ctx fasthttp.RequestCtx
		ctx.Init(&req, &net.TCPAddr{IP: net.ParseIP(ip), Port: 40000}, nil)
		ts.srv.Handler()(&ctx)
		return ctx.Response.StatusCode()
	}
	for _, step := range []struct {
		ip      string
		headers []string
		want    int
	}{
		{"192.0.2.1", nil, fasthttp.StatusUnauthorized}, // allowed; wrong password
		{"192.0.2.1", nil, fasthttp.StatusTooManyRequests},
		{"192.0.2.1", []string{"X-Forwarded-For", "192.0.2.2"}, fasthttp.StatusTooManyRequests},
		{"192.0.2.2", nil, fasthttp.StatusUnauthorized},
		{"2001:db8::1", nil, fasthttp.StatusUnauthorized},
		{"2001:db8::1", nil, fasthttp.StatusTooManyRequests},
	} {
		if got := login(step.ip, step.headers...); got != step.want {
			t.Fatalf("login from %s %v: status %d, want %d", step.ip, step.headers, got, step.want)
		}
	}
}

// TestRateLimitHeaderRounding: Retry-After and RateLimit-Reset are whole
// seconds rounded up, and Retry-After is at least 1.
func TestRateLimitHeaderRounding(t *testing.T) {
	t.Parallel()
	var decision atomic.Pointer[engine.RateDecision]
	ts := newTestServer(t, func(_ *Config, d *Deps) {
		d.AuthLimiter = &rateLimiterFake{AllowFunc: func(context.Context, string) (engine.RateDecision, error) {
			return *decision.Load(), nil
		}}
	})
	ms := time.Millisecond
	for _, tt := range []struct {
		d                            engine.RateDecision
		remaining, reset, retryAfter string
	}{
		{engine.RateDecision{Limit: 5, RetryAfter: 1500 * ms, ResetAfter: 2001 * ms}, "0", "3", "2"},
		{engine.RateDecision{Limit: 5, RetryAfter: time.Nanosecond, ResetAfter: 12 * time.Second}, "0", "12", "1"},
		{engine.RateDecision{Limit: 5}, "0", "0", "1"},
	} {
		decision.Store(&tt.d)
		status, hdr, body := ts.do("POST", "/auth/jwt/create/", map[string]string{"username": "nobody", "password": "wrong password"})
		wantProblem(t, status, hdr, body, fasthttp.StatusTooManyRequests, "rate_limited")
		wantRateHeaders(t, hdr, "5", tt.remaining, tt.reset, tt.retryAfter)
	}
}

// TestRateLimiterFailureLetsRequestsThrough: a limiter that errors (Redis
// down) lets each request through, counts it and logs one warning with the
// request id. Not parallel: the fail-open count is process-wide, and no
// parallel test runs while a sequential one does.
func TestRateLimiterFailureLetsRequestsThrough(t *testing.T) {
	logs := &lockedBuffer{}
	var keys []string // written by the handler goroutine, read after each response
	var keysMu sync.Mutex
	ts := newTestServer(t, func(_ *Config, d *Deps) {
		d.Log = zerolog.New(logs)
		d.AuthLimiter = &rateLimiterFake{AllowFunc: func(_ context.Context, key string) (engine.RateDecision, error) {
			keysMu.Lock()
			defer keysMu.Unlock()
			keys = append(keys, key)
			return engine.RateDecision{}, errors.New("rate limit: unavailable: dial tcp 10.0.0.9:6379: connection refused")
		}}
	})
	before := ts.srv.RateLimitFailOpens()
	alice := map[string]string{"username": "alice", "password": "correct horse"}
	status, hdr, body := ts.do("POST", "/auth/users/", alice, "X-Request-ID", "req-rl-fail-1")
	if status != fasthttp.StatusCreated {
		t.Fatalf("register with a failing limiter: %d %s", status, body)
	}
	wantRateHeaders(t, hdr, "", "", "", "")
	if status, _, body := ts.do("POST", "/auth/jwt/create/", alice, "X-Request-ID", "req-rl-fail-2"); status != fasthttp.StatusOK {
		t.Fatalf("login with a failing limiter: %d %s", status, body)
	}
	if got := ts.srv.RateLimitFailOpens() - before; got != 2 {
		t.Fatalf("fail-open count grew by %d, want 2", got)
	}
	keysMu.Lock()
	if len(keys) != 2 || !strings.HasPrefix(keys[0], "ip:") || keys[0] != keys[1] {
		t.Errorf("limiter keys = %q, want the same ip:<client IP> twice", keys)
	}
	keysMu.Unlock()
	for _, id := range []string{"req-rl-fail-1", "req-rl-fail-2"} {
		var warnings int
		for _, line := range strings.Split(logs.String(), "\n") {
			if strings.Contains(line, `"request_id":"`+id+`"`) && strings.Contains(line, `"level":"warn"`) {
				warnings++
				if !strings.Contains(line, "connection refused") {
					t.Errorf("warning lacks the error: %s", line)
				}
			}
		}
		if warnings != 1 {
			t.Errorf("%s: %d warnings logged, want 1:\n%s", id, warnings, logs.String())
		}
	}
}

// TestNoLimiterNoHeaders: without a limiter, auth answers carry no
// RateLimit-* headers and are never refused.
func TestNoLimiterNoHeaders(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	for range 20 {
		status, hdr, body := ts.do("POST", "/auth/jwt/create/", map[string]string{"username": "nobody", "password": "wrong password"})
		if status != fasthttp.StatusUnauthorized {
			t.Fatalf("status %d: %s", status, body)
		}
		wantRateHeaders(t, hdr, "", "", "", "")
	}
}
