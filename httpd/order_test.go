package httpd

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/flashstock/flashstock/engine"
)

// Orders endpoints in memory, against ordersFake: what the handlers pass to
// the Orders port, and what they answer.

// recorder keeps what a fake received, written on the server's goroutine
// and read by the test after the response; safe for concurrent use.
type recorder[T any] struct {
	mu  sync.Mutex
	got []T // guarded by mu
}

func (r *recorder[T]) add(v T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, v)
}

func (r *recorder[T]) all() []T {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// Test products, each with its unit price in minor units of EUR.
var (
	orderProductA = engine.ID{0x01, 0x90, 0xa3, 6: 0x70, 8: 0x80, 15: 0x0a}
	orderProductB = engine.ID{0x01, 0x90, 0xa3, 6: 0x70, 8: 0x80, 15: 0x0b}
	orderPrices   = map[engine.ID]int64{orderProductA: 1250, orderProductB: 99}
)

// orderZone is not UTC: the API must render every time in UTC anyway.
var orderZone = time.FixedZone("UTC+2", 2*60*60)

// orderCreatedAt is the creation time of every order the fakes return.
var orderCreatedAt = time.Date(2030, 1, 2, 3, 4, 5, 123456000, orderZone)

// placedOrder is the pending order a correct Orders returns for cmd.
func placedOrder(cmd engine.PlaceOrder) engine.Order {
	o := engine.Order{ID: cmd.OrderID, Reference: "ORD-0123456789AB", UserID: cmd.UserID,
		Status: engine.StatusPending, PaymentStatus: engine.PaymentPending, Total: engine.Money{Currency: "EUR"},
		CreatedAt: orderCreatedAt, UpdatedAt: orderCreatedAt, ExpiresAt: orderCreatedAt.Add(15 * time.Minute)}
	for _, it := range cmd.Items {
		price := orderPrices[it.ProductID]
		o.Items = append(o.Items, engine.OrderItem{ProductID: it.ProductID, ProductName: "Product " + it.ProductID.String()[35:],
			Quantity: it.Quantity, UnitPrice: engine.Money{Amount: price, Currency: "EUR"},
			Subtotal: engine.Money{Amount: price * it.Quantity, Currency: "EUR"}})
		o.Total.Amount += price * it.Quantity
	}
	return o
}

// storedOrder is an existing order of user in status, with one line of
// product A.
func storedOrder(id, user engine.ID, status engine.Status) engine.Order {
	o := placedOrder(engine.PlaceOrder{OrderID: id, UserID: user,
		Items: []engine.ItemRequest{{ProductID: orderProductA, Quantity: 1}}})
	o.Status = status
	return o
}

// orderID returns a distinct, valid order id for n.
func orderID(n byte) engine.ID { return engine.ID{0x01, 0x90, 0xb0, 6: 0x70, 8: 0x80, 15: n} }

// orderWire is o as the API must render it, built independently of
// newOrderJSON and decoded generically (numbers as float64).
func orderWire(o engine.Order) map[string]any {
	items := make([]any, len(o.Items))
	for i, it := range o.Items {
		items[i] = map[string]any{"product_id": it.ProductID.String(), "product_name": it.ProductName,
			"quantity": float64(it.Quantity), "unit_price": float64(it.UnitPrice.Amount),
			"subtotal": float64(it.Subtotal.Amount)}
	}
	utc := func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
	return map[string]any{"id": o.ID.String(), "reference": o.Reference, "user_id": o.UserID.String(),
		"status": string(o.Status), "payment_status": string(o.PaymentStatus), "total": float64(o.Total.Amount),
		"currency": string(o.Total.Currency), "items": items, "created_at": utc(o.CreatedAt),
		"updated_at": utc(o.UpdatedAt), "expires_at": utc(o.ExpiresAt), "cancel_reason": o.CancelReason}
}

// wantOrder checks a 200/201 response carrying exactly want.
func wantOrder(t *testing.T, status int, body []byte, wantStatus int, want engine.Order) {
	t.Helper()
	if status != wantStatus {
		t.Fatalf("status = %d, want %d; body %s", status, wantStatus, body)
	}
	var got map[string]any
	mustJSON(t, body, &got)
	if w := orderWire(want); !reflect.DeepEqual(got, w) {
		t.Errorf("order =\n  %v\nwant\n  %v", got, w)
	}
}

// orderFixture is a test server whose Orders is an ordersFake, with a
// buyer, another user and an admin. By default the fake places orders with
// placedOrder, lists nothing, finds orders in byID and moves them as asked;
// each records what it received. Tests replace the funcs before requests.
type orderFixture struct {
	*testServer
	orders                          *ordersFake
	buyer, other, admin             engine.User
	buyerAuth, otherAuth, adminAuth []string // Authorization header pairs

	placed      recorder[engine.PlaceOrder]
	looked      recorder[engine.ID]
	queries     recorder[engine.OrderQuery]
	transitions recorder[engine.TransitionOrder]
}

func newOrderFixture(t *testing.T, opts ...func(*Config, *Deps)) *orderFixture {
	t.Helper()
	f := &orderFixture{orders: &ordersFake{}}
	f.orders.PlaceOrderFunc = func(_ context.Context, cmd engine.PlaceOrder) (engine.Order, error) {
		f.placed.add(cmd)
		return placedOrder(cmd), nil
	}
	f.orders.ListOrdersFunc = func(_ context.Context, q engine.OrderQuery) ([]engine.Order, error) {
		f.queries.add(q)
		return nil, nil
	}
	f.orders.TransitionOrderFunc = func(_ context.Context, cmd engine.TransitionOrder) (engine.Order, error) {
		f.transitions.add(cmd)
		o := storedOrder(cmd.OrderID, f.buyer.ID, cmd.To)
		if cmd.To == engine.StatusCancelled {
			o.CancelReason = cmd.Reason
		}
		return o, nil
	}
	opts = append([]func(*Config, *Deps){func(_ *Config, d *Deps) { d.Orders = f.orders }}, opts...)
	f.testServer = newTestServer(t, opts...)
	var token string
	f.buyer, token = f.account(t, "buyer", false)
	f.buyerAuth = authHeader(token)
	f.other, token = f.account(t, "other", false)
	f.otherAuth = authHeader(token)
	f.admin, token = f.account(t, "admin", true)
	f.adminAuth = authHeader(token)
	return f
}

// withOrders serves the given orders by id (OrderFunc); others are not found.
func (f *orderFixture) withOrders(orders ...engine.Order) {
	byID := map[engine.ID]engine.Order{}
	for _, o := range orders {
		byID[o.ID] = o
	}
	f.orders.OrderFunc = func(_ context.Context, id engine.ID) (engine.Order, error) {
		f.looked.add(id)
		if o, ok := byID[id]; ok {
			return o, nil
		}
		return engine.Order{}, fmt.Errorf("order %s: %w", id, engine.ErrNotFound)
	}
}

// orderLine is one JSON line of a create body.
func orderLine(product engine.ID, quantity int) string {
	return fmt.Sprintf(`{"product_id":%q,"quantity":%d}`, product, quantity)
}

// orderBody is a create body with the given lines.
func orderBody(lines ...string) string { return `{"items":[` + strings.Join(lines, ",") + `]}` }

// with returns the header pairs h followed by more.
func with(h []string, more ...string) []string { return append(slices.Clone(h), more...) }

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

// TestOrderCreateRejectsUnknownLineField: call.decode refuses unknown
// members, but jsonField.UnmarshalJSON decodes a line with a plain
// json.Unmarshal, which accepts them; so a misspelt member of a line
// ("quantiy") is silently dropped instead of being reported.
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

func TestOrderList(t *testing.T) {
	t.Parallel()
	f := newOrderFixture(t)
	orders := []engine.Order{ // newest first, as the port returns them
		storedOrder(orderID(9), f.buyer.ID, engine.StatusShipped),
		storedOrder(orderID(8), f.buyer.ID, engine.StatusPending),
		storedOrder(orderID(7), f.buyer.ID, engine.StatusCancelled),
	}
	var reply []engine.Order // what ListOrders answers; set between requests
	f.orders.ListOrdersFunc = func(_ context.Context, q engine.OrderQuery) ([]engine.Order, error) {
		f.queries.add(q)
		return reply, nil
	}
	type page struct {
		Items      []map[string]any `json:"items"`
		NextCursor *string          `json:"next_cursor"`
	}
	list := func(auth []string, path string) (page, engine.OrderQuery) {
		t.Helper()
		n := len(f.queries.all())
		status, _, body := f.do("GET", path, nil, auth...)
		if status != fasthttp.StatusOK {
			t.Fatalf("GET %s: status %d: %s", path, status, body)
		}
		var pg page
		mustJSON(t, body, &pg)
		queries := f.queries.all()
		if len(queries) != n+1 {
			t.Fatalf("GET %s: ListOrders called %d times, want once", path, len(queries)-n)
		}
		return pg, queries[n]
	}

	// A full page and one more: the extra order only makes the cursor.
	reply = orders
	pg, q := list(f.buyerAuth, "/orders/?limit=2")
	if want := (engine.OrderQuery{UserID: f.buyer.ID, Limit: 3}); q != want {
		t.Errorf("buyer's query = %+v, want %+v", q, want)
	}
	if len(pg.Items) != 2 || pg.Items[0]["id"] != orders[0].ID.String() || pg.Items[1]["id"] != orders[1].ID.String() {
		t.Fatalf("page = %v, want the first two orders in the port's order", pg.Items)
	}
	if !reflect.DeepEqual(pg.Items[0], orderWire(orders[0])) {
		t.Errorf("item = %v, want %v", pg.Items[0], orderWire(orders[0]))
	}
	if pg.NextCursor == nil || *pg.NextCursor != encodeCursor(orders[1].ID) {
		t.Fatalf("next_cursor = %v, want the cursor of the last order shown (%s)", pg.NextCursor, encodeCursor(orders[1].ID))
	}

	// The cursor comes back as Before; a short page has a null cursor.
	reply = orders[2:]
	pg, q = list(f.buyerAuth, "/orders?limit=2&cursor="+*pg.NextCursor)
	if want := (engine.OrderQuery{UserID: f.buyer.ID, Before: orders[1].ID, Limit: 3}); q != want {
		t.Errorf("second page query = %+v, want %+v", q, want)
	}
	if len(pg.Items) != 1 || pg.Items[0]["id"] != orders[2].ID.String() || pg.NextCursor != nil {
		t.Errorf("last page = %v, next_cursor %v; want the third order and null", pg.Items, pg.NextCursor)
	}
	// Exactly a full page: no next page.
	reply = orders[:2]
	if pg, _ = list(f.buyerAuth, "/orders/?limit=2"); len(pg.Items) != 2 || pg.NextCursor != nil {
		t.Errorf("exactly-full page: %d items, next_cursor %v; want 2 and null", len(pg.Items), pg.NextCursor)
	}

	// An admin lists everyone's; the status filter passes through.
	reply = nil
	if _, q = list(f.adminAuth, "/orders/"); q != (engine.OrderQuery{UserID: engine.NilID, Limit: engine.PageLimitDefault + 1}) {
		t.Errorf("admin's query = %+v, want every user's, default limit + 1", q)
	}
	for _, st := range engine.Statuses {
		if _, q = list(f.otherAuth, "/orders/?status="+string(st)); q.Status != st || q.UserID != f.other.ID {
			t.Errorf("?status=%s: query %+v", st, q)
		}
	}
	if status, _, body := f.do("GET", "/orders/", nil, f.buyerAuth...); status != fasthttp.StatusOK ||
		string(body) != `{"items":[],"next_cursor":null}` {
		t.Errorf("empty list: %d %s", status, body)
	}

	n := len(f.queries.all())
	for _, tc := range []struct{ query, field string }{
		{"?status=bogus", "status"}, {"?status=PENDING", "status"}, {"?limit=0", "limit"}, {"?limit=101", "limit"},
		{"?cursor=nope", "cursor"}, {"?cursor=" + encodeCursor(engine.NilID), "cursor"},
	} {
		status, hdr, body := f.do("GET", "/orders/"+tc.query, nil, f.buyerAuth...)
		p := wantProblem(t, status, hdr, body, fasthttp.StatusBadRequest, "validation_failed")
		wantFieldErrors(t, p, tc.field)
	}
	if got := len(f.queries.all()); got != n {
		t.Errorf("ListOrders called %d times for bad queries, want 0", got-n)
	}
}

func TestOrderDetail(t *testing.T) {
	t.Parallel()
	f := newOrderFixture(t)
	mine := storedOrder(orderID(1), f.buyer.ID, engine.StatusPending)
	theirs := storedOrder(orderID(2), f.other.ID, engine.StatusConfirmed)
	f.withOrders(mine, theirs)
	for _, path := range []string{"/orders/" + mine.ID.String(), "/orders/" + mine.ID.String() + "/"} {
		status, _, body := f.do("GET", path, nil, f.buyerAuth...)
		wantOrder(t, status, body, fasthttp.StatusOK, mine)
	}
	for _, o := range []engine.Order{mine, theirs} {
		status, _, body := f.do("GET", "/orders/"+o.ID.String(), nil, f.adminAuth...)
		wantOrder(t, status, body, fasthttp.StatusOK, o)
	}
	// Another user's order is indistinguishable from a missing one.
	status, hdr, hidden := f.do("GET", "/orders/"+theirs.ID.String(), nil, f.buyerAuth...)
	p := wantProblem(t, status, hdr, hidden, fasthttp.StatusNotFound, "not_found")
	if strings.Contains(string(hidden), f.other.ID.String()) || strings.Contains(string(hidden), theirs.Reference) {
		t.Errorf("404 body reveals the order: %s", hidden)
	}
	status, hdr, missing := f.do("GET", "/orders/"+orderID(3).String(), nil, f.buyerAuth...)
	q := wantProblem(t, status, hdr, missing, fasthttp.StatusNotFound, "not_found")
	if p.Title != q.Title || p.Type != q.Type {
		t.Errorf("hidden %+v and missing %+v differ", p, q)
	}
	n := len(f.looked.all())
	for _, path := range []string{"/orders/nope", "/orders/123", "/orders/" + strings.ToUpper(mine.ID.String()) + "x"} {
		status, hdr, body := f.do("GET", path, nil, f.buyerAuth...)
		wantProblem(t, status, hdr, body, fasthttp.StatusNotFound, "not_found")
	}
	if got := len(f.looked.all()); got != n {
		t.Errorf("Order looked up %d times for non-ids, want 0", got-n)
	}
}

func TestOrderCancel(t *testing.T) {
	t.Parallel()
	f := newOrderFixture(t)
	id := orderID(4)
	for _, tc := range []struct {
		name, path string
		auth       []string
		by         engine.Trigger
		user       engine.ID
	}{
		{"buyer", "/orders/" + id.String() + "/cancel", f.buyerAuth, engine.TriggerBuyer, f.buyer.ID},
		{"buyer, trailing slash", "/orders/" + id.String() + "/cancel/", f.buyerAuth, engine.TriggerBuyer, f.buyer.ID},
		{"admin", "/orders/" + id.String() + "/cancel", f.adminAuth, engine.TriggerAdmin, f.admin.ID},
	} {
		n := len(f.transitions.all())
		before := time.Now().UTC()
		status, _, body := f.do("POST", tc.path, nil, tc.auth...)
		cmds := f.transitions.all()
		if len(cmds) != n+1 {
			t.Fatalf("%s: TransitionOrder called %d times, want once; %d %s", tc.name, len(cmds)-n, status, body)
		}
		cmd := cmds[n]
		if cmd.OrderID != id || cmd.To != engine.StatusCancelled || cmd.By != tc.by || cmd.UserID != tc.user ||
			cmd.Reason == "" || cmd.Now.Before(before.Truncate(time.Microsecond)) || cmd.Now.Location() != time.UTC {
			t.Errorf("%s: TransitionOrder got %+v; want order %s to cancelled by %s for %s, with a reason, now",
				tc.name, cmd, id, tc.by, tc.user)
		}
		want := storedOrder(id, f.buyer.ID, engine.StatusCancelled)
		want.CancelReason = cmd.Reason
		wantOrder(t, status, body, fasthttp.StatusOK, want)
	}

	for _, tc := range []struct {
		err    error
		status int
		code   string
	}{
		{fmt.Errorf("%w: order ORD-0123456789AB cannot go from shipped to cancelled by buyer", engine.ErrConflict), fasthttp.StatusConflict, "conflict"},
		{fmt.Errorf("order %s: %w", id, engine.ErrNotFound), fasthttp.StatusNotFound, "not_found"},
		{fmt.Errorf("sku inbox full: %w", engine.ErrOverloaded), fasthttp.StatusServiceUnavailable, "overloaded"},
	} {
		f.orders.TransitionOrderFunc = func(context.Context, engine.TransitionOrder) (engine.Order, error) {
			return engine.Order{}, tc.err
		}
		status, hdr, body := f.do("POST", "/orders/"+id.String()+"/cancel", nil, f.buyerAuth...)
		wantProblem(t, status, hdr, body, tc.status, tc.code)
	}
	status, hdr, body := f.do("POST", "/orders/nope/cancel", nil, f.buyerAuth...)
	wantProblem(t, status, hdr, body, fasthttp.StatusNotFound, "not_found")
	status, hdr, body = f.do("GET", "/orders/"+id.String()+"/cancel", nil, f.buyerAuth...)
	wantProblem(t, status, hdr, body, fasthttp.StatusMethodNotAllowed, "method_not_allowed")
}

func TestOrderPatch(t *testing.T) {
	t.Parallel()
	f := newOrderFixture(t)
	id := orderID(5)
	for _, auth := range [][]string{f.buyerAuth, f.otherAuth} {
		for _, body := range []string{`{"status":"processing"}`, `{"status":"bogus"}`, "{"} {
			status, hdr, resp := f.do("PATCH", "/orders/"+id.String(), body, auth...)
			wantProblem(t, status, hdr, resp, fasthttp.StatusForbidden, "forbidden")
		}
	}
	if n := len(f.transitions.all()); n != 0 {
		t.Fatalf("TransitionOrder called %d times for non-admins, want 0", n)
	}

	for i, path := range []string{"/orders/" + id.String(), "/orders/" + id.String() + "/"} {
		status, _, body := f.do("PATCH", path, `{"status":"processing"}`, f.adminAuth...)
		cmds := f.transitions.all()
		if len(cmds) != i+1 {
			t.Fatalf("PATCH %s: TransitionOrder called %d times in all, want %d; %d %s", path, len(cmds), i+1, status, body)
		}
		if cmd := cmds[i]; cmd.OrderID != id || cmd.To != engine.StatusProcessing || cmd.By != engine.TriggerAdmin ||
			cmd.UserID != f.admin.ID || cmd.Now.IsZero() {
			t.Errorf("PATCH %s: TransitionOrder got %+v; want order %s to processing by admin %s", path, cmd, id, f.admin.ID)
		}
		wantOrder(t, status, body, fasthttp.StatusOK, storedOrder(id, f.buyer.ID, engine.StatusProcessing))
	}

	n := len(f.transitions.all())
	for _, tc := range []struct{ body, field string }{
		{`{"status":"bogus"}`, "status"}, {`{"status":""}`, "status"}, {`{}`, "status"},
		{`{"status":null}`, "status"}, {`{"status":3}`, "status"},
		{`{"status":"shipped","payment_status":"paid"}`, "payment_status"},
	} {
		status, hdr, resp := f.do("PATCH", "/orders/"+id.String(), tc.body, f.adminAuth...)
		p := wantProblem(t, status, hdr, resp, fasthttp.StatusBadRequest, "validation_failed")
		wantFieldErrors(t, p, tc.field)
	}
	if got := len(f.transitions.all()); got != n {
		t.Errorf("TransitionOrder called %d times for bad bodies, want 0", got-n)
	}

	f.orders.TransitionOrderFunc = func(_ context.Context, cmd engine.TransitionOrder) (engine.Order, error) {
		return engine.Order{}, fmt.Errorf("%w: order ORD-0123456789AB cannot go from pending to %s by admin", engine.ErrConflict, cmd.To)
	}
	status, hdr, resp := f.do("PATCH", "/orders/"+id.String(), `{"status":"shipped"}`, f.adminAuth...)
	wantProblem(t, status, hdr, resp, fasthttp.StatusConflict, "conflict")
	status, hdr, resp = f.do("PATCH", "/orders/nope", `{"status":"shipped"}`, f.adminAuth...)
	wantProblem(t, status, hdr, resp, fasthttp.StatusNotFound, "not_found")
}

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
	// Refused before the body is read or the key claimed.
	for _, body := range []string{orderBody(orderLine(orderProductA, 1)), `{"items":[]}`, "{not json"} {
		status, hdr, resp := f.do("POST", "/orders/", body, with(f.buyerAuth, headerIdempotencyKey, "k")...)
		wantProblem(t, status, hdr, resp, fasthttp.StatusTooManyRequests, "rate_limited")
		wantRateHeaders(t, hdr, "5", "0", "60", "12")
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
