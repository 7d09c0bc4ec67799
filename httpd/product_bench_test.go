package httpd

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"github.com/flashstock/flashstock/engine"
)

// BenchmarkProductDetail measures the HTTP edge of GET /products/{id} alone
// (the handler chain against a fake Products answering from memory, as the
// SKU actors do; no sockets): CPU and allocations per read, with request
// logging on at info level as in production.
//
//	go test -run X -bench ProductDetail -benchmem ./httpd/
func BenchmarkProductDetail(b *testing.B) {
	read := newProductReader(b)
	b.ReportAllocs()
	for b.Loop() {
		read()
	}
}

// newProductReader returns a function that reads one active product
// through the whole handler chain, in memory, against a fake Products; it
// fails tb unless the answer is 200. Requests reuse one RequestCtx, as
// fasthttp's workers do.
func newProductReader(tb testing.TB) func() {
	tb.Helper()
	at := time.Date(2030, 1, 2, 3, 4, 5, 123456000, time.UTC)
	p := engine.Product{ID: orderProductA, SKU: "SKU-0000042", Name: "Hot thing", Price: engine.Money{Amount: 1250, Currency: "EUR"},
		Stock: 997, IsActive: true, LowStockThreshold: 10, CreatedAt: at, UpdatedAt: at.Add(time.Second)}
	srv, err := New(Config{JWTSecret: testSecret}, Deps{Users: newMemStore(), Orders: &ordersFake{},
		Products: &productsFake{ProductFunc: func(_ context.Context, id engine.ID) (engine.Product, error) {
			if id != p.ID {
				return engine.Product{}, engine.ErrNotFound
			}
			return p, nil
		}},
		Log: zerolog.New(io.Discard).Level(zerolog.InfoLevel)})
	if err != nil {
		tb.Fatal(err)
	}
	uri := "/products/" + p.ID.String()
	h := srv.Handler()
	var ctx fasthttp.RequestCtx
	return func() {
		ctx.Request.Reset()
		ctx.Response.Reset()
		ctx.Request.Header.SetMethod(fasthttp.MethodGet)
		ctx.Request.SetRequestURI(uri)
		h(&ctx)
		if ctx.Response.StatusCode() != fasthttp.StatusOK {
			tb.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
		}
	}
}
