package httpd

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"github.com/flashstock/flashstock/engine"
)

// Listing and reading orders.

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

// The request log line names the order a request addressed or created.
func TestOrderRequestsLogTheOrderID(t *testing.T) {
	t.Parallel()
	var logs lockedBuffer
	f := newOrderFixture(t, func(_ *Config, d *Deps) { d.Log = zerolog.New(&logs) })
	o := storedOrder(orderID(5), f.buyer.ID, engine.StatusPending)
	f.withOrders(o)
	status, _, body := f.do("GET", "/orders/"+o.ID.String(), "", f.buyerAuth...)
	if status != fasthttp.StatusOK {
		t.Fatalf("detail: %d %s", status, body)
	}
	status, _, body = f.do("POST", "/orders/", orderBody(orderLine(orderProductA, 1)), f.buyerAuth...)
	if status != fasthttp.StatusCreated {
		t.Fatalf("create: %d %s", status, body)
	}
	placed := f.placed.all()
	for _, id := range []engine.ID{o.ID, placed[len(placed)-1].OrderID} {
		if !strings.Contains(logs.String(), `"order_id":"`+id.String()+`"`) {
			t.Errorf("no log line names order %s:\n%s", id, logs.String())
		}
	}
}
