package httpd

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/flashstock/flashstock/engine"
)

func TestOrderCreate(t *testing.T) {
	t.Parallel()
	f := newOrderFixture(t)
	before := time.Now().UTC()
	body := orderBody(orderLine(orderProductA, 2), orderLine(orderProductB, 1), orderLine(orderProductA, 3))
	status, hdr, resp := f.do("POST", "/orders/", body, f.buyerAuth...)
	after := time.Now().UTC()
	placed := f.placed.all()
	if len(placed) != 1 {
		t.Fatalf("PlaceOrder called %d times, want 1; status %d %s", len(placed), status, resp)
	}
	cmd := placed[0]
	wantItems := []engine.ItemRequest{{ProductID: orderProductA, Quantity: 5}, {ProductID: orderProductB, Quantity: 1}}
	if !slices.Equal(cmd.Items, wantItems) {
		t.Errorf("PlaceOrder items = %v, want the merged %v", cmd.Items, wantItems)
	}
	if cmd.UserID != f.buyer.ID {
		t.Errorf("PlaceOrder user = %s, want the buyer %s", cmd.UserID, f.buyer.ID)
	}
	if cmd.OrderID.IsZero() || cmd.OrderID[6]>>4 != 7 {
		t.Errorf("PlaceOrder order id = %s, want a fresh UUIDv7", cmd.OrderID)
	}
	if cmd.Now.Location() != time.UTC || cmd.Now.Before(before.Truncate(time.Microsecond)) || cmd.Now.After(after) {
		t.Errorf("PlaceOrder now = %v, want UTC between %v and %v", cmd.Now, before, after)
	}
	want := placedOrder(cmd)
	wantOrder(t, status, resp, fasthttp.StatusCreated, want)
	if ct := headerValue(hdr, "Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	// Spot-check the wire form by hand too: totals, and times in UTC.
	var raw struct {
		Total     int64  `json:"total"`
		CreatedAt string `json:"created_at"`
		ExpiresAt string `json:"expires_at"`
	}
	mustJSON(t, resp, &raw)
	if raw.Total != 5*1250+99 || raw.CreatedAt != "2030-01-02T01:04:05.123456Z" || raw.ExpiresAt != "2030-01-02T01:19:05.123456Z" {
		t.Errorf("total %d, created_at %q, expires_at %q", raw.Total, raw.CreatedAt, raw.ExpiresAt)
	}

	// Without the trailing slash too, and each order gets its own id.
	status, _, resp = f.do("POST", "/orders", orderBody(orderLine(orderProductB, 7)), f.buyerAuth...)
	if placed = f.placed.all(); len(placed) != 2 {
		t.Fatalf("POST /orders: PlaceOrder called %d times in all, want 2; %d %s", len(placed), status, resp)
	}
	if placed[1].OrderID == cmd.OrderID || placed[1].OrderID.IsZero() {
		t.Errorf("second order id %s, first %s: want a fresh one", placed[1].OrderID, cmd.OrderID)
	}
	wantOrder(t, status, resp, fasthttp.StatusCreated, placedOrder(placed[1]))
}

func TestOrderCreateRejectsInvalidBodies(t *testing.T) {
	t.Parallel()
	f := newOrderFixture(t)
	a, b := orderProductA.String(), orderProductB.String()
	many := func(n int, line func(i int) string) string {
		lines := make([]string, n)
		for i := range lines {
			lines[i] = line(i)
		}
		return orderBody(lines...)
	}
	for _, tc := range []struct {
		name, body string
		fields     []string
	}{
		{"missing items", `{}`, []string{"items"}},
		{"null items", `{"items":null}`, []string{"items"}},
		{"empty items", `{"items":[]}`, []string{"items"}},
		{"items not an array", `{"items":{}}`, []string{"items"}},
		{"bad uuid", orderBody(`{"product_id":"nope","quantity":1}`), []string{"items[0].product_id"}},
		{"bad uuid in the second line", orderBody(orderLine(orderProductA, 1), `{"product_id":"123","quantity":1}`),
			[]string{"items[1].product_id"}},
		{"nil uuid", orderBody(orderLine(engine.NilID, 1)), []string{"items[0].product_id"}},
		{"quantity 0", orderBody(orderLine(orderProductA, 0)), []string{"items[0].quantity"}},
		{"quantity -1", orderBody(orderLine(orderProductA, -1)), []string{"items[0].quantity"}},
		{"quantity 10001", orderBody(orderLine(orderProductA, 10001)), []string{"items[0].quantity"}},
		{"merged quantity 10001", orderBody(orderLine(orderProductA, 6000), orderLine(orderProductB, 1), orderLine(orderProductA, 4001)),
			[]string{"items[2].quantity"}},
		{"null product_id", orderBody(`{"product_id":null,"quantity":1}`), []string{"items[0].product_id"}},
		{"null quantity", orderBody(`{"product_id":"` + a + `","quantity":null}`), []string{"items[0].quantity"}},
		{"empty line", orderBody(`{}`), []string{"items[0].product_id", "items[0].quantity"}},
		{"null line", orderBody(`null`), []string{"items[0].product_id", "items[0].quantity"}},
		{"every bad line reported", orderBody(`{"quantity":1}`, `{"product_id":"`+b+`"}`),
			[]string{"items[0].product_id", "items[1].quantity"}},
		{"unknown field", `{"items":[` + orderLine(orderProductA, 1) + `],"coupon":"FREE"}`, []string{"coupon"}},
		{"status set by the client", `{"items":[` + orderLine(orderProductA, 1) + `],"status":"confirmed"}`, []string{"status"}},
		{"101 distinct products", many(101, func(i int) string {
			return orderLine(engine.ID{0x01, 6: 0x70, 8: 0x80, 14: byte(i >> 8), 15: byte(i) + 1}, 1)
		}), []string{"items"}},
		{"1001 lines", many(1001, func(int) string { return orderLine(orderProductA, 1) }), []string{"items"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, hdr, body := f.do("POST", "/orders/", tc.body, f.buyerAuth...)
			p := wantProblem(t, status, hdr, body, fasthttp.StatusBadRequest, "validation_failed")
			wantFieldErrors(t, p, tc.fields...)
		})
	}
	// Type errors name the member too (encoding/json knows no line index).
	for _, body := range []string{
		orderBody(`{"product_id":"` + a + `","quantity":"1"}`),
		orderBody(`{"product_id":"` + a + `","quantity":1.5}`),
		orderBody(`{"product_id":"` + a + `","quantity":99999999999999999999}`),
	} {
		status, hdr, resp := f.do("POST", "/orders/", body, f.buyerAuth...)
		p := wantProblem(t, status, hdr, resp, fasthttp.StatusBadRequest, "validation_failed")
		if len(p.Errors) != 1 || (p.Errors[0].Field != "items[0].quantity" && p.Errors[0].Field != "items.quantity") {
			t.Errorf("%s: errors %v, want one naming the quantity", body, p.Errors)
		}
	}
	for _, body := range []string{"", "{", `{"items":[` + orderLine(orderProductA, 1) + `]} {}`, `[]`} {
		status, hdr, resp := f.do("POST", "/orders/", body, f.buyerAuth...)
		wantProblem(t, status, hdr, resp, fasthttp.StatusBadRequest, "malformed_json")
	}
	if n := len(f.placed.all()); n != 0 {
		t.Errorf("PlaceOrder called %d times for invalid bodies, want 0", n)
	}
}

// TestOrderCreateRejectsUnknownLineField: a regression test. call.decode
// refuses unknown members, but a nested json.Unmarshal of the lines did not,
// so a misspelt member of a line ("quantiy") was silently dropped; lines
// are now decoded strictly one by one.
func TestOrderCreateRejectsUnknownLineField(t *testing.T) {
	t.Parallel()
	f := newOrderFixture(t)
	body := orderBody(`{"product_id":"` + orderProductA.String() + `","quantity":1,"quantiy":5}`)
	status, hdr, resp := f.do("POST", "/orders/", body, f.buyerAuth...)
	p := wantProblem(t, status, hdr, resp, fasthttp.StatusBadRequest, "validation_failed")
	if len(p.Errors) != 1 || p.Errors[0].Field != "items[0].quantiy" {
		t.Errorf("errors %v, want one naming quantiy", p.Errors)
	}
	if n := len(f.placed.all()); n != 0 {
		t.Errorf("PlaceOrder called %d times, want 0", n)
	}
}

func TestOrderCreateEngineErrors(t *testing.T) {
	t.Parallel()
	f := newOrderFixture(t)
	stockErr := &engine.StockError{ProductID: orderProductB, Available: 3, Requested: 4}
	var placeErr error
	f.orders.PlaceOrderFunc = func(_ context.Context, cmd engine.PlaceOrder) (engine.Order, error) {
		f.placed.add(cmd)
		return engine.Order{}, placeErr
	}
	body := orderBody(orderLine(orderProductA, 1), orderLine(orderProductB, 4))

	placeErr = fmt.Errorf("sku %s: reserve: %w", orderProductB, stockErr)
	status, hdr, resp := f.do("POST", "/orders/", body, f.buyerAuth...)
	p := wantProblem(t, status, hdr, resp, fasthttp.StatusBadRequest, "insufficient_stock")
	if p.ProductID != orderProductB.String() || p.Available == nil || *p.Available != 3 || p.Requested == nil || *p.Requested != 4 {
		t.Errorf("insufficient_stock body %s: want product_id %s, available 3, requested 4", resp, orderProductB)
	}

	for _, tc := range []struct {
		err        error
		status     int
		code       string
		retryAfter string
	}{
		{fmt.Errorf("sku inbox full: %w", engine.ErrOverloaded), fasthttp.StatusServiceUnavailable, "overloaded", "1"},
		{fmt.Errorf("commit: %w: dial tcp 10.0.0.7:5432", engine.ErrUnavailable), fasthttp.StatusServiceUnavailable, "unavailable", "1"},
		{engine.Invalid("items[0].product_id", "no such product"), fasthttp.StatusBadRequest, "validation_failed", ""},
		{errors.New("boom: pgx: secret internals"), fasthttp.StatusInternalServerError, "internal", ""},
	} {
		placeErr = tc.err
		status, hdr, resp := f.do("POST", "/orders/", body, f.buyerAuth...)
		p := wantProblem(t, status, hdr, resp, tc.status, tc.code)
		if got := headerValue(hdr, "Retry-After"); got != tc.retryAfter {
			t.Errorf("%s: Retry-After = %q, want %q", tc.code, got, tc.retryAfter)
		}
		if strings.Contains(p.Detail, "10.0.0.7") || strings.Contains(p.Detail, "pgx") {
			t.Errorf("%s: detail leaks internals: %q", tc.code, p.Detail)
		}
	}
	if n := len(f.placed.all()); n != 5 {
		t.Errorf("PlaceOrder called %d times, want 5", n)
	}
}

func TestOrderRoutesRequireToken(t *testing.T) {
	t.Parallel()
	f := newOrderFixture(t)
	id := orderID(1).String()
	f.withOrders(storedOrder(orderID(1), f.buyer.ID, engine.StatusPending))
	for _, r := range []struct{ method, path, body string }{
		{"POST", "/orders/", orderBody(orderLine(orderProductA, 1))},
		{"POST", "/orders", orderBody(orderLine(orderProductA, 1))},
		{"GET", "/orders/", ""},
		{"GET", "/orders", ""},
		{"GET", "/orders/" + id, ""},
		{"GET", "/orders/" + id + "/", ""},
		{"PATCH", "/orders/" + id, `{"status":"processing"}`},
		{"POST", "/orders/" + id + "/cancel", ""},
		{"POST", "/orders/" + id + "/cancel/", ""},
	} {
		var body any
		if r.body != "" {
			body = r.body
		}
		for _, headers := range [][]string{nil, authHeader("not.a.token"), {"Authorization", "Basic YWRtaW46YWRtaW4="}} {
			status, hdr, resp := f.do(r.method, r.path, body, headers...)
			if status != fasthttp.StatusUnauthorized {
				t.Errorf("%s %s with %v: status %d, want 401; %s", r.method, r.path, headers, status, resp)
				continue
			}
			wantProblem(t, status, hdr, resp, fasthttp.StatusUnauthorized, "unauthorized")
		}
	}
	if n := len(f.placed.all()) + len(f.looked.all()) + len(f.queries.all()) + len(f.transitions.all()); n != 0 {
		t.Errorf("the Orders port was called %d times without a valid token, want 0", n)
	}
}
