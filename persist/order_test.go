package persist_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/flashstock/flashstock/engine"
	"github.com/flashstock/flashstock/persist"
)

// orderUser stores a user for orders to belong to.
func orderUser(t testing.TB, s *persist.Store, username string) engine.ID {
	t.Helper()
	u := engine.User{ID: newID(t), Username: username, PasswordHash: []byte("$2a$10$hash"), CreatedAt: now()}
	if err := s.CreateUser(t.Context(), u); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	return u.ID
}

// newOrder builds a valid pending order of the given lines.
func newOrder(t testing.TB, user engine.ID, lines ...engine.OrderLine) engine.Order {
	t.Helper()
	ref, err := engine.NewReference(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	o, err := engine.NewOrder(engine.OrderDraft{ID: newID(t), Reference: ref, UserID: user, Lines: lines,
		Now: now(), TTL: engine.OrderTTLDefault})
	if err != nil {
		t.Fatalf("NewOrder: %v", err)
	}
	return o
}

func stockOf(t *testing.T, s *persist.Store, id engine.ID) int64 {
	t.Helper()
	p, err := s.Product(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return p.Stock
}

// commitOne commits c and returns what it did to product id.
func commitOne(t *testing.T, s *persist.Store, c engine.StockCommit, id engine.ID) (engine.StockCommitted, error) {
	t.Helper()
	res, err := s.CommitStock(t.Context(), c)
	if err != nil {
		return engine.StockCommitted{}, err
	}
	for _, r := range res {
		if r.ProductID == id {
			return r, nil
		}
	}
	t.Fatalf("CommitStock did not report product %s: %+v", id, res)
	return engine.StockCommitted{}, nil
}

func TestCommitStock(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := t.Context()
	user := orderUser(t, s, "buyer")
	p := createProduct(t, s, "HOT", 10, true)
	o1, o2 := newOrder(t, user, engine.OrderLine{Product: p, Quantity: 2}), newOrder(t, user, engine.OrderLine{Product: p, Quantity: 3})
	hold := engine.Hold{OrderID: newID(t), ProductID: p.ID, Quantity: 4, Kind: engine.HoldAssembling, CreatedAt: now()}
	res, err := commitOne(t, s, engine.StockCommit{Orders: []engine.Order{o1, o2}, Holds: []engine.Hold{hold}}, p.ID)
	if err != nil || res != (engine.StockCommitted{ProductID: p.ID, Stock: 1}) {
		t.Fatalf("CommitStock = %+v, %v; want stock 1", res, err)
	}
	for _, want := range []engine.Order{o1, o2} {
		got, err := s.Order(ctx, want.ID)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("Order(%s) = %+v, %v; want %+v", want.ID, got, err, want)
		}
	}
	// Releasing the hold (twice, and an order with no hold) returns 4 units once.
	rel := func(ids ...engine.ID) []engine.StockRelease {
		out := make([]engine.StockRelease, len(ids))
		for i, id := range ids {
			out[i] = engine.StockRelease{OrderID: id, ProductID: p.ID}
		}
		return out
	}
	res, err = commitOne(t, s, engine.StockCommit{Releases: rel(hold.OrderID, hold.OrderID, o1.ID)}, p.ID)
	if err != nil || res != (engine.StockCommitted{ProductID: p.ID, Stock: 5, Released: 4}) {
		t.Fatalf("release = %+v, %v; want stock 5, released 4", res, err)
	}
	res, err = commitOne(t, s, engine.StockCommit{Releases: rel(hold.OrderID)}, p.ID)
	if err != nil || res != (engine.StockCommitted{ProductID: p.ID, Stock: 5}) {
		t.Fatalf("second release = %+v, %v; want stock 5, nothing released", res, err)
	}
	missing := engine.StockCommit{Releases: []engine.StockRelease{{OrderID: o1.ID, ProductID: newID(t)}}}
	if _, err := s.CommitStock(ctx, missing); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("commit for a missing product = %v, want ErrNotFound", err)
	}
}

// One commit carries the work of several products: single-product orders
// of two products, a multi-product order over both, a hold on a third and
// a release on a fourth; every product reports its own stock.
func TestCommitStockManyProducts(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := t.Context()
	user := orderUser(t, s, "buyer")
	a, b := createProduct(t, s, "A", 10, true), createProduct(t, s, "B", 20, true)
	c, d := createProduct(t, s, "C", 30, true), createProduct(t, s, "D", 40, true)
	held := engine.Hold{OrderID: newID(t), ProductID: d.ID, Quantity: 5, Kind: engine.HoldAssembling, CreatedAt: now()}
	if _, err := s.CommitStock(ctx, engine.StockCommit{Holds: []engine.Hold{held}}); err != nil {
		t.Fatal(err)
	}
	oa, ob := newOrder(t, user, engine.OrderLine{Product: a, Quantity: 1}), newOrder(t, user, engine.OrderLine{Product: b, Quantity: 2})
	multi := newOrder(t, user, engine.OrderLine{Product: a, Quantity: 3}, engine.OrderLine{Product: b, Quantity: 4})
	hc := engine.Hold{OrderID: newID(t), ProductID: c.ID, Quantity: 6, Kind: engine.HoldAssembling, CreatedAt: now()}
	res, err := s.CommitStock(ctx, engine.StockCommit{Orders: []engine.Order{oa, multi, ob}, Holds: []engine.Hold{hc},
		Releases: []engine.StockRelease{{OrderID: held.OrderID, ProductID: d.ID}}})
	if err != nil {
		t.Fatal(err)
	}
	want := []engine.StockCommitted{{ProductID: a.ID, Stock: 6}, {ProductID: b.ID, Stock: 14},
		{ProductID: c.ID, Stock: 24}, {ProductID: d.ID, Stock: 40, Released: 5}}
	slices.SortFunc(want, func(x, y engine.StockCommitted) int { return bytes.Compare(x.ProductID[:], y.ProductID[:]) })
	if !reflect.DeepEqual(res, want) {
		t.Errorf("CommitStock = %+v, want %+v", res, want)
	}
	if got, err := s.Order(ctx, multi.ID); err != nil || !reflect.DeepEqual(got, multi) {
		t.Errorf("multi-product order = %+v, %v; want %+v", got, err, multi)
	}
}

// A commit the database refuses leaves nothing behind: no order, no stock change.
func TestCommitStockAllOrNothing(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := t.Context()
	user := orderUser(t, s, "buyer")
	p := createProduct(t, s, "HOT", 3, true)
	fits := newOrder(t, user, engine.OrderLine{Product: p, Quantity: 2})
	over := newOrder(t, user, engine.OrderLine{Product: p, Quantity: 2})
	_, err := s.CommitStock(ctx, engine.StockCommit{Orders: []engine.Order{fits, over}})
	if !errors.Is(err, engine.ErrInvalid) {
		t.Fatalf("overselling commit = %v, want ErrInvalid from the stock check", err)
	}
	dup := newOrder(t, user, engine.OrderLine{Product: p, Quantity: 1})
	dup.Reference = fits.Reference
	if _, err := s.CommitStock(ctx, engine.StockCommit{Orders: []engine.Order{fits}}); err != nil {
		t.Fatal(err)
	}
	_, err = s.CommitStock(ctx, engine.StockCommit{Orders: []engine.Order{dup}})
	if !errors.Is(err, engine.ErrConflict) {
		t.Fatalf("taken reference = %v, want ErrConflict", err)
	}
	if got := stockOf(t, s, p.ID); got != 1 {
		t.Errorf("stock = %d, want 1 (only the first good commit)", got)
	}
	for _, o := range []engine.Order{over, dup} {
		if _, err := s.Order(ctx, o.ID); !errors.Is(err, engine.ErrNotFound) {
			t.Errorf("order of a failed commit: %v, want ErrNotFound", err)
		}
	}
}

func TestProductsLoadsMany(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	a, b := createProduct(t, s, "A", 1, true), createProduct(t, s, "B", 2, false)
	got, err := s.Products(t.Context(), []engine.ID{b.ID, newID(t), a.ID, a.ID})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(got, func(x, y engine.Product) int { return bytes.Compare(x.ID[:], y.ID[:]) })
	want := []engine.Product{a, b}
	slices.SortFunc(want, func(x, y engine.Product) int { return bytes.Compare(x.ID[:], y.ID[:]) })
	if len(got) != 2 || got[0].ID != want[0].ID || got[1].ID != want[1].ID || got[0].Stock != want[0].Stock {
		t.Errorf("Products = %+v, want %+v (found ones, inactive too, once each)", got, want)
	}
	if ps, err := s.Products(t.Context(), nil); err != nil || len(ps) != 0 {
		t.Errorf("Products(none) = %v, %v", ps, err)
	}
}

func TestFinalizeOrder(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := t.Context()
	user := orderUser(t, s, "buyer")
	a, b := createProduct(t, s, "A", 10, true), createProduct(t, s, "B", 10, true)
	o := newOrder(t, user, engine.OrderLine{Product: a, Quantity: 2}, engine.OrderLine{Product: b, Quantity: 3})
	holdOn := func(p engine.Product, q int64) {
		h := engine.Hold{OrderID: o.ID, ProductID: p.ID, Quantity: q, Kind: engine.HoldAssembling, CreatedAt: now()}
		if _, err := s.CommitStock(ctx, engine.StockCommit{Holds: []engine.Hold{h}}); err != nil {
			t.Fatal(err)
		}
	}
	holdOn(a, 2)
	// Only one of two holds: nothing is written.
	if err := s.FinalizeOrder(ctx, o); !errors.Is(err, engine.ErrUnavailable) {
		t.Fatalf("FinalizeOrder with a missing hold = %v, want ErrUnavailable", err)
	}
	if _, err := s.Order(ctx, o.ID); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("order written despite a missing hold: %v", err)
	}
	holds, err := s.StaleHolds(ctx, now().Add(time.Minute), now().Add(time.Minute), 10)
	if err != nil || len(holds) != 1 || holds[0].ProductID != a.ID {
		t.Fatalf("holds after a failed finalize = %+v, %v; want A's hold kept", holds, err)
	}
	holdOn(b, 3)
	if err := s.FinalizeOrder(ctx, o); err != nil {
		t.Fatalf("FinalizeOrder: %v", err)
	}
	got, err := s.Order(ctx, o.ID)
	if err != nil || got.Total != o.Total || len(got.Items) != 2 {
		t.Errorf("Order = %+v, %v; want %+v", got, err, o)
	}
	if holds, _ := s.StaleHolds(ctx, now().Add(time.Minute), now().Add(time.Minute), 10); len(holds) != 0 {
		t.Errorf("holds left after finalize: %+v", holds)
	}
	if a, b := stockOf(t, s, a.ID), stockOf(t, s, b.ID); a != 8 || b != 7 {
		t.Errorf("stock = %d, %d; want 8, 7 (finalize does not touch stock)", a, b)
	}
}

func TestTransitionOrderWritesReturningHolds(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := t.Context()
	user := orderUser(t, s, "buyer")
	p := createProduct(t, s, "HOT", 10, true)
	o := newOrder(t, user, engine.OrderLine{Product: p, Quantity: 4})
	if _, err := s.CommitStock(ctx, engine.StockCommit{Orders: []engine.Order{o}}); err != nil {
		t.Fatal(err)
	}
	refused := errors.New("refused")
	if _, _, err := s.TransitionOrder(ctx, o.ID, func(engine.Order) (engine.Order, error) { return engine.Order{}, refused }); err != refused {
		t.Fatalf("change error = %v, want it unchanged", err)
	}
	at := now()
	got, holds, err := s.TransitionOrder(ctx, o.ID, func(cur engine.Order) (engine.Order, error) {
		return cur.Transition(engine.StatusCancelled, engine.TriggerBuyer, "changed my mind", at)
	})
	if err != nil || got.Status != engine.StatusCancelled || got.CancelReason != "changed my mind" {
		t.Fatalf("TransitionOrder = %+v, %v", got, err)
	}
	want := []engine.Hold{{OrderID: o.ID, ProductID: p.ID, Quantity: 4, Kind: engine.HoldReturning, CreatedAt: at}}
	if !reflect.DeepEqual(holds, want) {
		t.Errorf("holds = %+v, want %+v", holds, want)
	}
	stale, err := s.StaleHolds(ctx, at, at.Add(time.Second), 10)
	if err != nil || len(stale) != 1 || stale[0].Kind != engine.HoldReturning {
		t.Errorf("StaleHolds = %+v, %v; want the returning hold", stale, err)
	}
	if stale, _ := s.StaleHolds(ctx, at, at, 10); len(stale) != 0 {
		t.Errorf("StaleHolds before the hold's age = %+v, want none", stale)
	}
	res, err := commitOne(t, s, engine.StockCommit{Releases: []engine.StockRelease{{OrderID: o.ID, ProductID: p.ID}}}, p.ID)
	if err != nil || res.Stock != 10 || res.Released != 4 {
		t.Errorf("release = %+v, %v; want all 10 back", res, err)
	}
	if _, _, err := s.TransitionOrder(ctx, newID(t), func(cur engine.Order) (engine.Order, error) { return cur, nil }); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("TransitionOrder(missing) = %v, want ErrNotFound", err)
	}
}

func TestListOrders(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := t.Context()
	alice, bob := orderUser(t, s, "alice"), orderUser(t, s, "bob")
	p := createProduct(t, s, "HOT", 100, true)
	var all []engine.Order
	for i := range 5 {
		user := alice
		if i%2 == 1 {
			user = bob
		}
		o := newOrder(t, user, engine.OrderLine{Product: p, Quantity: 1})
		if _, err := s.CommitStock(ctx, engine.StockCommit{Orders: []engine.Order{o}}); err != nil {
			t.Fatal(err)
		}
		all = append(all, o)
		time.Sleep(2 * time.Millisecond) // UUIDv7 ids order by millisecond
	}
	ids := func(os []engine.Order) []engine.ID {
		out := make([]engine.ID, len(os))
		for i, o := range os {
			out[i] = o.ID
		}
		return out
	}
	page1, err := s.ListOrders(ctx, engine.OrderQuery{UserID: alice, Limit: 2})
	if err != nil || !reflect.DeepEqual(ids(page1), []engine.ID{all[4].ID, all[2].ID}) {
		t.Fatalf("alice page 1 = %v, %v", ids(page1), err)
	}
	page2, err := s.ListOrders(ctx, engine.OrderQuery{UserID: alice, Limit: 2, Before: page1[1].ID})
	if err != nil || !reflect.DeepEqual(ids(page2), []engine.ID{all[0].ID}) {
		t.Fatalf("alice page 2 = %v, %v", ids(page2), err)
	}
	everyone, err := s.ListOrders(ctx, engine.OrderQuery{Limit: 10})
	if err != nil || len(everyone) != 5 || everyone[0].ID != all[4].ID || len(everyone[0].Items) != 1 {
		t.Fatalf("all orders = %v, %v", ids(everyone), err)
	}
	if _, _, err := s.TransitionOrder(ctx, all[1].ID, func(cur engine.Order) (engine.Order, error) {
		return cur.Transition(engine.StatusCancelled, engine.TriggerAdmin, "", now())
	}); err != nil {
		t.Fatal(err)
	}
	cancelled, err := s.ListOrders(ctx, engine.OrderQuery{Status: engine.StatusCancelled, Limit: 10})
	if err != nil || !reflect.DeepEqual(ids(cancelled), []engine.ID{all[1].ID}) {
		t.Errorf("cancelled orders = %v, %v", ids(cancelled), err)
	}
	if _, err := s.ListOrders(ctx, engine.OrderQuery{Limit: 0}); !errors.Is(err, engine.ErrInvalid) {
		t.Errorf("limit 0 = %v, want ErrInvalid", err)
	}
}
