package httpd

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

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
