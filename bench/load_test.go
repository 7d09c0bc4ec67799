package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// serve runs handler on a loopback port until the test ends and returns
// its base URL.
func serve(t *testing.T, handler fasthttp.RequestHandler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: handler}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return "http://" + ln.Addr().String()
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// TestGenerateCountsAnswers drives a server that sells 30 units: every
// 201's id is collected, every other answer counted by status and code.
func TestGenerateCountsAnswers(t *testing.T) {
	var sold atomic.Int64
	url := serve(t, func(c *fasthttp.RequestCtx) {
		if string(c.Request.Header.Peek("Authorization")) != "JWT t" || string(c.Path()) != "/orders/" {
			c.SetStatusCode(401)
			return
		}
		if n := sold.Add(1); n <= 30 {
			c.SetStatusCode(201)
			fmt.Fprintf(c, `{"id":"0196b3c4-0000-7000-8000-%012d","status":"pending"}`, n)
			return
		}
		c.SetStatusCode(400)
		c.SetBodyString(`{"type":"about:blank","code":"insufficient_stock","status":400}`)
	})
	src := func(*rand.Rand) Request {
		return Request{Method: "POST", Path: "/orders/", Auth: "JWT t", Body: []byte(`{}`), Expect: 201, Order: true}
	}
	o, err := Generate(testContext(t), Load{URL: url, Connections: 8, Duration: time.Minute, Requests: 100}, src)
	if err != nil {
		t.Fatal(err)
	}
	if o.Requests != 100 || o.OK != 30 || o.Errors["400 insufficient_stock"] != 70 || len(o.Errors) != 1 {
		t.Fatalf("requests %d ok %d errors %v, want 100, 30, 70 insufficient_stock", o.Requests, o.OK, o.Errors)
	}
	seen := map[string]bool{}
	for _, id := range o.OrderIDs {
		if len(id) != orderIDBytes || seen[id] {
			t.Fatalf("bad or repeated order id %q", id)
		}
		seen[id] = true
	}
	if len(seen) != 30 || o.Latency.TotalCount() != 100 {
		t.Fatalf("%d ids, %d latencies; want 30, 100", len(seen), o.Latency.TotalCount())
	}
}

// TestGenerateKeepsOrderTags: each 201's id comes with the tag of the
// request it answered (the server echoes the body's number in the id).
func TestGenerateKeepsOrderTags(t *testing.T) {
	url := serve(t, func(c *fasthttp.RequestCtx) {
		var n int
		if _, err := fmt.Sscanf(string(c.PostBody()), `{"n":%d}`, &n); err != nil || n%3 == 0 {
			c.SetStatusCode(400)
			return
		}
		c.SetStatusCode(201)
		fmt.Fprintf(c, `{"id":"0196b3c4-0000-7000-8000-%012d"}`, n)
	})
	src := func(r *rand.Rand) Request {
		n := r.IntN(1000)
		return Request{Method: "POST", Path: "/orders/", Body: fmt.Appendf(nil, `{"n":%d}`, n), Expect: 201,
			Order: true, Tag: int32(n)}
	}
	o, err := Generate(testContext(t), Load{URL: url, Connections: 4, Duration: time.Minute, Requests: 300}, src)
	if err != nil {
		t.Fatal(err)
	}
	if len(o.OrderTags) != len(o.OrderIDs) || int64(len(o.OrderIDs)) != o.OK || o.OK == 0 || o.OK == o.Requests {
		t.Fatalf("%d tags, %d ids, %d ok of %d; want a tag per id, some refused", len(o.OrderTags), len(o.OrderIDs),
			o.OK, o.Requests)
	}
	for i, id := range o.OrderIDs {
		if want := fmt.Sprintf("%012d", o.OrderTags[i]); id[len(id)-12:] != want || o.OrderTags[i]%3 == 0 {
			t.Fatalf("order %s came with tag %d", id, o.OrderTags[i])
		}
	}
}

// TestGenerateTransportErrors counts requests to a closed port by kind.
func TestGenerateTransportErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	src := func(*rand.Rand) Request { return Request{Method: "GET", Path: "/", Expect: 200} }
	o, err := Generate(testContext(t), Load{URL: "http://" + addr, Connections: 2, Duration: time.Minute, Requests: 5}, src)
	if err != nil {
		t.Fatal(err)
	}
	var transport int64
	for k, n := range o.Errors {
		if len(k) > 10 && k[:10] == "transport:" {
			transport += n
		}
	}
	if o.OK != 0 || transport != 5 {
		t.Fatalf("ok %d, errors %v: want 5 transport errors", o.OK, o.Errors)
	}
}

// TestOpenLoopCountsQueueing: a server answering one request at a time in
// 20 ms, offered 100 requests/s over one connection, can serve only half.
// Latency measured from the intended send time grows with the backlog; a
// generator that measured from the actual send (coordinated omission)
// would report about 20 ms throughout.
func TestOpenLoopCountsQueueing(t *testing.T) {
	const service = 20 * time.Millisecond
	url := serve(t, func(c *fasthttp.RequestCtx) { time.Sleep(service); c.SetStatusCode(200) })
	src := func(*rand.Rand) Request { return Request{Method: "GET", Path: "/", Expect: 200} }
	o, err := Generate(testContext(t), Load{URL: url, Connections: 1, Rate: 100, Duration: time.Second}, src)
	if err != nil {
		t.Fatal(err)
	}
	p99 := time.Duration(o.Latency.ValueAtQuantile(99)) * time.Microsecond
	if p99 < 10*service {
		t.Fatalf("p99 %s: the backlog behind a slow server is not in the latency", p99)
	}
	if o.Requests+o.Unsent > 100 || o.Requests < 10 {
		t.Fatalf("%d sent and %d unsent of 100 intended", o.Requests, o.Unsent)
	}
}

func TestGenerateRejectsBadLoad(t *testing.T) {
	src := func(*rand.Rand) Request { return Request{} }
	for _, l := range []Load{
		{URL: "not a url", Connections: 1, Duration: time.Second},
		{URL: "http://127.0.0.1:1", Connections: 0, Duration: time.Second},
		{URL: "http://127.0.0.1:1", Connections: 1},
	} {
		if _, err := Generate(testContext(t), l, src); err == nil {
			t.Errorf("%+v: no error", l)
		}
	}
}

func TestOrderIDAndProblemCode(t *testing.T) {
	if got := orderID([]byte(`{"id":"0196b3c4-0000-7000-8000-000000000001","x":1}`)); got != "0196b3c4-0000-7000-8000-000000000001" {
		t.Errorf("orderID = %q", got)
	}
	if got := orderID([]byte(`{"id":"short"}`)); got != "" {
		t.Errorf("orderID of a short id = %q", got)
	}
	if got := string(problemCode([]byte(`{"code":"overloaded","status":503}`))); got != "overloaded" {
		t.Errorf("problemCode = %q", got)
	}
	if got := problemCode([]byte(`{"status":500}`)); got != nil {
		t.Errorf("problemCode without code = %q", got)
	}
}
