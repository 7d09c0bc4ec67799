package usecase_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/flashstock/flashstock/engine"
	"github.com/flashstock/flashstock/usecase"
)

// Tests of the order coordinator over a fake Stock: which calls it makes,
// in what order, and what it gives back when.

// newOrders builds the coordinator over stock and store (nil: a store
// whose every call is unscripted).
func newOrders(t *testing.T, stock *fakeStock, store *fakeOrderStore, cfg usecase.Config) *usecase.Orders {
	t.Helper()
	if store == nil {
		store = &fakeOrderStore{}
	}
	o, err := usecase.NewOrders(stock, store, cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// catalogueOf answers Reserve with the products of ps by id, and
// CommitReserved with the order it is given.
func catalogueOf(stock *fakeStock, ps ...engine.Product) *fakeStock {
	stock.ReserveFunc = func(_ context.Context, _, id engine.ID, _ int64) (engine.Product, error) {
		for _, p := range ps {
			if p.ID == id {
				return p, nil
			}
		}
		return engine.Product{}, engine.ErrNotFound
	}
	stock.CommitReservedFunc = func(_ context.Context, o engine.Order) (engine.Order, error) { return o, nil }
	return stock
}

func placeCmd(t *testing.T, items ...engine.ItemRequest) engine.PlaceOrder {
	return engine.PlaceOrder{OrderID: newID(t), UserID: engine.ID{7}, Items: items, Now: time.Now()}
}

func products(t *testing.T, n int) []engine.Product {
	ps := make([]engine.Product, n)
	for i := range ps {
		ps[i] = testProduct(t, 10)
	}
	return ps
}

// A single-product order is one call to Stock.PlaceOrder: nothing is
// reserved.
func TestSingleProductOrderIsOneCall(t *testing.T) {
	t.Parallel()
	p := testProduct(t, 10)
	want := engine.Order{ID: newID(t), Status: engine.StatusPending}
	stock := &fakeStock{PlaceOrderFunc: func(context.Context, engine.PlaceOrder) (engine.Order, error) { return want, nil }}
	o := newOrders(t, stock, nil, usecase.Config{})
	got, err := o.PlaceOrder(testCtx(t), placeCmd(t, engine.ItemRequest{ProductID: p.ID, Quantity: 2}))
	if err != nil || got.ID != want.ID {
		t.Fatalf("PlaceOrder = %v, %v; want the stock's order", got.ID, err)
	}
	if n := len(stock.calls); n != 1 || stock.calls[0].method != "PlaceOrder" || stock.calls[0].product != p.ID {
		t.Errorf("stock calls %+v, want one PlaceOrder of the product", stock.calls)
	}
}

// An unknown product named in the body is invalid input, not a missing
// resource.
func TestUnknownProductIsInvalid(t *testing.T) {
	t.Parallel()
	stock := &fakeStock{PlaceOrderFunc: func(context.Context, engine.PlaceOrder) (engine.Order, error) {
		return engine.Order{}, engine.ErrNotFound
	}}
	o := newOrders(t, catalogueOf(stock), nil, usecase.Config{})
	for _, n := range []int{1, 2} {
		items := []engine.ItemRequest{{ProductID: newID(t), Quantity: 1}, {ProductID: newID(t), Quantity: 1}}[:n]
		if _, err := o.PlaceOrder(testCtx(t), placeCmd(t, items...)); !errors.Is(err, engine.ErrInvalid) || errors.Is(err, engine.ErrNotFound) {
			t.Errorf("order of %d unknown products = %v, want ErrInvalid", n, err)
		}
	}
}

// A multi-product order reserves its products one after the other in
// product-id order, whatever the order of its items, then commits the
// order built from the reserved products (names, prices, total, TTL) in
// one CommitReserved, and returns the order as committed (its reference
// may be new). Nothing is given back.
func TestMultiProductOrderReservesInProductIDOrder(t *testing.T) {
	t.Parallel()
	ps := products(t, 3)
	stock := catalogueOf(&fakeStock{}, ps...)
	var committed engine.Order
	stock.CommitReservedFunc = func(_ context.Context, o engine.Order) (engine.Order, error) {
		committed = o
		o.Reference = "ORD-000000000001"
		return o, nil
	}
	o := newOrders(t, stock, nil, usecase.Config{OrderTTL: time.Hour})
	cmd := placeCmd(t, engine.ItemRequest{ProductID: ps[2].ID, Quantity: 3}, engine.ItemRequest{ProductID: ps[0].ID, Quantity: 1},
		engine.ItemRequest{ProductID: ps[1].ID, Quantity: 2})
	got, err := o.PlaceOrder(testCtx(t), cmd)
	if err != nil {
		t.Fatal(err)
	}
	var order []engine.ID
	for _, c := range stock.called("Reserve") {
		if c.order != cmd.OrderID {
			t.Errorf("reserved for order %s, want %s", c.order, cmd.OrderID)
		}
		order = append(order, c.product)
	}
	if len(order) != 3 || !slices.IsSortedFunc(order, func(a, b engine.ID) int { return bytes.Compare(a[:], b[:]) }) {
		t.Errorf("reserved %v, want the three products in product-id order", order)
	}
	if methods := stock.calls[len(stock.calls)-1].method; methods != "CommitReserved" || len(stock.called("CommitReserved")) != 1 {
		t.Errorf("stock calls %+v, want one CommitReserved after the reservations", stock.calls)
	}
	if n := len(stock.called("Unreserve")); n != 0 {
		t.Errorf("%d reservations given back by an order that was committed", n)
	}
	if committed.ID != cmd.OrderID || committed.Total.Amount != 6*100 || len(committed.Items) != 3 ||
		!committed.ExpiresAt.Equal(cmd.Now.Add(time.Hour)) {
		t.Errorf("committed %+v, want the order of 6 units at 1.00, expiring after the TTL", committed)
	}
	if got.Reference != "ORD-000000000001" {
		t.Errorf("PlaceOrder returned reference %q, want the one CommitReserved stored", got.Reference)
	}
}

// A shortfall on one product gives back every reservation taken before it
// (the failing call leaves none of its own: Stock's contract), commits
// nothing, and returns the shortfall.
func TestMultiProductShortfallUnreserves(t *testing.T) {
	t.Parallel()
	ps := products(t, 3)
	slices.SortFunc(ps, func(a, b engine.Product) int { return bytes.Compare(a.ID[:], b.ID[:]) })
	stock := catalogueOf(&fakeStock{}, ps...)
	reserve := stock.ReserveFunc
	stock.ReserveFunc = func(ctx context.Context, order, id engine.ID, q int64) (engine.Product, error) {
		if id == ps[1].ID {
			return engine.Product{}, &engine.StockError{ProductID: id, Available: 0, Requested: q}
		}
		return reserve(ctx, order, id, q)
	}
	o := newOrders(t, stock, nil, usecase.Config{})
	cmd := placeCmd(t, engine.ItemRequest{ProductID: ps[2].ID, Quantity: 1}, engine.ItemRequest{ProductID: ps[1].ID, Quantity: 1},
		engine.ItemRequest{ProductID: ps[0].ID, Quantity: 1})
	var se *engine.StockError
	if _, err := o.PlaceOrder(testCtx(t), cmd); !errors.As(err, &se) || se.ProductID != ps[1].ID {
		t.Fatalf("PlaceOrder = %v, want the shortfall of the second product", err)
	}
	if got := stock.called("Reserve"); len(got) != 2 {
		t.Errorf("reservations %+v, want the first two products only (the third never asked)", got)
	}
	un := stock.called("Unreserve")
	if len(un) != 1 || un[0].product != ps[0].ID || un[0].order != cmd.OrderID {
		t.Errorf("given back %+v, want the first product's reservation of the order", un)
	}
	if n := len(stock.called("CommitReserved")); n != 0 {
		t.Errorf("%d commits of an order that fell short", n)
	}
}

// Once the order is handed to CommitReserved, its reservations are Stock's:
// whatever CommitReserved answers, the coordinator gives nothing back.
func TestMultiProductNoUnreserveOnceSubmitted(t *testing.T) {
	t.Parallel()
	for _, commitErr := range []error{engine.ErrUnavailable, engine.ErrOverloaded, engine.ErrConflict} {
		ps := products(t, 2)
		stock := catalogueOf(&fakeStock{}, ps...)
		stock.CommitReservedFunc = func(context.Context, engine.Order) (engine.Order, error) { return engine.Order{}, commitErr }
		o := newOrders(t, stock, nil, usecase.Config{})
		_, err := o.PlaceOrder(testCtx(t), placeCmd(t, engine.ItemRequest{ProductID: ps[0].ID, Quantity: 1},
			engine.ItemRequest{ProductID: ps[1].ID, Quantity: 1}))
		if !errors.Is(err, commitErr) {
			t.Errorf("PlaceOrder = %v, want the commit's %v", err, commitErr)
		}
		if un := stock.called("Unreserve"); len(un) != 0 {
			t.Errorf("commit failing with %v: gave back %+v after CommitReserved", commitErr, un)
		}
	}
}

// A reservation failing for another reason (the caller's deadline, an
// overloaded product) gives back the ones before it too.
func TestMultiProductReserveErrorUnreserves(t *testing.T) {
	t.Parallel()
	ps := products(t, 2)
	slices.SortFunc(ps, func(a, b engine.Product) int { return bytes.Compare(a.ID[:], b.ID[:]) })
	stock := catalogueOf(&fakeStock{}, ps...)
	reserve := stock.ReserveFunc
	stock.ReserveFunc = func(ctx context.Context, order, id engine.ID, q int64) (engine.Product, error) {
		if id == ps[1].ID {
			return engine.Product{}, engine.ErrOverloaded
		}
		return reserve(ctx, order, id, q)
	}
	o := newOrders(t, stock, nil, usecase.Config{})
	if _, err := o.PlaceOrder(testCtx(t), placeCmd(t, engine.ItemRequest{ProductID: ps[1].ID, Quantity: 1},
		engine.ItemRequest{ProductID: ps[0].ID, Quantity: 1})); !errors.Is(err, engine.ErrOverloaded) {
		t.Fatalf("PlaceOrder = %v, want ErrOverloaded", err)
	}
	if un := stock.called("Unreserve"); len(un) != 1 || un[0].product != ps[0].ID {
		t.Errorf("given back %+v, want the first product's reservation", un)
	}
}

// A transition that returns stock releases each returning hold through
// Stock before it answers, and is observed; a buyer cannot move someone
// else's order (not found, nothing released).
func TestTransitionReturnsStock(t *testing.T) {
	t.Parallel()
	a, b := testProduct(t, 5), testProduct(t, 5)
	buyer := newID(t)
	cur := engine.Order{ID: newID(t), UserID: buyer, Status: engine.StatusPending}
	var holds []engine.Hold
	store := &fakeOrderStore{TransitionOrderFunc: func(_ context.Context, id engine.ID, change func(engine.Order) (engine.Order, error)) (engine.Order, []engine.Hold, error) {
		next, err := change(cur)
		if err != nil {
			return engine.Order{}, nil, err
		}
		return next, holds, nil
	}}
	stock := &fakeStock{ReleaseFunc: func(context.Context, engine.ID, engine.ID) error { return nil }}
	obs := &recordingObserver{}
	o := newOrders(t, stock, store, usecase.Config{Observer: obs})

	cmd := engine.TransitionOrder{OrderID: cur.ID, To: engine.StatusCancelled, By: engine.TriggerBuyer, UserID: newID(t),
		Reason: "changed my mind", Now: time.Now()}
	if _, err := o.TransitionOrder(testCtx(t), cmd); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("cancel of another buyer's order = %v, want ErrNotFound", err)
	}
	holds = []engine.Hold{{OrderID: cur.ID, ProductID: a.ID, Quantity: 1, Kind: engine.HoldReturning},
		{OrderID: cur.ID, ProductID: b.ID, Quantity: 2, Kind: engine.HoldReturning}}
	cmd.UserID = buyer
	got, err := o.TransitionOrder(testCtx(t), cmd)
	if err != nil || got.Status != engine.StatusCancelled {
		t.Fatalf("cancel = %v, %v; want cancelled", got.Status, err)
	}
	var released []engine.ID
	for _, c := range stock.called("Release") {
		if c.order != cur.ID {
			t.Errorf("released for order %s, want %s", c.order, cur.ID)
		}
		released = append(released, c.product)
	}
	if len(released) != 2 || !slices.Contains(released, a.ID) || !slices.Contains(released, b.ID) {
		t.Errorf("released %v, want both products once", released)
	}
	if statuses, _ := obs.seen(); !slices.Equal(statuses, []engine.Status{engine.StatusCancelled}) {
		t.Errorf("observed %v, want the cancellation once", statuses)
	}
}

// Repair releases the stale holds the store finds, with the configured
// ages, and stops at the first release that fails.
func TestRepairReleasesStaleHolds(t *testing.T) {
	t.Parallel()
	now := time.Now()
	stale := []engine.Hold{{OrderID: newID(t), ProductID: newID(t)}, {OrderID: newID(t), ProductID: newID(t)},
		{OrderID: newID(t), ProductID: newID(t)}}
	holds := &fakeHoldStore{StaleHoldsFunc: func(_ context.Context, assembling, returning time.Time, _ int) ([]engine.Hold, error) {
		if !assembling.Equal(now.Add(-time.Minute)) || !returning.Equal(now.Add(-3*time.Second)) {
			t.Errorf("stale holds asked before %v and %v, want the hold and release timeouts", assembling, returning)
		}
		return stale, nil
	}}
	stock := &fakeStock{ReleaseFunc: func(_ context.Context, order, _ engine.ID) error {
		if order == stale[2].OrderID {
			return engine.ErrUnavailable
		}
		return nil
	}}
	o := newOrders(t, stock, nil, usecase.Config{HoldTimeout: time.Minute, ReleaseTimeout: 3 * time.Second})
	n, err := o.Repair(testCtx(t), holds, now)
	if n != 2 || !errors.Is(err, engine.ErrUnavailable) {
		t.Errorf("Repair = %d, %v; want 2 released, then the failure", n, err)
	}
	for i, c := range stock.called("Release") {
		if c.order != stale[i].OrderID || c.product != stale[i].ProductID {
			t.Errorf("release %d = %+v, want hold %+v", i, c, stale[i])
		}
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	if err := (usecase.Config{}).Validate(); err != nil {
		t.Errorf("zero config (defaults) = %v", err)
	}
	for _, c := range []usecase.Config{{OrderTTL: -1}, {HoldTimeout: -time.Second}, {RepairInterval: -1}, {ReleaseTimeout: -1}} {
		if err := c.Validate(); err == nil {
			t.Errorf("Validate accepted %+v", c)
		}
	}
}
