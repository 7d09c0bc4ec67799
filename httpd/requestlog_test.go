package httpd

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"github.com/flashstock/flashstock/engine"
)

// Request log lines: below 500 sampled (a burst per period, then one in
// requestLogEvery), 5xx always; both keep their ids.

// logLines runs logRequest n times for a request answered with status and
// returns the lines written and the sampling periods the loop touched.
func logLines(t *testing.T, status, n int) (lines []string, periods int) {
	t.Helper()
	logs := &lockedBuffer{}
	srv, err := New(Config{JWTSecret: testSecret}, Deps{Users: newMemStore(), Products: newMemStore(), Orders: &ordersFake{},
		Log: zerolog.New(logs).Level(zerolog.InfoLevel)})
	if err != nil {
		t.Fatal(err)
	}
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(fasthttp.MethodPost)
	ctx.SetStatusCode(status)
	c := &call{ctx: &ctx, requestID: "req-sampled", route: "/orders/", srv: srv, orderID: orderID(7)}
	c.caller = principal{ID: testUser.ID}
	c.user = &c.caller
	start := time.Now()
	for range n {
		srv.logRequest(c, errors.New("boom"), time.Now())
	}
	periods = int(time.Since(start)/requestLogPeriod) + 2 // a partial period at each end
	return strings.Split(strings.TrimSpace(logs.String()), "\n"), periods
}

func TestRequestLogSamplesSuccesses(t *testing.T) {
	const n = 3000
	lines, periods := logLines(t, fasthttp.StatusCreated, n)
	if most := periods*requestLogBurst + n/requestLogEvery + 1; len(lines) < requestLogBurst || len(lines) > min(most, n/2) {
		t.Fatalf("%d lines for %d requests, want between %d and %d", len(lines), n, requestLogBurst, most)
	}
	for _, want := range []string{`"level":"info"`, `"method":"POST"`, `"route":"/orders/"`, `"status":201`,
		`"request_id":"req-sampled"`, `"user_id":"` + testUser.ID.String() + `"`, `"order_id":"` + orderID(7).String() + `"`} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("line lacks %s: %s", want, lines[0])
		}
	}
	if strings.Contains(lines[0], "boom") {
		t.Errorf("a success line carries the error: %s", lines[0])
	}
}

func TestRequestLogKeepsEveryServerError(t *testing.T) {
	const n = 1000
	lines, _ := logLines(t, fasthttp.StatusServiceUnavailable, n)
	if len(lines) != n {
		t.Fatalf("%d lines for %d failed requests, want all", len(lines), n)
	}
	for _, want := range []string{`"level":"error"`, `"error":"boom"`, `"status":503`, `"request_id":"req-sampled"`,
		`"order_id":"` + orderID(7).String() + `"`} {
		if !strings.Contains(lines[n-1], want) {
			t.Errorf("line lacks %s: %s", want, lines[n-1])
		}
	}
}

func TestRequestLogOffFormatsNothing(t *testing.T) {
	srv, err := New(Config{JWTSecret: testSecret}, Deps{Users: newMemStore(), Products: newMemStore(), Orders: &ordersFake{},
		Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	var ctx fasthttp.RequestCtx
	ctx.SetStatusCode(fasthttp.StatusCreated)
	c := &call{ctx: &ctx, requestID: "r", route: "/orders/", srv: srv, orderID: engine.ID{1}}
	c.caller = principal{ID: testUser.ID}
	c.user = &c.caller
	if n := testing.AllocsPerRun(100, func() { srv.logRequest(c, nil, time.Now()) }); n != 0 {
		t.Errorf("a line not written costs %v allocations", n)
	}
}
