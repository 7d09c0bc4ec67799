package coretest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/flashstock/flashstock/actors"
	"github.com/flashstock/flashstock/engine"
	"github.com/flashstock/flashstock/internal/testenv"
	"github.com/flashstock/flashstock/usecase"
)

// failureRun places orders from many buyers while some commits are made to
// fail (before writing, or after writing and reporting a failure) or panic,
// and checks the promise: every acknowledged order is stored, units are
// conserved, a failed order is either stored in full or absent, and the
// product keeps selling afterwards.
func failureRun(t *testing.T, arm func(w *world)) {
	w := newWorld(t, actors.Config{CrashesMax: 100})
	const units = 200
	p := w.product("HOT", units)
	other := w.product("OTHER", 10)
	u := w.user("buyer")
	arm(w)
	orders, errs := w.buyers(150, []engine.ID{u}, func(int) []engine.ItemRequest { return []engine.ItemRequest{item(p, 1)} })
	failed := 0
	for i, err := range errs {
		switch {
		case err == nil:
			if !w.orderExists(orders[i].ID) {
				t.Errorf("acknowledged order %s is not stored", orders[i].ID)
			}
		case errors.Is(err, engine.ErrUnavailable):
			failed++
		default:
			t.Errorf("buyer %d: %v", i, err)
		}
	}
	if failed == 0 {
		t.Errorf("no order failed: the fault was not injected")
	}
	w.checkConserved(p, units)
	// Disarm whatever fault the buyers did not use up (they may have formed
	// a single batch). The service goes on: the product and another sell.
	w.faults.failBefore.Store(0)
	w.faults.failAfter.Store(0)
	w.faults.panics.Store(0)
	w.actorPanics.Store(0)
	if _, err := w.place(u, item(p, 1)); err != nil {
		t.Errorf("after the failures, ordering the same product: %v", err)
	}
	if _, err := w.place(u, item(other, 1)); err != nil {
		t.Errorf("after the failures, ordering another product: %v", err)
	}
	w.checkConserved(p, units)
	w.checkConserved(other, 10)
}

func TestCommitFailsBeforeWriting(t *testing.T) {
	t.Parallel()
	failureRun(t, func(w *world) { w.faults.failBefore.Store(2) })
}

// The worst case: the commit happened but the actor was told it failed.
// The buyers were told to retry, yet their orders are stored: consistent
// ("committed and visible"), and the actor's reload keeps units exact.
func TestCommitFailsAfterWriting(t *testing.T) {
	t.Parallel()
	failureRun(t, func(w *world) { w.faults.failAfter.Store(2) })
}

// A panic in a SKU actor fails the request being handled and the actor's
// open work with 503; the actor reloads and goes on.
func TestPanicInActor(t *testing.T) {
	t.Parallel()
	failureRun(t, func(w *world) { w.actorPanics.Store(2) })
}

// A panic in the commit pipeline (here, in the store it calls) does not
// reach the process: the transaction's operations fail with 503 and their
// actors reload from the database.
func TestPanicInCommit(t *testing.T) {
	t.Parallel()
	failureRun(t, func(w *world) { w.faults.panics.Store(2) })
}

// Repeated crashes put the actor in back-off: it answers unavailable
// without touching the store, then recovers.
func TestRepeatedCrashesBackOff(t *testing.T) {
	t.Parallel()
	w := newWorld(t, actors.Config{CrashesMax: 2, CrashBackoff: 300 * time.Millisecond})
	p := w.product("HOT", 10)
	u := w.user("buyer")
	w.actorPanics.Store(2)
	for range 2 {
		if _, err := w.place(u, item(p, 1)); !errors.Is(err, engine.ErrUnavailable) {
			t.Fatalf("crashing commit: %v, want ErrUnavailable", err)
		}
	}
	if _, err := w.place(u, item(p, 1)); !errors.Is(err, engine.ErrUnavailable) {
		t.Fatalf("in back-off: %v, want ErrUnavailable", err)
	}
	if got := w.inv.Stats().Crashes; got != 2 {
		t.Errorf("crashes = %d, want 2", got)
	}
	waitFor(t, 5*time.Second, "the back-off to end", func() bool {
		_, err := w.place(u, item(p, 1))
		return err == nil
	})
	if l := w.checkConserved(p, 10); l.sold != 1 {
		t.Errorf("sold %d, want 1", l.sold)
	}
}

// An order interrupted between its holds and its write (the coordinator
// died) is repaired: the repair pass returns the held units once they are
// older than HoldTimeout, and a late finalize can no longer write it.
func TestRepairReleasesAbandonedHolds(t *testing.T) {
	t.Parallel()
	w := newWorldWith(t, testenv.PostgresURL(t), actors.Config{}, usecase.Config{HoldTimeout: time.Second})
	a, b := w.product("A", 10), w.product("B", 10)
	ctx := t.Context()
	orderID, now := newID(t), time.Now().UTC().Truncate(time.Microsecond)
	pa, err := w.inv.Hold(ctx, orderID, a.ID, 3, now)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := w.inv.Hold(ctx, orderID, b.ID, 4, now)
	if err != nil {
		t.Fatal(err)
	}
	if l := w.checkConserved(a, 10); l.held != 3 || l.stock != 7 {
		t.Fatalf("after the hold: %+v", l)
	}
	if n, err := w.orders.Repair(ctx, w.store, now); err != nil || n != 0 {
		t.Fatalf("repair of young holds = %d, %v; want nothing released", n, err)
	}
	n, err := w.orders.Repair(ctx, w.store, now.Add(2*time.Second))
	if err != nil || n != 2 {
		t.Fatalf("repair = %d, %v; want 2 holds released", n, err)
	}
	for _, p := range []engine.Product{a, b} {
		if l := w.checkConserved(p, 10); l.stock != 10 || l.held != 0 {
			t.Errorf("%s after repair: %+v, want all back", p.SKU, l)
		}
	}
	late, err := engine.NewOrder(engine.OrderDraft{ID: orderID, Reference: "ORD-00000000000A", UserID: w.user("buyer"),
		Lines: []engine.OrderLine{{Product: pa, Quantity: 3}, {Product: pb, Quantity: 4}}, Now: now, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.store.FinalizeOrder(ctx, late); !errors.Is(err, engine.ErrUnavailable) {
		t.Errorf("late finalize = %v, want ErrUnavailable", err)
	}
	w.checkConserved(a, 10)
}

func TestCancelReturnsStockOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t, actors.Config{})
	a, b := w.product("A", 10), w.product("B", 10)
	alice, bob := w.user("alice"), w.user("bob")
	o, err := w.place(alice, item(a, 2), item(b, 3))
	if err != nil {
		t.Fatal(err)
	}
	cancel := func(by engine.Trigger, user engine.ID) (engine.Order, error) {
		return w.orders.TransitionOrder(t.Context(), engine.TransitionOrder{OrderID: o.ID, To: engine.StatusCancelled,
			By: by, UserID: user, Reason: "test", Now: time.Now().UTC()})
	}
	if _, err := cancel(engine.TriggerBuyer, bob); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("bob cancelling alice's order: %v, want ErrNotFound", err)
	}
	got, err := cancel(engine.TriggerBuyer, alice)
	if err != nil || got.Status != engine.StatusCancelled {
		t.Fatalf("cancel = %+v, %v", got, err)
	}
	if _, err := cancel(engine.TriggerBuyer, alice); !errors.Is(err, engine.ErrConflict) {
		t.Errorf("second cancel: %v, want ErrConflict", err)
	}
	for _, p := range []engine.Product{a, b} {
		if l := w.checkConserved(p, 10); l.stock != 10 || l.held != 0 {
			t.Errorf("%s after cancel: %+v, want all 10 back, nothing held", p.SKU, l)
		}
	}
}

// Restock goes through the actor while orders are in flight: no order and
// no restocked unit is lost.
func TestRestockDuringOrders(t *testing.T) {
	t.Parallel()
	w := newWorld(t, actors.Config{})
	p := w.product("HOT", 50)
	u := w.user("buyer")
	done := make(chan error, 1)
	go func() {
		for range 5 {
			if _, err := w.inv.UpdateProduct(t.Context(), p.ID, func(cur engine.Product) (engine.Product, error) {
				return cur.Restock(10, time.Now())
			}); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	_, errs := w.buyers(120, []engine.ID{u}, func(int) []engine.ItemRequest { return []engine.ItemRequest{item(p, 1)} })
	if err := <-done; err != nil {
		t.Fatalf("restock: %v", err)
	}
	for _, err := range errs {
		if err != nil && !errors.Is(err, engine.ErrInsufficientStock) {
			t.Errorf("order: %v", err)
		}
	}
	w.checkConserved(p, 100)
}

// Idle actors are passivated; the next request spawns a fresh actor that
// loads the product again.
func TestPassivation(t *testing.T) {
	t.Parallel()
	w := newWorld(t, actors.Config{ActorIdle: 50 * time.Millisecond})
	u := w.user("buyer")
	var ps []engine.Product
	for i := range 5 {
		p := w.product(fmt.Sprintf("P%d", i), 5)
		ps = append(ps, p)
		if _, err := w.place(u, item(p, 1)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 5*time.Second, "idle actors to be passivated", func() bool { return w.inv.Stats().LiveActors == 0 })
	if _, err := w.place(u, item(ps[0], 4)); err != nil {
		t.Fatalf("order after passivation: %v", err)
	}
	if l := w.checkConserved(ps[0], 5); l.stock != 0 {
		t.Errorf("stock after passivation and reload = %d, want 0", l.stock)
	}
}

// Beyond the in-flight bound, requests are refused at once with
// ErrOverloaded, and nothing else breaks.
func TestBackpressure(t *testing.T) {
	t.Parallel()
	w := newWorld(t, actors.Config{InflightPerSKUMax: 2, InflightMax: 4})
	p := w.product("HOT", 1000)
	u := w.user("buyer")
	_, errs := w.buyers(100, []engine.ID{u}, func(int) []engine.ItemRequest { return []engine.ItemRequest{item(p, 1)} })
	overloaded := 0
	for _, err := range errs {
		switch {
		case errors.Is(err, engine.ErrOverloaded):
			overloaded++
		case err != nil:
			t.Errorf("order: %v", err)
		}
	}
	if overloaded == 0 {
		t.Errorf("no request was refused with 100 concurrent buyers and a bound of 2")
	}
	w.checkConserved(p, 1000)
	if s := w.inv.Stats(); s.Inflight != 0 {
		t.Errorf("in flight after everything answered: %d", s.Inflight)
	}
}

// A caller that gives up gets ErrUnavailable; the order then is either
// stored in full or not at all.
func TestCallerTimeout(t *testing.T) {
	t.Parallel()
	w := newWorld(t, actors.Config{})
	p := w.product("HOT", 10)
	u := w.user("buyer")
	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	time.Sleep(time.Millisecond)
	id := newID(t)
	_, err := w.orders.PlaceOrder(ctx, engine.PlaceOrder{OrderID: id, UserID: u, Items: []engine.ItemRequest{item(p, 1)}, Now: time.Now().UTC()})
	if !errors.Is(err, engine.ErrUnavailable) {
		t.Fatalf("expired caller: %v, want ErrUnavailable", err)
	}
	waitFor(t, 5*time.Second, "nothing in flight", func() bool { return w.inv.Stats().Inflight == 0 })
	l := w.checkConserved(p, 10)
	if stored := w.orderExists(id); stored != (l.sold == 1) {
		t.Errorf("order stored %v but %d sold", stored, l.sold)
	}
}
