package coretest

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/rs/zerolog"

	"github.com/flashstock/flashstock/actors"
	"github.com/flashstock/flashstock/engine"
	"github.com/flashstock/flashstock/internal/testenv"
	"github.com/flashstock/flashstock/persist"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// world is one test's inventory core over a fresh schema.
type world struct {
	t      *testing.T
	store  *persist.Store
	faults *faultyStore
	inv    *actors.Inventory
	orders *actors.Orders
	sql    *pgxpool.Pool // for the audit
}

// newWorld starts the actors over a fresh, migrated schema; cfg may be
// zero. Every commit goes through a faultyStore the test can arm.
func newWorld(t *testing.T, cfg actors.Config) *world {
	t.Helper()
	url := testenv.PostgresURL(t)
	store, err := persist.Open(t.Context(), persist.Config{DatabaseURL: url, MaxConns: 16})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	if _, err := persist.Migrate(t.Context(), store, nil); err != nil {
		t.Fatal(err)
	}
	sql, err := pgxpool.New(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sql.Close)
	system, err := actor.NewEngine(actor.NewEngineConfig())
	if err != nil {
		t.Fatal(err)
	}
	faults := &faultyStore{Store: store}
	inv, err := actors.NewInventory(system, faults, cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := inv.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	orders, err := actors.NewOrders(inv, store, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	return &world{t: t, store: store, faults: faults, inv: inv, orders: orders, sql: sql}
}

var _ actors.SKUStore = (*faultyStore)(nil)

// faultyStore is the real store with failures the test arms: the next
// commits can fail before writing, fail after writing (an ambiguous
// outcome, as when the connection drops during COMMIT), or panic.
type faultyStore struct {
	*persist.Store
	failBefore atomic.Int32 // commits left to fail without writing
	failAfter  atomic.Int32 // commits left to write, then report failure
	panics     atomic.Int32 // commits left to panic (without writing)
}

var errInjected = fmt.Errorf("%w: injected failure", engine.ErrUnavailable)

func (f *faultyStore) CommitStockBatch(ctx context.Context, b engine.StockBatch) (engine.StockBatchResult, error) {
	if f.panics.Add(-1) >= 0 {
		panic("injected panic in the commit")
	}
	if f.failBefore.Add(-1) >= 0 {
		return engine.StockBatchResult{}, errInjected
	}
	r, err := f.Store.CommitStockBatch(ctx, b)
	if err == nil && f.failAfter.Add(-1) >= 0 {
		return engine.StockBatchResult{}, errInjected
	}
	return r, err
}

// user stores a buyer.
func (w *world) user(name string) engine.ID {
	w.t.Helper()
	u := engine.User{ID: newID(w.t), Username: name, PasswordHash: []byte("x"), CreatedAt: time.Now()}
	if err := w.store.CreateUser(w.t.Context(), u); err != nil {
		w.t.Fatal(err)
	}
	return u.ID
}

// product stores an active product with the given stock.
func (w *world) product(sku string, stock int64) engine.Product {
	w.t.Helper()
	p, err := engine.NewProduct(engine.ProductDraft{SKU: sku, Name: "Product " + sku, Price: 500, Stock: stock},
		newID(w.t), time.Now().UTC().Truncate(time.Microsecond))
	if err != nil {
		w.t.Fatal(err)
	}
	if err := w.store.CreateProduct(w.t.Context(), p); err != nil {
		w.t.Fatal(err)
	}
	return p
}

// place orders items for user with a fresh order id and a 10 s deadline.
func (w *world) place(user engine.ID, items ...engine.ItemRequest) (engine.Order, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	now := time.Now().UTC().Truncate(time.Microsecond)
	id, err := engine.NewID(now, rand.Reader)
	if err != nil {
		return engine.Order{}, err
	}
	return w.orders.PlaceOrder(ctx, engine.PlaceOrder{OrderID: id, UserID: user, Items: items, Now: now})
}

func item(p engine.Product, q int64) engine.ItemRequest {
	return engine.ItemRequest{ProductID: p.ID, Quantity: q}
}

func newID(t *testing.T) engine.ID {
	t.Helper()
	id, err := engine.NewID(time.Now(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// ledgerOf is the database's account of one product.
type ledgerOf struct {
	stock, sold, held int64
	orders            int64 // live orders naming the product
}

// audit reads the product's stock, the units of its live orders (not
// cancelled or failed) and its held units.
func (w *world) audit(p engine.Product) ledgerOf {
	w.t.Helper()
	var l ledgerOf
	err := w.sql.QueryRow(w.t.Context(), `SELECT
  (SELECT stock FROM products WHERE id = $1),
  (SELECT coalesce(sum(i.quantity), 0) FROM order_items i JOIN orders o ON o.id = i.order_id
     WHERE i.product_id = $1 AND o.status NOT IN ('cancelled', 'failed')),
  (SELECT coalesce(sum(quantity), 0) FROM stock_holds WHERE product_id = $1),
  (SELECT count(*) FROM order_items i JOIN orders o ON o.id = i.order_id
     WHERE i.product_id = $1 AND o.status NOT IN ('cancelled', 'failed'))`, [16]byte(p.ID)).
		Scan(&l.stock, &l.sold, &l.held, &l.orders)
	if err != nil {
		w.t.Fatal(err)
	}
	return l
}

// checkConserved fails the test unless stock + sold + held = initial.
func (w *world) checkConserved(p engine.Product, initial int64) ledgerOf {
	w.t.Helper()
	l := w.audit(p)
	if l.stock+l.sold+l.held != initial || l.stock < 0 {
		w.t.Errorf("product %s: stock %d + sold %d + held %d != initial %d", p.SKU, l.stock, l.sold, l.held, initial)
	}
	return l
}

// orderExists reports whether the order is stored.
func (w *world) orderExists(id engine.ID) bool {
	w.t.Helper()
	var n int
	if err := w.sql.QueryRow(w.t.Context(), "SELECT count(*) FROM orders WHERE id = $1", [16]byte(id)).Scan(&n); err != nil {
		w.t.Fatal(err)
	}
	return n == 1
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
