package actors_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/flashstock/flashstock/actors"
	"github.com/flashstock/flashstock/engine"
)

// refusingStore is a gatedStore that refuses, as the database would on a
// unique or check violation, every batch holding an order it names (all
// orders when refuseAll), and counts the commits tried. Guarded by mu.
type refusingStore struct {
	gatedStore
	refuse    map[engine.ID]bool
	refuseAll bool
	tries     int
}

func (s *refusingStore) CommitStock(ctx context.Context, c engine.StockCommit) ([]engine.StockCommitted, error) {
	s.mu.Lock()
	s.tries++
	refused := s.refuseAll && len(c.Orders) > 0
	for _, o := range c.Orders {
		refused = refused || s.refuse[o.ID]
	}
	s.mu.Unlock()
	if refused {
		return nil, fmt.Errorf("%w: order id already exists", engine.ErrConflict)
	}
	return s.gatedStore.CommitStock(ctx, c)
}

// placeID places a one-unit order under id.
func placeID(inv *actors.Inventory, p engine.Product, id engine.ID) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := inv.PlaceOrder(ctx, engine.PlaceOrder{OrderID: id, UserID: engine.ID{7},
		Items: []engine.ItemRequest{{ProductID: p.ID, Quantity: 1}}, Now: time.Now()})
	return err
}

// queueBehindGate places an order under each of ids while a first commit
// is held open, so that they form one batch, then opens the gate; it
// returns their errors once all are answered. whileHeld, if not nil, runs
// while the first commit is held, before the others are placed.
func queueBehindGate(t *testing.T, inv *actors.Inventory, s *refusingStore, p engine.Product, ids []engine.ID, whileHeld func()) []error {
	t.Helper()
	first := make(chan error, 1)
	go func() { first <- placeID(inv, p, newID(t)) }()
	<-s.entered
	if whileHeld != nil {
		whileHeld()
	}
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() { errs[i] = placeID(inv, p, id) })
	}
	waitFor(t, "the orders queued behind the commit", func() bool { return inv.Stats().Inflight == int64(1+len(ids)) })
	s.mu.Lock()
	close(s.gate)
	s.mu.Unlock()
	wg.Wait()
	if err := <-first; err != nil {
		t.Errorf("first order: %v", err)
	}
	return errs
}

// Two refused orders in a batch of 16: they alone fail, with the store's
// clean error, and the 14 others are committed.
func TestRefusedOrdersAreIsolated(t *testing.T) {
	t.Parallel()
	p := testProduct(t, 100)
	ids := make([]engine.ID, 16)
	for i := range ids {
		ids[i] = newID(t)
	}
	s := &refusingStore{gatedStore: gatedStore{product: p, gate: make(chan struct{}), entered: make(chan int, 100)},
		refuse: map[engine.ID]bool{ids[3]: true, ids[11]: true}}
	inv := newInventory(t, s, actors.Config{})
	errs := queueBehindGate(t, inv, s, p, ids, nil)
	committed := 0
	for _, n := range s.batchSizes() {
		committed += n
	}
	for i, err := range errs {
		switch {
		case i == 3 || i == 11:
			if !errors.Is(err, engine.ErrConflict) {
				t.Errorf("refused order %d = %v, want its conflict", i, err)
			}
		case err != nil:
			t.Errorf("order %d, batched with refused ones: %v", i, err)
		}
	}
	if committed != 1+14 {
		t.Errorf("%d orders committed, want 15", committed)
	}
	if got := inv.Stats().Inflight; got != 0 {
		t.Errorf("in flight after every answer: %d", got)
	}
	if err := placeID(inv, p, newID(t)); err != nil { // the ledger is right: it goes on selling
		t.Errorf("order after the isolation: %v", err)
	}
}

// When everything is refused, the isolation stops after its bound: every
// order gets an answer (refused or unavailable), none hangs, and the
// actor serves again.
func TestIsolationIsBounded(t *testing.T) {
	t.Parallel()
	p := testProduct(t, 1000)
	ids := make([]engine.ID, 300)
	for i := range ids {
		ids[i] = newID(t)
	}
	s := &refusingStore{gatedStore: gatedStore{product: p, gate: make(chan struct{}), entered: make(chan int, 1000)}}
	inv := newInventory(t, s, actors.Config{})
	errs := queueBehindGate(t, inv, s, p, ids, func() { // the first batch is past the check: it commits
		s.mu.Lock()
		s.refuseAll = true
		s.mu.Unlock()
	})
	for i, err := range errs {
		if !errors.Is(err, engine.ErrConflict) && !errors.Is(err, engine.ErrUnavailable) {
			t.Errorf("order %d = %v, want refused or unavailable", i, err)
		}
	}
	s.mu.Lock()
	tries := s.tries
	s.refuseAll = false
	s.mu.Unlock()
	if tries > 3*128+2 {
		t.Errorf("%d commits tried for one refused batch, want the isolation bounded", tries)
	}
	if err := placeID(inv, p, newID(t)); err != nil {
		t.Errorf("order after the refused batch: %v", err)
	}
}
