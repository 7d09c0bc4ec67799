package actors_test

import (
	"context"
	"crypto/rand"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"
	"github.com/rs/zerolog"

	"github.com/flashstock/flashstock/actors"
	"github.com/flashstock/flashstock/engine"
)

// Tests of the SKU actor's group commit over a fake store whose commits the
// test can hold open. The full behaviour against real PostgreSQL (sell-out,
// failures, panics, repair) is tested in internal/coretest.

var _ actors.SKUStore = (*gatedStore)(nil)

// gatedStore keeps products in memory (product, and any in more); each
// commit waits until the test opens the gate, and records what it wrote.
// Like PostgreSQL it refuses a commit that would take a stock below zero.
// Fields guarded by mu.
type gatedStore struct {
	mu      sync.Mutex
	product engine.Product
	more    []engine.Product
	stocks  map[engine.ID]*engine.Product // product and more, made on first use
	commits []engine.StockCommit
	gate    chan struct{} // nil = commits pass at once
	entered chan int      // receives the orders of each commit as it starts
}

// productsLocked returns the products by id; s.mu is held.
func (s *gatedStore) productsLocked() map[engine.ID]*engine.Product {
	if s.stocks == nil {
		s.stocks = map[engine.ID]*engine.Product{}
		for _, p := range append([]engine.Product{s.product}, s.more...) {
			s.stocks[p.ID] = &p
		}
	}
	return s.stocks
}

func (s *gatedStore) Products(_ context.Context, ids []engine.ID) ([]engine.Product, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []engine.Product
	for _, id := range ids {
		if p := s.productsLocked()[id]; p != nil {
			out = append(out, *p)
		}
	}
	return out, nil
}

func (s *gatedStore) CommitStock(ctx context.Context, c engine.StockCommit) ([]engine.StockCommitted, error) {
	s.mu.Lock()
	gate := s.gate
	s.mu.Unlock()
	if s.entered != nil {
		s.entered <- len(c.Orders)
	}
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := s.productsLocked()
	deltas := c.Deltas()
	for _, d := range deltas {
		p := ps[d.ProductID]
		if p == nil {
			return nil, engine.ErrNotFound
		}
		if p.Stock < d.Taken {
			return nil, engine.Invalid("stock", "is rejected by the database")
		}
	}
	out := make([]engine.StockCommitted, len(deltas))
	for i, d := range deltas {
		ps[d.ProductID].Stock -= d.Taken
		out[i] = engine.StockCommitted{ProductID: d.ProductID, Stock: ps[d.ProductID].Stock}
	}
	s.commits = append(s.commits, c)
	return out, nil
}

func (s *gatedStore) UpdateProduct(_ context.Context, id engine.ID, change func(engine.Product) (engine.Product, error)) (engine.Product, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.productsLocked()[id]
	if p == nil {
		return engine.Product{}, engine.ErrNotFound
	}
	next, err := change(*p)
	if err != nil {
		return engine.Product{}, err
	}
	*p = next
	return next, nil
}

// stockOf returns a product's stored stock.
func (s *gatedStore) stockOf(id engine.ID) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.productsLocked()[id].Stock
}

// batchSizes returns the orders of each commit.
func (s *gatedStore) batchSizes() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	var sizes []int
	for _, c := range s.commits {
		sizes = append(sizes, len(c.Orders))
	}
	return sizes
}

func newInventory(t *testing.T, store actors.SKUStore, cfg actors.Config) *actors.Inventory {
	t.Helper()
	system, err := actor.NewEngine(actor.NewEngineConfig())
	if err != nil {
		t.Fatal(err)
	}
	inv, err := actors.NewInventory(system, store, cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := inv.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return inv
}

func testProduct(t *testing.T, stock int64) engine.Product {
	t.Helper()
	p, err := engine.NewProduct(engine.ProductDraft{SKU: "HOT", Name: "Hot", Price: 100, Stock: stock}, newID(t), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func newID(t *testing.T) engine.ID {
	t.Helper()
	id, err := engine.NewID(time.Now(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func placeOne(inv *actors.Inventory, t *testing.T, p engine.Product) (engine.Order, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return inv.PlaceOrder(ctx, engine.PlaceOrder{OrderID: newID(t), UserID: engine.ID{7},
		Items: []engine.ItemRequest{{ProductID: p.ID, Quantity: 1}}, Now: time.Now()})
}

// A lone order commits at once, and the orders that arrive while a commit
// is in flight all join the next batch.
func TestGroupCommitBatchesArrivalsDuringACommit(t *testing.T) {
	t.Parallel()
	p := testProduct(t, 100)
	store := &gatedStore{product: p, gate: make(chan struct{}), entered: make(chan int, 100)}
	inv := newInventory(t, store, actors.Config{})
	results := make(chan error, 11)
	go func() { _, err := placeOne(inv, t, p); results <- err }()
	if n := <-store.entered; n != 1 {
		t.Fatalf("first commit has %d orders, want the lone order alone", n)
	}
	for range 10 { // arrive while the first commit is held open
		go func() { _, err := placeOne(inv, t, p); results <- err }()
	}
	waitFor(t, "10 requests in flight behind the commit", func() bool { return inv.Stats().Inflight == 11 })
	store.mu.Lock()
	close(store.gate)
	store.mu.Unlock()
	// Admission is counted just before the message is sent, so the last
	// arrivals may still be on their way into the inbox when the gate
	// opens: they then form a third batch. Under load this happened (9+1).
	if n := <-store.entered; n < 5 {
		t.Fatalf("second commit has %d orders, want the arrivals during the first batched together", n)
	}
	for range 11 {
		if err := <-results; err != nil {
			t.Errorf("order: %v", err)
		}
	}
	got := store.batchSizes()
	total := 0
	for _, n := range got[1:] {
		total += n
	}
	if len(got) > 3 || total != 10 {
		t.Errorf("batches %v, want [1 10] (or [1 n 10-n] when the last arrivals were late)", got)
	}
}

// No batch exceeds BatchOrdersMax; the rest follows in later batches.
func TestGroupCommitBatchBound(t *testing.T) {
	t.Parallel()
	p := testProduct(t, 100)
	store := &gatedStore{product: p, gate: make(chan struct{}), entered: make(chan int, 100)}
	inv := newInventory(t, store, actors.Config{BatchOrdersMax: 3})
	var wg sync.WaitGroup
	wg.Go(func() { placeOne(inv, t, p) })
	<-store.entered
	for range 8 {
		wg.Go(func() {
			if _, err := placeOne(inv, t, p); err != nil {
				t.Errorf("order: %v", err)
			}
		})
	}
	waitFor(t, "9 requests in flight", func() bool { return inv.Stats().Inflight == 9 })
	store.mu.Lock()
	close(store.gate)
	store.mu.Unlock()
	wg.Wait()
	total := 0
	for _, n := range store.batchSizes() {
		if n > 3 {
			t.Errorf("batch of %d orders, bound is 3", n)
		}
		total += n
	}
	if total != 9 {
		t.Errorf("%d orders committed, want 9", total)
	}
}

// Orders beyond the stock are refused from the ledger, without a commit.
func TestShortfallNeedsNoCommit(t *testing.T) {
	t.Parallel()
	p := testProduct(t, 1)
	store := &gatedStore{product: p}
	inv := newInventory(t, store, actors.Config{})
	if _, err := placeOne(inv, t, p); err != nil {
		t.Fatal(err)
	}
	var se *engine.StockError
	if _, err := placeOne(inv, t, p); !errors.As(err, &se) || se.Available != 0 {
		t.Fatalf("second order = %v, want a shortfall", err)
	}
	if got := store.batchSizes(); len(got) != 1 {
		t.Errorf("batches %v, want one", got)
	}
}

// A product edit waits for the pending orders' commit and sees their stock.
func TestUpdateProductSeesCommittedOrders(t *testing.T) {
	t.Parallel()
	p := testProduct(t, 10)
	store := &gatedStore{product: p, gate: make(chan struct{}), entered: make(chan int, 10)}
	inv := newInventory(t, store, actors.Config{})
	done := make(chan error, 1)
	go func() { _, err := placeOne(inv, t, p); done <- err }()
	<-store.entered
	got := make(chan engine.Product, 1)
	go func() {
		q, err := inv.UpdateProduct(context.Background(), p.ID, func(cur engine.Product) (engine.Product, error) {
			return cur.Restock(5, time.Now())
		})
		if err != nil {
			t.Errorf("UpdateProduct: %v", err)
		}
		got <- q
	}()
	store.mu.Lock()
	close(store.gate)
	store.mu.Unlock()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if q := <-got; q.Stock != 14 {
		t.Errorf("stock after the order and a restock of 5 = %d, want 14", q.Stock)
	}
}

func TestUnknownProduct(t *testing.T) {
	t.Parallel()
	inv := newInventory(t, &gatedStore{product: testProduct(t, 1)}, actors.Config{})
	if _, err := placeOne(inv, t, testProduct(t, 1)); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("order for an unknown product = %v, want ErrNotFound", err)
	}
	// The actor does not outlive the answer (passivation is 5 minutes away).
	waitFor(t, "the unknown product's actor to be gone", func() bool { return inv.Stats().LiveActors == 0 })
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	if err := (actors.Config{}).Validate(); err != nil {
		t.Errorf("zero config (defaults) = %v", err)
	}
	for name, c := range map[string]actors.Config{
		"shards":    {Shards: -1},
		"inflight":  {InflightPerSKUMax: 10, InflightMax: 5},
		"batch":     {BatchOrdersMax: -1},
		"durations": {ActorIdle: -time.Second},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("%s: Validate accepted %+v", name, c)
		}
	}
}

// waitFor polls cond until it holds or 5 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
