package coretest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/flashstock/flashstock/actors"
	"github.com/flashstock/flashstock/engine"
)

// One buyer's write that the database refuses never fails the other
// buyers of its group commit. A commit is held open while twenty buyers'
// orders queue behind it, together with an order under an id that is
// taken (refused by the orders' primary key) and a hold that collides with
// a hold of the same order left behind by a dead attempt (stock_holds'
// primary key). The batch they form is refused; the twenty orders are
// stored nonetheless, the order with the taken id gets a clean conflict,
// and the hold replaces the leftover.
func TestRefusedOperationDoesNotFailItsBatch(t *testing.T) {
	t.Parallel()
	w := newWorld(t, actors.Config{})
	const initial, buyers = 100, 20
	hot, other := w.product("HOT", initial), w.product("OTHER", 10)
	u := w.user("buyer")
	taken := newID(t)
	if _, err := w.placeID(taken, u, item(other, 1)); err != nil {
		t.Fatal(err)
	}
	leftover, now := newID(t), time.Now().UTC().Truncate(time.Microsecond)
	if _, err := w.inv.Hold(t.Context(), leftover, hot.ID, 3, now); err != nil {
		t.Fatal(err)
	}

	entered, release := w.faults.holdNextCommit()
	plug := make(chan error, 1)
	go func() { _, err := w.place(u, item(hot, 1)); plug <- err }()
	<-entered
	orders, errs := make([]engine.Order, buyers), make([]error, buyers)
	var takenErr, holdErr error
	var wg sync.WaitGroup
	for i := range buyers {
		wg.Go(func() { orders[i], errs[i] = w.place(u, item(hot, 1)) })
	}
	wg.Go(func() { _, takenErr = w.placeID(taken, u, item(hot, 1)) })
	wg.Go(func() { _, holdErr = w.inv.Hold(t.Context(), leftover, hot.ID, 2, now) })
	waitFor(t, 10*time.Second, "every request queued behind the held commit", func() bool {
		return w.inv.Stats().Inflight == 1+buyers+2
	})
	release()
	wg.Wait()
	if err := <-plug; err != nil {
		t.Errorf("the order whose commit was held: %v", err)
	}
	for i, err := range errs {
		if err != nil {
			t.Errorf("buyer %d, in a batch with a refused operation: %v", i, err)
		} else if !w.orderExists(orders[i].ID) {
			t.Errorf("buyer %d: acknowledged order %s is not stored", i, orders[i].ID)
		}
	}
	if !errors.Is(takenErr, engine.ErrConflict) {
		t.Errorf("order under a taken id = %v, want a conflict", takenErr)
	}
	if holdErr != nil {
		t.Errorf("hold colliding with a leftover of its order = %v, want it to replace the leftover", holdErr)
	}
	shared := false
	for _, c := range w.faults.commits() {
		if c.err != nil && len(c.batch.Orders)+len(c.batch.Holds) > 1 {
			shared = true
		}
	}
	if !shared {
		t.Errorf("no refused commit carried other operations: the test did not exercise the isolation")
	}
	if l := w.checkConserved(hot, initial); l.sold != 1+buyers || l.held != 2 {
		t.Errorf("HOT: %+v, want %d sold and the 2 units of the new hold held", l, 1+buyers)
	}
	w.checkConserved(other, 10)
}

// After a crash between an order's holds and its write, the buyer's retry
// with the same Idempotency-Key takes the key over once its lease has run
// out and places the order under the same id, while the dead attempt's
// holds are still there (HoldTimeout has not passed). The retry replaces
// them: the order is placed exactly once and every unit is accounted for,
// even where the quantities differ.
func TestTakeoverReplacesLeftoverHolds(t *testing.T) {
	t.Parallel()
	w := newWorld(t, actors.Config{})
	a, b := w.product("A", 10), w.product("B", 10)
	u := w.user("buyer")
	id, now := newID(t), time.Now().UTC().Truncate(time.Microsecond)
	for _, h := range []engine.ItemRequest{item(a, 2), item(b, 5)} { // the dead attempt's holds
		if _, err := w.inv.Hold(t.Context(), id, h.ProductID, h.Quantity, now); err != nil {
			t.Fatal(err)
		}
	}
	o, err := w.placeID(id, u, item(a, 2), item(b, 3))
	if err != nil {
		t.Fatalf("retry under the dead attempt's order id: %v", err)
	}
	if o.ID != id || len(o.Items) != 2 {
		t.Errorf("placed %+v, want order %s with 2 items", o, id)
	}
	if l := w.checkConserved(a, 10); l.stock != 8 || l.sold != 2 || l.held != 0 || l.orders != 1 {
		t.Errorf("A after the retry: %+v, want 8 in stock, 2 sold in one order, nothing held", l)
	}
	if l := w.checkConserved(b, 10); l.stock != 7 || l.sold != 3 || l.held != 0 || l.orders != 1 {
		t.Errorf("B after the retry: %+v, want 7 in stock, 3 sold in one order, nothing held", l)
	}
	// A further placement under the same id is refused and changes nothing.
	if _, err := w.placeID(id, u, item(a, 1), item(b, 1)); !errors.Is(err, engine.ErrConflict) {
		t.Errorf("placing order %s again = %v, want a conflict", id, err)
	}
	if l := w.checkConserved(a, 10); l.stock != 8 || l.held != 0 || l.orders != 1 {
		t.Errorf("A after the refused placement: %+v", l)
	}
	w.checkConserved(b, 10)
}
