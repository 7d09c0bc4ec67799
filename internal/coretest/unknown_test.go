package coretest

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flashstock/flashstock/actors"
	"github.com/flashstock/flashstock/engine"
)

// Orders naming products that do not exist are refused (400
// validation_failed upstream) and keep no SKU actor alive: inventing ids
// must not fill memory until passivation (5 minutes by default, not
// shortened here).
func TestUnknownProductsKeepNoActor(t *testing.T) {
	t.Parallel()
	w := newWorld(t, actors.Config{})
	u := w.user("buyer")
	const n = 60
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			unknown := engine.ItemRequest{ProductID: newID(t), Quantity: 1}
			if i%3 == 0 { // multi-product, both unknown
				_, errs[i] = w.place(u, unknown, engine.ItemRequest{ProductID: newID(t), Quantity: 2})
				return
			}
			_, errs[i] = w.place(u, unknown)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, engine.ErrInvalid) {
			t.Errorf("order %d for unknown products = %v, want a validation error", i, err)
		}
	}
	waitFor(t, 10*time.Second, "no SKU actor left for unknown products", func() bool {
		return w.inv.Stats().LiveActors == 0
	})
	if s := w.inv.Stats(); s.Inflight != 0 {
		t.Errorf("in flight after every answer: %d", s.Inflight)
	}
}

// A product created under an id that orders named before it existed sells
// normally, even while orders for it keep arriving during its creation.
func TestProductCreatedAfterOrdersForItsID(t *testing.T) {
	t.Parallel()
	w := newWorld(t, actors.Config{})
	u := w.user("buyer")
	id := newID(t)
	if _, err := w.place(u, engine.ItemRequest{ProductID: id, Quantity: 1}); !errors.Is(err, engine.ErrInvalid) {
		t.Fatalf("order before the product exists = %v, want a validation error", err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var unexpected atomic.Value
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, err := w.place(u, engine.ItemRequest{ProductID: id, Quantity: 1})
				if err != nil && !errors.Is(err, engine.ErrInvalid) {
					unexpected.Store(err)
				}
			}
		})
	}
	const initial = 1000
	p := w.productWithID(id, "LATE", initial)
	for i := range 5 { // created: from now on every order sees it
		if _, err := w.place(u, item(p, 1)); err != nil {
			t.Errorf("order %d after the product was created: %v", i, err)
		}
	}
	close(stop)
	wg.Wait()
	if err := unexpected.Load(); err != nil {
		t.Errorf("order racing the creation: %v", err)
	}
	if l := w.checkConserved(p, initial); l.sold < 5 {
		t.Errorf("sold %d, want at least the 5 orders placed after the creation", l.sold)
	}
}
