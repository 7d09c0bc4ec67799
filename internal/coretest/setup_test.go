package coretest

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"sync"
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
	"github.com/flashstock/flashstock/usecase"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// world is one test's inventory core over a fresh schema: the real SKU
// actors under the real use cases.
type world struct {
	t      *testing.T
	store  *persist.Store
	faults *faultyStore
	inv    *actors.Inventory
	uc     usecase.Config // the use cases' config (the order TTL as the actors')
	orders *usecase.Orders
	sql    *pgxpool.Pool // for the audit
	// actorPanics: decisions left to panic inside their SKU actor.
	actorPanics atomic.Int32
}

// newWorld starts the actors over a fresh, migrated schema; cfg may be
// zero. Every commit goes through a faultyStore the test can arm.
func newWorld(t *testing.T, cfg actors.Config) *world {
	t.Helper()
	return newWorldOn(t, testenv.PostgresURL(t), cfg)
}

// newWorldOn is newWorld over the database at url.
func newWorldOn(t *testing.T, url string, cfg actors.Config) *world {
	t.Helper()
	return newWorldWith(t, url, cfg, usecase.Config{})
}

// newWorldWith is newWorldOn with the use cases' config uc (its order TTL,
// when zero, the actors').
func newWorldWith(t *testing.T, url string, cfg actors.Config, uc usecase.Config) *world {
	t.Helper()
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
	w := &world{t: t, store: store, faults: faults, sql: sql}
	cfg.Knobs = &actors.TestingKnobs{BeforeDecide: func(engine.ID) {
		if w.actorPanics.Add(-1) >= 0 {
			panic("injected panic in the SKU actor")
		}
	}}
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
	if uc.OrderTTL == 0 {
		uc.OrderTTL = cfg.OrderTTL
	}
	orders, err := usecase.NewOrders(inv, store, uc, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	w.inv, w.uc, w.orders = inv, uc, orders
	return w
}

var _ actors.SKUStore = (*faultyStore)(nil)

// faultyStore is the real store with failures the test arms: the next
// commits can fail before writing, fail after writing (an ambiguous
// outcome, as when the connection drops during COMMIT), or panic (in the
// commit pipeline); and the next commit can be held open
// (holdNextCommit). It records every commit attempted.
type faultyStore struct {
	*persist.Store
	failBefore atomic.Int32 // commits left to fail without writing
	failAfter  atomic.Int32 // commits left to write, then report failure
	panics     atomic.Int32 // commits left to panic (without writing)

	mu       sync.Mutex
	gate     chan struct{}  // the next commit waits until it is closed; guarded by mu
	entered  chan struct{}  // closed when that commit waits; guarded by mu
	attempts []commitRecord // guarded by mu
}

// commitRecord is one commit attempted: what it wrote and its outcome.
type commitRecord struct {
	batch engine.StockCommit
	err   error
}

var errInjected = fmt.Errorf("%w: injected failure", engine.ErrUnavailable)

func (f *faultyStore) CommitStock(ctx context.Context, b engine.StockCommit) ([]engine.StockCommitted, error) {
	f.mu.Lock()
	gate, entered := f.gate, f.entered
	f.gate, f.entered = nil, nil
	f.mu.Unlock()
	if gate != nil {
		close(entered)
		<-gate
	}
	r, err := f.commit(ctx, b)
	f.mu.Lock()
	f.attempts = append(f.attempts, commitRecord{batch: b, err: err})
	f.mu.Unlock()
	return r, err
}

func (f *faultyStore) commit(ctx context.Context, b engine.StockCommit) ([]engine.StockCommitted, error) {
	if f.panics.Add(-1) >= 0 {
		panic("injected panic in the commit")
	}
	if f.failBefore.Add(-1) >= 0 {
		return nil, errInjected
	}
	r, err := f.Store.CommitStock(ctx, b)
	if err == nil && f.failAfter.Add(-1) >= 0 {
		return nil, errInjected
	}
	return r, err
}

// holdNextCommit makes the next commit wait: entered is closed when it
// waits, and release lets it go on.
func (f *faultyStore) holdNextCommit() (entered <-chan struct{}, release func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gate, f.entered = make(chan struct{}), make(chan struct{})
	gate := f.gate
	return f.entered, func() { close(gate) }
}

// commits returns the commits attempted so far.
func (f *faultyStore) commits() []commitRecord {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.attempts)
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
	return w.productWithID(newID(w.t), sku, stock)
}

// productWithID stores an active product with the given id and stock.
func (w *world) productWithID(id engine.ID, sku string, stock int64) engine.Product {
	w.t.Helper()
	p, err := engine.NewProduct(engine.ProductDraft{SKU: sku, Name: "Product " + sku, Price: 500, Stock: stock},
		id, time.Now().UTC().Truncate(time.Microsecond))
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
	id, err := engine.NewID(time.Now(), rand.Reader)
	if err != nil {
		return engine.Order{}, err
	}
	return w.placeID(id, user, items...)
}

// placeID orders items for user under order id id, with a 10 s deadline.
func (w *world) placeID(id, user engine.ID, items ...engine.ItemRequest) (engine.Order, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	now := time.Now().UTC().Truncate(time.Microsecond)
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
