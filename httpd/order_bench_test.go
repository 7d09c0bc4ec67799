package httpd

import (
	"context"
	"io"
	"testing"

	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"github.com/flashstock/flashstock/engine"
)

// BenchmarkCreateOrder measures the HTTP edge of POST /orders/ alone (the
// handler chain against a fake Orders, no sockets): CPU and allocations per
// order, with request logging on at info level as in production.
//
//	go test -run X -bench CreateOrder -benchmem ./httpd/
func BenchmarkCreateOrder(b *testing.B) {
	place := newOrderPlacer(b, nil)
	b.ReportAllocs()
	for b.Loop() {
		place()
	}
}

// newOrderPlacer returns a function that places one single-item order
// through the whole handler chain, in memory, against a fake Orders that
// accepts it, with obs as the observer (nil = none); it fails tb unless the
// answer is 201. Requests reuse one RequestCtx, as fasthttp's workers do.
func newOrderPlacer(tb testing.TB, obs Observer) func() {
	tb.Helper()
	users := newMemStore()
	if err := users.CreateUser(context.Background(), testUser); err != nil { // tokens of unknown users are refused
		tb.Fatal(err)
	}
	srv, err := New(Config{JWTSecret: testSecret}, Deps{Users: users, Products: newMemStore(),
		Orders: &ordersFake{PlaceOrderFunc: func(_ context.Context, cmd engine.PlaceOrder) (engine.Order, error) {
			return placedOrder(cmd), nil
		}},
		Log: zerolog.New(io.Discard).Level(zerolog.InfoLevel), Observer: obs})
	if err != nil {
		tb.Fatal(err)
	}
	token, err := srv.tokens.issue(kindAccess, testUser)
	if err != nil {
		tb.Fatal(err)
	}
	body := []byte(`{"items":[{"product_id":"` + orderProductA.String() + `","quantity":1}]}`)
	h := srv.Handler()
	var ctx fasthttp.RequestCtx
	return func() {
		ctx.Request.Reset()
		ctx.Response.Reset()
		ctx.Request.Header.SetMethod(fasthttp.MethodPost)
		ctx.Request.SetRequestURI("/orders/")
		ctx.Request.Header.Set(fasthttp.HeaderAuthorization, "JWT "+token)
		ctx.Request.Header.SetContentType("application/json")
		ctx.Request.SetBody(body)
		h(&ctx)
		if ctx.Response.StatusCode() != fasthttp.StatusCreated {
			tb.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
		}
	}
}
