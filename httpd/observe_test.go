package httpd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/flashstock/flashstock/engine"
	"github.com/flashstock/flashstock/internal/testenv"
)

// What the server tells Deps.Observer: one Request per request, labelled
// with the route pattern, and one OrderPlaced per order placement attempt.

type requestSeen struct {
	route, method string
	status        int
	took          time.Duration
}

type orderSeen struct {
	result string
	took   time.Duration
	total  engine.Money
}

// observed is an observerFake that records every call.
type observed struct {
	fake     *observerFake
	requests recorder[requestSeen]
	orders   recorder[orderSeen]
}

func newObserved() *observed {
	o := &observed{}
	o.fake = &observerFake{
		RequestFunc: func(route, method string, status int, took time.Duration) {
			o.requests.add(requestSeen{route, method, status, took})
		},
		OrderPlacedFunc: func(result string, took time.Duration, total engine.Money) {
			o.orders.add(orderSeen{result, took, total})
		},
	}
	return o
}

// option installs the observer in a test server's deps.
func (o *observed) option(_ *Config, d *Deps) { d.Observer = o.fake }

func TestObserverRequest(t *testing.T) {
	t.Parallel()
	obs := newObserved()
	f := newOrderFixture(t, obs.option, func(c *Config, d *Deps) {
		// The oversized body below, with its headers, fits the client's
		// 4 KiB write buffer: sent in one write, it cannot race the
		// server's close of the connection.
		c.BodyBytesMax = 1024
		d.Products = &productsFake{ProductFunc: func(context.Context, engine.ID) (engine.Product, error) {
			panic("product store exploded")
		}}
	})
	order := storedOrder(orderID(1), f.buyer.ID, engine.StatusPending)
	f.withOrders(order)
	tests := []struct {
		name, method, path string
		body               any
		headers            []string
		want               requestSeen
	}{
		{"public", "GET", "/healthz", nil, nil, requestSeen{route: "/healthz", method: "GET", status: 200}},
		{"head", "HEAD", "/healthz/", nil, nil, requestSeen{route: "/healthz", method: "HEAD", status: 200}},
		{"pattern, not path", "GET", "/orders/" + order.ID.String(), nil, f.buyerAuth,
			requestSeen{route: "/orders/{id}", method: "GET", status: 200}},
		{"pattern, trailing slash", "GET", "/orders/" + order.ID.String() + "/", nil, f.buyerAuth,
			requestSeen{route: "/orders/{id}", method: "GET", status: 200}},
		{"created", "POST", "/orders", orderBody(orderLine(orderProductA, 1)), f.buyerAuth,
			requestSeen{route: "/orders/", method: "POST", status: 201}},
		{"unauthorized", "GET", "/orders/", nil, nil, requestSeen{route: "/orders/", method: "GET", status: 401}},
		{"not found by the handler", "GET", "/orders/" + orderID(2).String(), nil, f.buyerAuth,
			requestSeen{route: "/orders/{id}", method: "GET", status: 404}},
		{"unknown route", "GET", "/no/such/" + orderID(3).String(), nil, nil,
			requestSeen{route: "not_found", method: "GET", status: 404}},
		{"method not allowed", "DELETE", "/products/", nil, nil,
			requestSeen{route: "method_not_allowed", method: "DELETE", status: 405}},
		{"other method", "BREW", "/healthz", nil, nil,
			requestSeen{route: "method_not_allowed", method: "OTHER", status: 405}},
		{"panic", "GET", "/products/" + orderProductA.String(), nil, nil,
			requestSeen{route: "/products/{id}", method: "GET", status: 500}},
		{"refused by the transport", "POST", "/orders/", strings.Repeat("x", 2048), f.buyerAuth,
			requestSeen{route: "transport", method: "POST", status: 413}},
	}
	for _, tt := range tests {
		before := len(obs.requests.all())
		status, _, body := f.do(tt.method, tt.path, tt.body, tt.headers...)
		if status != tt.want.status {
			t.Errorf("%s: %s %s: status %d, want %d: %s", tt.name, tt.method, tt.path, status, tt.want.status, body)
		}
		got := obs.requests.all()[before:]
		if len(got) != 1 {
			t.Errorf("%s: %d Request calls, want 1: %+v", tt.name, len(got), got)
			continue
		}
		if got[0].took < 0 || (tt.want.route != routeTransport && got[0].took == 0) {
			t.Errorf("%s: took = %v, want > 0 (0 only for the transport)", tt.name, got[0].took)
		}
		got[0].took = 0
		if got[0] != tt.want {
			t.Errorf("%s: Request(%+v), want %+v", tt.name, got[0], tt.want)
		}
	}
}

func TestObserverOrderPlaced(t *testing.T) {
	t.Parallel()
	body := orderBody(orderLine(orderProductA, 2), orderLine(orderProductB, 1))
	shortfall := &engine.StockError{ProductID: orderProductA, Available: 1, Requested: 2}
	failing := func(err error) func(context.Context, engine.PlaceOrder) (engine.Order, error) {
		return func(context.Context, engine.PlaceOrder) (engine.Order, error) { return engine.Order{}, err }
	}
	tests := []struct {
		name   string
		place  func(context.Context, engine.PlaceOrder) (engine.Order, error) // nil = placedOrder
		body   string
		status int
		want   string
	}{
		{"created", nil, body, 201, OrderResultCreated},
		{"insufficient stock", failing(fmt.Errorf("place: %w", shortfall)), body, 400, OrderResultInsufficientStock},
		{"validation", nil, `{"items":[]}`, 400, OrderResultInvalid},
		{"unknown product", failing(engine.Invalid("items[0].product_id", "no such product")), body, 400, OrderResultInvalid},
		{"malformed JSON", nil, `{"items":`, 400, OrderResultInvalid},
		{"overloaded", failing(engine.ErrOverloaded), body, 503, OrderResultOverloaded},
		{"unavailable", failing(fmt.Errorf("commit: %w", engine.ErrUnavailable)), body, 503, OrderResultUnavailable},
		{"internal", failing(errors.New("driver exploded")), body, 500, OrderResultError},
		{"panic", func(context.Context, engine.PlaceOrder) (engine.Order, error) { panic("actor exploded") },
			body, 500, OrderResultError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			obs := newObserved()
			f := newOrderFixture(t, obs.option)
			if tt.place != nil {
				f.orders.PlaceOrderFunc = tt.place
			}
			status, _, resp := f.do("POST", "/orders/", tt.body, f.buyerAuth...)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %s", status, tt.status, resp)
			}
			got := obs.orders.all()
			if len(got) != 1 {
				t.Fatalf("OrderPlaced calls %+v, want 1", got)
			}
			var wantTotal engine.Money
			if tt.want == OrderResultCreated {
				wantTotal = engine.Money{Amount: 2*1250 + 99, Currency: "EUR"}
			}
			if got[0].result != tt.want || got[0].total != wantTotal || got[0].took <= 0 {
				t.Errorf("OrderPlaced(%q, %v, %v), want (%q, > 0, %v)", got[0].result, got[0].took, got[0].total,
					tt.want, wantTotal)
			}
		})
	}
}

// TestObserverOrderPlacedNotCounted: requests that place nothing of their
// own are not reported: an anonymous one, and repeats under an
// Idempotency-Key (a replay, or one refused while the first is in flight).
// A key reused with another body is the client's mistake: invalid.
func TestObserverOrderPlacedNotCounted(t *testing.T) {
	t.Parallel()
	obs := newObserved()
	f := newOrderFixture(t, obs.option, func(_ *Config, d *Deps) { d.Idempotency = newMemIdempotency() })
	body := orderBody(orderLine(orderProductA, 1))
	key := with(f.buyerAuth, headerIdempotencyKey, "k-1")
	for i, want := range []int{201, 201, 201} {
		if status, _, resp := f.do("POST", "/orders/", body, key...); status != want {
			t.Fatalf("request %d: status %d, want %d: %s", i, status, want, resp)
		}
	}
	if status, _, resp := f.do("POST", "/orders/", body); status != 401 {
		t.Fatalf("anonymous: status %d: %s", status, resp)
	}
	if status, _, resp := f.do("POST", "/orders/", orderBody(orderLine(orderProductA, 5)), key...); status != 422 {
		t.Fatalf("key reused: status %d: %s", status, resp)
	}
	got := obs.orders.all()
	if len(got) != 2 || got[0].result != OrderResultCreated || got[0].total.Amount != 1250 ||
		got[1].result != OrderResultInvalid {
		t.Errorf("OrderPlaced calls %+v, want created (1250) then invalid", got)
	}
	if n := len(f.placed.all()); n != 1 {
		t.Errorf("PlaceOrder called %d times, want 1", n)
	}

	inFlight := newObserved()
	g := newOrderFixture(t, inFlight.option, func(_ *Config, d *Deps) {
		d.Idempotency = &idempotencyFake{BeginIdempotentFunc: func(context.Context, engine.IdempotencyClaim) (engine.IdempotencyState, error) {
			return engine.IdempotencyState{Outcome: engine.IdempotencyInFlight}, nil
		}}
	})
	if status, _, resp := g.do("POST", "/orders/", body, with(g.buyerAuth, headerIdempotencyKey, "k-2")...); status != 409 {
		t.Fatalf("in flight: status %d: %s", status, resp)
	}
	if got := inFlight.orders.all(); len(got) != 0 {
		t.Errorf("OrderPlaced calls %+v for a request refused while the first is in flight, want none", got)
	}
}

// TestObserverOrderPlacedRateLimited: a rate-limited placement is reported
// as overloaded, before the body is read.
func TestObserverOrderPlacedRateLimited(t *testing.T) {
	t.Parallel()
	obs := newObserved()
	f := newOrderFixture(t, obs.option, func(_ *Config, d *Deps) {
		d.OrderLimiter = &rateLimiterFake{AllowFunc: func(context.Context, string) (engine.RateDecision, error) {
			return engine.RateDecision{Limit: 5, RetryAfter: time.Second}, nil
		}}
	})
	if status, _, resp := f.do("POST", "/orders/", "{not json", f.buyerAuth...); status != 429 {
		t.Fatalf("status %d: %s", status, resp)
	}
	if got := obs.orders.all(); len(got) != 1 || got[0].result != OrderResultRateLimited || got[0].total != (engine.Money{}) {
		t.Errorf("OrderPlaced calls %+v, want one overloaded", got)
	}
}

func TestOrderResult(t *testing.T) {
	t.Parallel()
	for err, want := range map[error]string{
		nil: OrderResultCreated,
		fmt.Errorf("x: %w", &engine.StockError{}):            OrderResultInsufficientStock,
		engine.Invalid("items", "empty"):                     OrderResultInvalid,
		fmt.Errorf("%w: eof", errMalformedJSON):              OrderResultInvalid,
		errIdempotencyKeyReused:                              OrderResultInvalid,
		&rateLimitedError{}:                                  OrderResultRateLimited,
		fmt.Errorf("x: %w", engine.ErrOverloaded):            OrderResultOverloaded,
		fmt.Errorf("x: %w", engine.ErrUnavailable):           OrderResultUnavailable,
		fmt.Errorf("x: %w", engine.ErrConflict):              OrderResultError,
		errPanic:                                             OrderResultError,
		errors.New("anything else"):                          OrderResultError,
		fmt.Errorf("x: %w", context.DeadlineExceeded):        OrderResultError,
		fmt.Errorf("%w: unknown product", engine.ErrInvalid): OrderResultInvalid,
	} {
		if got := orderResult(err); got != want {
			t.Errorf("orderResult(%v) = %q, want %q", err, got, want)
		}
	}
}

func TestMethodLabel(t *testing.T) { // not parallel: AllocsPerRun
	for in, want := range map[string]string{
		"GET": "GET", "HEAD": "HEAD", "POST": "POST", "PUT": "PUT", "PATCH": "PATCH", "DELETE": "DELETE",
		"OPTIONS": "OPTIONS", "get": "OTHER", "TRACE": "OTHER", "CONNECT": "OTHER", "": "OTHER", "BREW": "OTHER",
	} {
		if got := methodLabel([]byte(in)); got != want {
			t.Errorf("methodLabel(%q) = %q, want %q", in, got, want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = methodLabel([]byte("PATCH")) }); n != 0 {
		t.Errorf("methodLabel allocates %v times, want 0", n)
	}
}

// TestObserverAddsNoAllocations: placing an order costs the same
// allocations with no observer as with one that counts (the calls pass only
// constants and values), so observing is free on the hot path.
func TestObserverAddsNoAllocations(t *testing.T) {
	allocs := func(obs Observer) float64 { return testenv.Allocs(200, newOrderPlacer(t, obs)) }
	var requests, orders int
	counting := &observerFake{
		RequestFunc:     func(string, string, int, time.Duration) { requests++ },
		OrderPlacedFunc: func(string, time.Duration, engine.Money) { orders++ },
	}
	none, some := allocs(nil), allocs(counting)
	if some != none {
		t.Errorf("an order costs %v allocations with an observer, %v without: want equal", some, none)
	}
	if requests == 0 || requests != orders {
		t.Errorf("observer saw %d requests and %d orders, want equal and > 0", requests, orders)
	}
	t.Logf("%v allocations per order", none)
}
