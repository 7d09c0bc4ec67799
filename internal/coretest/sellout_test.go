package coretest

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/flashstock/flashstock/actors"
	"github.com/flashstock/flashstock/engine"
)

// buyers runs n concurrent buyers, each placing one order of items(i);
// it returns the orders placed and the errors, by buyer.
func (w *world) buyers(n int, users []engine.ID, items func(i int) []engine.ItemRequest) ([]engine.Order, []error) {
	orders, errs := make([]engine.Order, n), make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			orders[i], errs[i] = w.place(users[i%len(users)], items(i)...)
		})
	}
	close(start)
	wg.Wait()
	return orders, errs
}

func TestSellOutExactlyN(t *testing.T) {
	t.Parallel()
	w := newWorld(t, actors.Config{})
	const units, buyersPerUnit = 60, 5
	p := w.product("HOT", units)
	var users []engine.ID
	for i := range 20 {
		users = append(users, w.user(fmt.Sprintf("buyer%d", i)))
	}
	orders, errs := w.buyers(units*buyersPerUnit, users, func(int) []engine.ItemRequest { return []engine.ItemRequest{item(p, 1)} })
	sold := 0
	for i, err := range errs {
		switch {
		case err == nil:
			sold++
			if !w.orderExists(orders[i].ID) {
				t.Errorf("order %s was acknowledged but is not stored", orders[i].ID)
			}
		case !errors.Is(err, engine.ErrInsufficientStock):
			t.Errorf("buyer %d: %v, want success or insufficient stock", i, err)
		}
	}
	if sold != units {
		t.Errorf("%d orders succeeded, want exactly %d", sold, units)
	}
	l := w.checkConserved(p, units)
	if l.stock != 0 || l.sold != units || l.orders != units {
		t.Errorf("audit = %+v, want stock 0, %d sold in %d orders", l, units, units)
	}
}

// The original API's test: stock 1, five concurrent orders → one succeeds,
// four are told the stock is short, with the numbers.
func TestStockOneFiveBuyers(t *testing.T) {
	t.Parallel()
	w := newWorld(t, actors.Config{})
	p := w.product("LAST", 1)
	u := w.user("buyer")
	_, errs := w.buyers(5, []engine.ID{u}, func(int) []engine.ItemRequest { return []engine.ItemRequest{item(p, 1)} })
	ok, short := 0, 0
	for _, err := range errs {
		var se *engine.StockError
		switch {
		case err == nil:
			ok++
		case errors.As(err, &se) && se.Available == 0 && se.Requested == 1 && se.ProductID == p.ID:
			short++
		default:
			t.Errorf("unexpected error %v", err)
		}
	}
	if ok != 1 || short != 4 {
		t.Errorf("%d succeeded, %d short; want 1 and 4", ok, short)
	}
	w.checkConserved(p, 1)
}

// Multi-product orders crossing each other (A+B and B+A) under load: no
// deadlock (every call returns), no leak (every unit accounted for, no
// hold left), all-or-nothing (stock of A and B fall together), and no
// starvation: holds taken in product-id order sell out both products
// (with parallel holds, every order could win one product and lose the
// other, and none would be placed).
func TestCrossingMultiProductOrders(t *testing.T) {
	t.Parallel()
	w := newWorld(t, actors.Config{})
	const stock = 40
	a, b := w.product("A", stock), w.product("B", stock)
	u := w.user("buyer")
	orders, errs := w.buyers(120, []engine.ID{u}, func(i int) []engine.ItemRequest {
		if i%2 == 0 {
			return []engine.ItemRequest{item(a, 1), item(b, 1)}
		}
		return []engine.ItemRequest{item(b, 1), item(a, 1)}
	})
	placed := 0
	for i, err := range errs {
		switch {
		case err == nil:
			placed++
			if len(orders[i].Items) != 2 || orders[i].Total.Amount != 1000 {
				t.Errorf("order %+v: want 2 items totalling 1000", orders[i])
			}
		case !errors.Is(err, engine.ErrInsufficientStock):
			t.Errorf("buyer %d: %v", i, err)
		}
	}
	la, lb := w.checkConserved(a, stock), w.checkConserved(b, stock)
	if la.held != 0 || lb.held != 0 {
		t.Errorf("holds left behind: A %d, B %d", la.held, lb.held)
	}
	if la.sold != int64(placed) || lb.sold != int64(placed) {
		t.Errorf("sold A %d, B %d; want %d each (all-or-nothing)", la.sold, lb.sold, placed)
	}
	if placed != stock {
		t.Errorf("%d multi-product orders placed, want %d: both products should sell out", placed, stock)
	}
}

// A multi-product order short on one product takes nothing from the others.
func TestMultiProductShortfallReleasesEverything(t *testing.T) {
	t.Parallel()
	w := newWorld(t, actors.Config{})
	a, b := w.product("A", 10), w.product("B", 1)
	u := w.user("buyer")
	_, err := w.place(u, item(a, 3), item(b, 2))
	var se *engine.StockError
	if !errors.As(err, &se) || se.ProductID != b.ID || se.Available != 1 || se.Requested != 2 {
		t.Fatalf("place = %v, want a shortfall on B (1 available, 2 requested)", err)
	}
	if l := w.checkConserved(a, 10); l.stock != 10 || l.held != 0 {
		t.Errorf("A after the failed order: %+v, want all 10 back", l)
	}
	var unknown atomic.Bool
	if _, err := w.place(u, item(a, 1), engine.ItemRequest{ProductID: newID(t), Quantity: 1}); errors.Is(err, engine.ErrInvalid) {
		unknown.Store(true)
	}
	if !unknown.Load() {
		t.Errorf("an order naming an unknown product should be invalid")
	}
	w.checkConserved(a, 10)
}
