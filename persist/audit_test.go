package persist_test

import (
	"bytes"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/flashstock/flashstock/engine"
	"github.com/flashstock/flashstock/persist"
)

func TestAudit(t *testing.T) {
	t.Parallel()
	s, url := newStore(t)
	ctx := t.Context()
	start := now()
	user := orderUser(t, s, "buyer")
	a, b, idle := createProduct(t, s, "A", 100, true), createProduct(t, s, "B", 100, true), createProduct(t, s, "IDLE", 7, true)

	// Three orders: one of A, one of A and B (placed by a baseline), one of
	// A that is then cancelled (its units move to a returning hold). An
	// assembling hold of 4 units of B sits beside them.
	o1 := newOrder(t, user, engine.OrderLine{Product: a, Quantity: 2})
	hold := engine.Hold{OrderID: newID(t), ProductID: b.ID, Quantity: 4, Kind: engine.HoldAssembling, CreatedAt: now()}
	if _, err := s.CommitStock(ctx, engine.StockCommit{Orders: []engine.Order{o1}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CommitStock(ctx, engine.StockCommit{Holds: []engine.Hold{hold}}); err != nil {
		t.Fatal(err)
	}
	o2, err := s.PlaceOrderLocked(ctx, placeCmd(t, user, engine.ItemRequest{ProductID: a.ID, Quantity: 3},
		engine.ItemRequest{ProductID: b.ID, Quantity: 5}))
	if err != nil {
		t.Fatal(err)
	}
	o3, err := s.PlaceOrderLocked(ctx, placeCmd(t, user, engine.ItemRequest{ProductID: a.ID, Quantity: 10}))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = s.TransitionOrder(ctx, o3.ID, func(o engine.Order) (engine.Order, error) {
		return o.Transition(engine.StatusCancelled, engine.TriggerBuyer, "changed my mind", now())
	})
	if err != nil {
		t.Fatal(err)
	}

	got, err := s.AuditStock(ctx, []engine.ID{idle.ID, b.ID, a.ID, b.ID})
	want := []persist.StockAudit{
		{ProductID: a.ID, Stock: 100 - 2 - 3 - 10, Sold: 5, Held: 10, Orders: 3},
		{ProductID: b.ID, Stock: 100 - 4 - 5, Sold: 5, Held: 4, Orders: 1},
		{ProductID: idle.ID, Stock: 7},
	}
	sortAudits(want)
	idleAt := slices.IndexFunc(want, func(a persist.StockAudit) bool { return a.ProductID == idle.ID })
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("AuditStock = %+v, %v\nwant %+v", got, err, want)
	}
	if got, err := s.AuditStock(ctx, []engine.ID{newID(t), idle.ID}); err != nil || !reflect.DeepEqual(got, want[idleAt:idleAt+1]) {
		t.Errorf("AuditStock with a missing product = %+v, %v; want only %s", got, err, idle.ID)
	}

	for _, tt := range []struct {
		ids  []engine.ID
		want int64
	}{{[]engine.ID{a.ID, b.ID}, 3}, {[]engine.ID{b.ID}, 1}, {[]engine.ID{idle.ID}, 0}, {nil, 0}} {
		if n, err := s.OrdersForProducts(ctx, tt.ids); err != nil || n != tt.want {
			t.Errorf("OrdersForProducts(%v) = %d, %v; want %d", tt.ids, n, err, tt.want)
		}
	}

	// More ids than one query takes, with repeats: each stored order counts once.
	ids := []engine.ID{o1.ID, o2.ID, o3.ID, o2.ID}
	for range 25_000 {
		ids = append(ids, newID(t))
	}
	ids = append(ids, o1.ID)
	if n, err := s.ExistingOrders(ctx, ids); err != nil || n != 3 {
		t.Errorf("ExistingOrders = %d, %v; want 3", n, err)
	}

	// An order without items (written behind the store's back) is found,
	// if it is recent enough.
	if n, err := s.OrdersWithoutItems(ctx, start); err != nil || n != 0 {
		t.Errorf("OrdersWithoutItems = %d, %v; want 0", n, err)
	}
	empty := newOrder(t, user, engine.OrderLine{Product: a, Quantity: 1})
	conn := rawConn(t, url)
	if _, err := conn.Exec(ctx, `INSERT INTO orders (id, reference, user_id, status, payment_status, total, currency,
created_at, updated_at, expires_at) VALUES ($1, $2, $3, 'pending', 'pending', 0, 'EUR', $4, $4, $4)`,
		[16]byte(empty.ID), empty.Reference, [16]byte(user), empty.CreatedAt); err != nil {
		t.Fatal(err)
	}
	if n, err := s.OrdersWithoutItems(ctx, start); err != nil || n != 1 {
		t.Errorf("OrdersWithoutItems = %d, %v; want 1", n, err)
	}
	if n, err := s.OrdersWithoutItems(ctx, time.Now().Add(time.Hour)); err != nil || n != 0 {
		t.Errorf("OrdersWithoutItems(in an hour) = %d, %v; want 0", n, err)
	}

	// Negative stock: impossible through the schema, so drop its check.
	if neg, err := s.AuditNegativeStock(ctx); err != nil || len(neg) != 0 {
		t.Errorf("AuditNegativeStock = %v, %v; want none", neg, err)
	}
	if _, err := conn.Exec(ctx, "ALTER TABLE products DROP CONSTRAINT products_stock_check"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "UPDATE products SET stock = -1 WHERE id = $1", [16]byte(idle.ID)); err != nil {
		t.Fatal(err)
	}
	if neg, err := s.AuditNegativeStock(ctx); err != nil || !reflect.DeepEqual(neg, []engine.ID{idle.ID}) {
		t.Errorf("AuditNegativeStock = %v, %v; want [%s]", neg, err, idle.ID)
	}
}

// sortAudits sorts by product id, as AuditStock returns them.
func sortAudits(a []persist.StockAudit) {
	slices.SortFunc(a, func(x, y persist.StockAudit) int { return bytes.Compare(x.ProductID[:], y.ProductID[:]) })
}
