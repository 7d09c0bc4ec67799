package actors_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/flashstock/flashstock/actors"
	"github.com/flashstock/flashstock/engine"
)

// Tests of the node's commit pipeline over the in-memory store: the work
// of many SKU actors in one transaction, multi-product orders (reserved on
// each actor, committed as one) in one transaction, bounds, and reads from
// the actors' memory.

// products makes n products with the given stock, the first as a
// gatedStore's product and the rest in its more.
func products(t *testing.T, n int, stock int64) []engine.Product {
	t.Helper()
	ps := make([]engine.Product, n)
	for i := range ps {
		ps[i] = testProduct(t, stock)
	}
	return ps
}

// placeOn places a one-unit order of product p.
func placeOn(t *testing.T, inv *actors.Inventory, p engine.Product) error {
	t.Helper()
	return placeID(inv, p, newID(t))
}

// Orders of twenty products that arrive while a commit is in flight are
// written together, in one transaction: the pipeline batches across
// actors, not per actor.
func TestPipelineBatchesAcrossActors(t *testing.T) {
	t.Parallel()
	ps := products(t, 21, 10)
	store := &gatedStore{product: ps[0], more: ps[1:], gate: make(chan struct{}), entered: make(chan int, 100)}
	inv := newInventory(t, store, actors.Config{})
	first := make(chan error, 1)
	go func() { first <- placeID(inv, ps[0], newID(t)) }()
	<-store.entered
	errs := make([]error, 20)
	var wg sync.WaitGroup
	for i, p := range ps[1:] {
		wg.Go(func() { errs[i] = placeID(inv, p, newID(t)) })
	}
	waitFor(t, "20 orders of 20 products queued behind the commit", func() bool { return inv.Stats().CommitQueued == 20 })
	store.mu.Lock()
	close(store.gate)
	store.mu.Unlock()
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	for i, err := range errs {
		if err != nil {
			t.Errorf("order %d: %v", i, err)
		}
	}
	if got := store.batchSizes(); len(got) != 2 || got[1] != 20 {
		t.Errorf("orders per transaction %v, want [1 20]: the 20 products' orders in one", got)
	}
	for _, p := range ps {
		if s := store.stockOf(p.ID); s != 9 {
			t.Errorf("stock of %s = %d, want 9", p.ID, s)
		}
	}
}

// A multi-product order is one operation of one transaction: the order,
// its items and every product's stock together; the actors' ledgers
// follow (the next orders see what is left).
func TestMultiProductOrderInOneTransaction(t *testing.T) {
	t.Parallel()
	ps := products(t, 3, 5)
	store := &gatedStore{product: ps[0], more: ps[1:]}
	inv := newInventory(t, store, actors.Config{})
	o, err := placeItems(inv, ps[0], 2, ps[1], 3, ps[2], 5)
	if err != nil {
		t.Fatal(err)
	}
	if o.Total.Amount != 10*100 || len(o.Items) != 3 {
		t.Errorf("order %+v, want 3 lines totalling 10 units at 1.00", o)
	}
	store.mu.Lock()
	commits := len(store.commits)
	inOne := commits == 1 && len(store.commits[0].Orders) == 1
	store.mu.Unlock()
	if !inOne {
		t.Errorf("%d transactions, want the order in one", commits)
	}
	for i, want := range []int64{3, 2, 0} {
		if s := store.stockOf(ps[i].ID); s != want {
			t.Errorf("stock of product %d = %d, want %d", i, s, want)
		}
	}
	var se *engine.StockError
	if _, err := placeItems(inv, ps[0], 1, ps[2], 1); !errors.As(err, &se) || se.ProductID != ps[2].ID {
		t.Errorf("order over a sold-out product = %v, want its shortfall", err)
	}
	if err := placeOn(t, inv, ps[0]); err != nil {
		t.Errorf("the refused order must give back its reservation of the other product: %v", err)
	}
	if s := store.stockOf(ps[0].ID); s != 2 {
		t.Errorf("stock of product 0 = %d, want 2 (the refused order took nothing)", s)
	}
}

// Crossing multi-product orders (A+B and B+A) from many buyers all end,
// none twice, and the stock adds up: reservations in product-id order
// cannot deadlock.
func TestCrossingMultiProductOrders(t *testing.T) {
	t.Parallel()
	ps := products(t, 2, 1000)
	store := &gatedStore{product: ps[0], more: ps[1:]}
	inv := newInventory(t, store, actors.Config{})
	var wg sync.WaitGroup
	errs := make([]error, 100)
	for i := range errs {
		a, b := ps[i%2], ps[1-i%2]
		wg.Go(func() { _, errs[i] = placeItems(inv, a, 1, b, 2) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("order %d: %v", i, err)
		}
	}
	if a, b := store.stockOf(ps[0].ID), store.stockOf(ps[1].ID); a+b != 2000-300 {
		t.Errorf("stock %d + %d, want 1700 left", a, b)
	}
	waitFor(t, "every reservation settled", func() bool { return inv.Stats().Inflight == 0 })
}

// Beyond CommitQueueOpsMax operations waiting, work is refused at once
// with ErrOverloaded, and nothing else breaks.
func TestPipelineQueueBound(t *testing.T) {
	t.Parallel()
	ps := products(t, 40, 10)
	store := &gatedStore{product: ps[0], more: ps[1:], gate: make(chan struct{}), entered: make(chan int, 100)}
	inv := newInventory(t, store, actors.Config{BatchOrdersMax: 4, CommitQueueOpsMax: 4})
	first := make(chan error, 1)
	go func() { first <- placeID(inv, ps[0], newID(t)) }()
	<-store.entered
	results := make(chan error, 39)
	for _, p := range ps[1:] {
		go func() { results <- placeID(inv, p, newID(t)) }()
	}
	ok, overloaded := 0, 0
	count := func(err error) {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, engine.ErrOverloaded):
			overloaded++
		default:
			t.Errorf("order: %v", err)
		}
	}
	for range 35 { // with the commit held, only the queue's 4 can wait
		count(<-results)
	}
	store.mu.Lock()
	close(store.gate)
	store.mu.Unlock()
	for range 4 {
		count(<-results)
	}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if ok != 4 || overloaded != 35 {
		t.Errorf("%d committed and %d refused, want 4 (the queue) and 35", ok, overloaded)
	}
}

// exclusiveStore fails the test if two transactions in flight at once
// touch the same product.
type exclusiveStore struct {
	*gatedStore
	mu      sync.Mutex
	busy    map[engine.ID]bool
	overlap bool
}

func (s *exclusiveStore) CommitStock(ctx context.Context, c engine.StockCommit) ([]engine.StockCommitted, error) {
	ds := c.Deltas()
	s.mu.Lock()
	for _, d := range ds {
		if s.busy[d.ProductID] {
			s.overlap = true
		}
		s.busy[d.ProductID] = true
	}
	s.mu.Unlock()
	time.Sleep(time.Millisecond) // a transaction takes time
	defer func() {
		s.mu.Lock()
		for _, d := range ds {
			delete(s.busy, d.ProductID)
		}
		s.mu.Unlock()
	}()
	return s.gatedStore.CommitStock(ctx, c)
}

// With several committers, a product is in one transaction at a time,
// however orders and multi-product orders mix.
func TestCommittersKeepProductsExclusive(t *testing.T) {
	t.Parallel()
	ps := products(t, 4, 10000)
	store := &exclusiveStore{gatedStore: &gatedStore{product: ps[0], more: ps[1:]}, busy: map[engine.ID]bool{}}
	inv := newInventory(t, store, actors.Config{Committers: 3})
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			var err error
			if i%3 == 0 {
				_, err = placeItems(inv, ps[i%4], 1, ps[(i+1)%4], 1)
			} else {
				err = placeID(inv, ps[i%4], newID(t))
			}
			if err != nil {
				t.Errorf("order %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	store.mu.Lock()
	defer store.mu.Unlock()
	if store.overlap {
		t.Errorf("two transactions in flight touched the same product")
	}
}

// A live product's actor answers reads from memory with the stock as last
// committed; a product with no live actor is not answered from memory.
func TestProductFromMemory(t *testing.T) {
	t.Parallel()
	p := testProduct(t, 10)
	store := &gatedStore{product: p}
	inv := newInventory(t, store, actors.Config{})
	if _, ok := inv.Product(p.ID); ok {
		t.Fatalf("a product with no live actor was answered from memory")
	}
	for range 3 {
		if err := placeOn(t, inv, p); err != nil {
			t.Fatal(err)
		}
	}
	got, ok := inv.Product(p.ID)
	if !ok || got.Stock != 7 || got.ID != p.ID || got.Name != p.Name {
		t.Errorf("Product from memory = %+v, %v; want the product with stock 7", got, ok)
	}
}

// placeItems places a multi-product order of (product, quantity) pairs
// through the inventory's Stock methods, as usecase.Orders does: each
// product reserved in product-id order, the reservations taken given back
// on a failure, then the order committed.
func placeItems(inv *actors.Inventory, pairs ...any) (engine.Order, error) {
	var lines []engine.OrderLine
	var items []engine.ItemRequest
	for i := 0; i+1 < len(pairs); i += 2 {
		p, q := pairs[i].(engine.Product), pairs[i+1].(int)
		items = append(items, engine.ItemRequest{ProductID: p.ID, Quantity: int64(q)})
	}
	slices.SortFunc(items, func(a, b engine.ItemRequest) int { return bytes.Compare(a.ProductID[:], b.ProductID[:]) })
	id, err := engine.NewID(time.Now(), rand.Reader)
	if err != nil {
		return engine.Order{}, fmt.Errorf("order id: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, it := range items {
		p, err := inv.Reserve(ctx, id, it.ProductID, it.Quantity)
		if err != nil {
			for _, l := range lines {
				inv.Unreserve(id, l.Product.ID)
			}
			return engine.Order{}, err
		}
		lines = append(lines, engine.OrderLine{Product: p, Quantity: it.Quantity})
	}
	ref, err := engine.NewReference(rand.Reader)
	if err != nil {
		return engine.Order{}, err
	}
	o, err := engine.NewOrder(engine.OrderDraft{ID: id, Reference: ref, UserID: engine.ID{7},
		Lines: lines, Now: time.Now(), TTL: time.Hour})
	if err != nil {
		return engine.Order{}, err
	}
	return inv.CommitReserved(ctx, o)
}

// loadGatedStore holds product loads until gate is closed.
type loadGatedStore struct {
	*gatedStore
	gate chan struct{}
}

func (s *loadGatedStore) Products(ctx context.Context, ids []engine.ID) ([]engine.Product, error) {
	select {
	case <-s.gate:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return s.gatedStore.Products(ctx, ids)
}

// A reservation still waiting for its product's load when its caller gives
// it back (the caller timed out) is never made: nothing stays taken, and
// no admission stays held.
func TestUnreserveBeforeTheReservationIsMade(t *testing.T) {
	t.Parallel()
	p := testProduct(t, 5)
	store := &loadGatedStore{gatedStore: &gatedStore{product: p}, gate: make(chan struct{})}
	inv := newInventory(t, store, actors.Config{})
	order := newID(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := inv.Reserve(ctx, order, p.ID, 5); !errors.Is(err, engine.ErrUnavailable) {
		t.Fatalf("reserve behind a held load = %v, want the caller's timeout", err)
	}
	inv.Unreserve(order, p.ID) // what the coordinator does after a failed reserve
	close(store.gate)
	waitFor(t, "nothing in flight", func() bool { return inv.Stats().Inflight == 0 })
	if err := placeID(inv, p, newID(t)); err != nil {
		t.Errorf("after the given-back reservation, an order: %v (its units stayed taken)", err)
	}
}
