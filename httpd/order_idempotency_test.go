package httpd

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/flashstock/flashstock/engine"
)

// Idempotency keys and rate limits on POST /orders/.

// TestOrderCreateIdempotencyKey: POST /orders/ through a correct
// in-memory Idempotency store.
func TestOrderCreateIdempotencyKey(t *testing.T) {
	t.Parallel()
	idem := newMemIdempotency()
	f := newOrderFixture(t, func(_ *Config, d *Deps) { d.Idempotency = idem })
	body := orderBody(orderLine(orderProductA, 2))
	status, hdr, first := f.do("POST", "/orders/", body, with(f.buyerAuth, headerIdempotencyKey, "key-1")...)
	wantFresh(t, status, hdr, first)
	placed := f.placed.all()
	if len(placed) != 1 {
		t.Fatalf("PlaceOrder called %d times, want 1", len(placed))
	}
	wantOrder(t, status, first, fasthttp.StatusCreated, placedOrder(placed[0]))

	for _, path := range []string{"/orders/", "/orders"} {
		status, hdr, again := f.do("POST", path, body, with(f.buyerAuth, headerIdempotencyKey, "key-1")...)
		wantReplay(t, status, hdr, again, fasthttp.StatusCreated, first, "application/json")
	}
	status, hdr, resp := f.do("POST", "/orders/", orderBody(orderLine(orderProductA, 3)),
		with(f.buyerAuth, headerIdempotencyKey, "key-1")...)
	wantProblem(t, status, hdr, resp, fasthttp.StatusUnprocessableEntity, "idempotency_key_reused")
	if v := headerValue(hdr, headerIdempotentReplayed); v != "" {
		t.Errorf("422 carries %s: %q", headerIdempotentReplayed, v)
	}
	if n := len(f.placed.all()); n != 1 {
		t.Fatalf("PlaceOrder called %d times for one key, want 1", n)
	}

	// Keys are per user; without a key every request places an order.
	status, hdr, resp = f.do("POST", "/orders/", body, with(f.otherAuth, headerIdempotencyKey, "key-1")...)
	wantFresh(t, status, hdr, resp)
	for range 2 {
		status, hdr, resp = f.do("POST", "/orders/", body, f.buyerAuth...)
		wantFresh(t, status, hdr, resp)
	}
	placed = f.placed.all()
	if len(placed) != 4 || placed[1].UserID != f.other.ID || placed[2].OrderID == placed[3].OrderID {
		t.Errorf("PlaceOrder calls %+v: want 4, the second for the other user, each with its own id", placed)
	}
}

// TestOrderCreateIdempotencyTakeOver: a placement whose outcome was unknown
// (503 after the order may have committed) holds the key; once its lease
// has run out, a repeat looks the earlier attempt's order up by its id and
// answers with it if it exists, or else places the order under that same
// id (so that a late commit of the earlier attempt cannot make a second
// order).
func TestOrderCreateIdempotencyTakeOver(t *testing.T) {
	t.Parallel()
	for _, committed := range []bool{true, false} {
		t.Run(fmt.Sprintf("committed=%v", committed), func(t *testing.T) {
			t.Parallel()
			idem := newMemIdempotency()
			f := newOrderFixture(t, func(_ *Config, d *Deps) { d.Idempotency = idem })
			var timingOut atomic.Bool // PlaceOrder's commit times out
			var stored recorder[engine.Order]
			f.orders.PlaceOrderFunc = func(_ context.Context, cmd engine.PlaceOrder) (engine.Order, error) {
				f.placed.add(cmd)
				if timingOut.Load() {
					if committed {
						stored.add(placedOrder(cmd))
					}
					return engine.Order{}, fmt.Errorf("commit: %w: timeout", engine.ErrUnavailable)
				}
				return placedOrder(cmd), nil
			}
			f.orders.OrderFunc = func(_ context.Context, id engine.ID) (engine.Order, error) {
				f.looked.add(id)
				for _, o := range stored.all() {
					if o.ID == id {
						return o, nil
					}
				}
				return engine.Order{}, fmt.Errorf("order %s: %w", id, engine.ErrNotFound)
			}
			body := orderBody(orderLine(orderProductB, 1))
			auth := with(f.buyerAuth, headerIdempotencyKey, "retry-me")

			timingOut.Store(true)
			status, hdr, resp := f.do("POST", "/orders/", body, auth...)
			wantProblem(t, status, hdr, resp, fasthttp.StatusServiceUnavailable, "unavailable")
			status, hdr, resp = f.do("POST", "/orders/", body, auth...)
			wantProblem(t, status, hdr, resp, fasthttp.StatusConflict, "conflict")
			timingOut.Store(false)

			idem.expireLease(t, f.buyer.ID, "retry-me")
			status, hdr, resp = f.do("POST", "/orders/", body, auth...)
			placed, looked := f.placed.all(), f.looked.all()
			if len(placed) == 0 || !slices.Equal(looked, []engine.ID{placed[0].OrderID}) {
				t.Fatalf("looked up %v, want only the first attempt's order id", looked)
			}
			if committed {
				if v := headerValue(hdr, headerIdempotentReplayed); v != "true" {
					t.Errorf("%s = %q, want true", headerIdempotentReplayed, v)
				}
				wantOrder(t, status, resp, fasthttp.StatusCreated, placedOrder(placed[0]))
				if len(placed) != 1 {
					t.Errorf("PlaceOrder called %d times, want once: the first attempt's order exists", len(placed))
				}
			} else {
				wantFresh(t, status, hdr, resp)
				if len(placed) != 2 || placed[1].OrderID != placed[0].OrderID || placed[1].UserID != f.buyer.ID {
					t.Fatalf("PlaceOrder calls %+v: want a second one for the buyer with the first one's order id", placed)
				}
				wantOrder(t, status, resp, fasthttp.StatusCreated, placedOrder(placed[1]))
			}
			// Either way the outcome is now recorded and replayed.
			status, hdr, again := f.do("POST", "/orders/", body, auth...)
			wantReplay(t, status, hdr, again, fasthttp.StatusCreated, resp, "application/json")
		})
	}
}

func TestOrderCreateRateLimited(t *testing.T) {
	t.Parallel()
	var keys recorder[string]
	limiter := &rateLimiterFake{AllowFunc: func(_ context.Context, key string) (engine.RateDecision, error) {
		keys.add(key)
		return engine.RateDecision{Limit: 5, RetryAfter: 11500 * time.Millisecond, ResetAfter: time.Minute}, nil
	}}
	idem := newMemIdempotency()
	f := newOrderFixture(t, func(_ *Config, d *Deps) { d.OrderLimiter, d.Idempotency = limiter, idem })
	// Refused before the body is read; the key is given back each time.
	for _, body := range []string{orderBody(orderLine(orderProductA, 1)), `{"items":[]}`, "{not json"} {
		status, hdr, resp := f.do("POST", "/orders/", body, with(f.buyerAuth, headerIdempotencyKey, "k")...)
		wantProblem(t, status, hdr, resp, fasthttp.StatusTooManyRequests, "rate_limited")
		wantRateHeaders(t, hdr, "5", "0", "60", "12")
	}
	idem.mu.Lock()
	kept := len(idem.records)
	idem.mu.Unlock()
	if n := kept; n != 0 {
		t.Errorf("%d idempotency records kept by rate-limited requests, want 0", n)
	}
	if n := len(f.placed.all()); n != 0 {
		t.Errorf("PlaceOrder called %d times while rate limited, want 0", n)
	}
	if got := keys.all(); len(got) != 3 || got[0] != "user:"+f.buyer.ID.String() || got[2] != got[0] {
		t.Errorf("limiter keys = %q, want user:<buyer id> three times", got)
	}
	// Neither anonymous requests nor reads reach the limiter.
	f.do("POST", "/orders/", orderBody(orderLine(orderProductA, 1)))
	f.do("GET", "/orders/", nil, f.buyerAuth...)
	if n := len(keys.all()); n != 3 {
		t.Errorf("limiter consulted %d times in all, want 3", n)
	}
}

// TestOrderCreateRateLimitPerUser: with the memory limiter, each user has
// their own budget, and an allowed order carries the RateLimit-* headers.
func TestOrderCreateRateLimitPerUser(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	f := newOrderFixture(t, func(_ *Config, d *Deps) {
		d.OrderLimiter = newMemoryLimiter(perMinute(2), clock.Now, memLimiterKeysMax) // one per 30 s
	})
	body := orderBody(orderLine(orderProductA, 1))
	post := func(auth []string, wantStatus int, remaining, reset, retryAfter string) {
		t.Helper()
		status, hdr, resp := f.do("POST", "/orders/", body, auth...)
		if status != wantStatus {
			t.Fatalf("status %d, want %d: %s", status, wantStatus, resp)
		}
		wantRateHeaders(t, hdr, "2", remaining, reset, retryAfter)
	}
	post(f.buyerAuth, fasthttp.StatusCreated, "1", "30", "")
	post(f.buyerAuth, fasthttp.StatusCreated, "0", "60", "")
	post(f.buyerAuth, fasthttp.StatusTooManyRequests, "0", "60", "30")
	post(f.otherAuth, fasthttp.StatusCreated, "1", "30", "")
	clock.advance(30 * time.Second)
	post(f.buyerAuth, fasthttp.StatusCreated, "0", "60", "")
	placed := f.placed.all()
	var byBuyer int
	for _, cmd := range placed {
		if cmd.UserID == f.buyer.ID {
			byBuyer++
		}
	}
	if len(placed) != 4 || byBuyer != 3 {
		t.Errorf("PlaceOrder called %d times (%d for the buyer), want 4 (3)", len(placed), byBuyer)
	}
}

// TestOrderReplayCostsNoRateBudget: a repeat of a placed order under its
// Idempotency-Key (the retry the README tells clients to make) is answered
// from the record without spending the order rate limit; new orders, with
// or without a key, still spend it.
func TestOrderReplayCostsNoRateBudget(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	idem := newMemIdempotency()
	f := newOrderFixture(t, func(_ *Config, d *Deps) {
		d.OrderLimiter = newMemoryLimiter(perMinute(1), clock.Now, memLimiterKeysMax)
		d.Idempotency = idem
	})
	body := orderBody(orderLine(orderProductA, 1))
	keyed := func(key string) []string { return with(f.buyerAuth, headerIdempotencyKey, key) }
	status, hdr, first := f.do("POST", "/orders/", body, keyed("K")...)
	wantFresh(t, status, hdr, first)
	for range 3 {
		status, hdr, again := f.do("POST", "/orders/", body, keyed("K")...)
		wantReplay(t, status, hdr, again, fasthttp.StatusCreated, first, "application/json")
	}
	// Another body under K is 422, not 429: it is refused without doing work.
	status, hdr, resp := f.do("POST", "/orders/", orderBody(orderLine(orderProductA, 2)), keyed("K")...)
	wantProblem(t, status, hdr, resp, fasthttp.StatusUnprocessableEntity, "idempotency_key_reused")
	// The budget is spent: new orders are refused, with or without a key.
	status, hdr, resp = f.do("POST", "/orders/", body, f.buyerAuth...)
	wantProblem(t, status, hdr, resp, fasthttp.StatusTooManyRequests, "rate_limited")
	status, hdr, resp = f.do("POST", "/orders/", body, keyed("K2")...)
	wantProblem(t, status, hdr, resp, fasthttp.StatusTooManyRequests, "rate_limited")
	if n := len(f.placed.all()); n != 1 {
		t.Fatalf("PlaceOrder called %d times, want 1", n)
	}
	// K2 was given back: once the budget refills, it places its order.
	clock.advance(time.Minute)
	status, hdr, resp = f.do("POST", "/orders/", body, keyed("K2")...)
	wantFresh(t, status, hdr, resp)
}
