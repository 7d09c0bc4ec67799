package actors_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flashstock/flashstock/actors"
	"github.com/flashstock/flashstock/engine"
)

// Tests of the cap on live SKU actors (ActorsMax): least recently used
// first, never one with work in flight, and a product evicted loads again.

// orderOn places a one-unit order of product id.
func orderOn(inv *actors.Inventory, id engine.ID) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	orderID, err := engine.NewID(time.Now(), cryptoRand{})
	if err != nil {
		return err
	}
	_, err = inv.PlaceOrder(ctx, engine.PlaceOrder{OrderID: orderID, UserID: engine.ID{7},
		Items: []engine.ItemRequest{{ProductID: id, Quantity: 1}}, Now: time.Now()})
	return err
}

// cryptoRand reads random bytes for ids from math/rand (the tests need
// unique ids, not secret ones).
type cryptoRand struct{}

func (cryptoRand) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(rand.Uint32())
	}
	return len(p), nil
}

// liveOf reports whether a product has a live, loaded actor.
func liveOf(inv *actors.Inventory, id engine.ID) bool {
	_, ok := inv.Product(id)
	return ok
}

// Orders spread over ten times more products than the cap: the live actors
// stay under the cap (plus what the count, read shard by shard while
// actors come and go, may see twice: at most one per caller), every order
// is answered, and the stock is conserved.
func TestActorsMaxHoldsUnderSpread(t *testing.T) {
	t.Parallel()
	for name, shards := range map[string]int{"many shards": 0, "few shards": 4} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			const capacity, products, workers, orders, stock = 50, 500, 16, 3000, 5
			store, ids := newMemStore(t, products, stock)
			inv := startInventory(t, store, actors.Config{ActorsMax: capacity, Shards: shards})
			var sold [products]atomic.Int64
			var maxLive atomic.Int64
			stop := make(chan struct{})
			var sampler sync.WaitGroup
			sampler.Go(func() {
				for {
					if n := int64(inv.Stats().LiveActors); n > maxLive.Load() {
						maxLive.Store(n)
					}
					select {
					case <-stop:
						return
					default:
						runtime.Gosched()
					}
				}
			})
			var wg sync.WaitGroup
			var shortfalls atomic.Int64
			for w := range workers {
				wg.Go(func() {
					for i := w; i < orders; i += workers {
						k := rand.IntN(products)
						var se *engine.StockError
						switch err := orderOn(inv, ids[k]); {
						case err == nil:
							sold[k].Add(1)
						case errors.As(err, &se):
							shortfalls.Add(1)
						default:
							t.Errorf("order of product %d: %v", k, err)
						}
					}
				})
			}
			wg.Wait()
			close(stop)
			sampler.Wait()
			st := inv.Stats()
			if m := maxLive.Load(); m > capacity+workers {
				t.Errorf("live actors reached %d, cap %d (+%d)", m, capacity, workers)
			}
			if st.LiveActors > capacity {
				t.Errorf("%d live actors at rest, cap %d", st.LiveActors, capacity)
			}
			if st.Evictions < products-capacity {
				t.Errorf("%d evictions, want at least %d (every product past the cap)", st.Evictions, products-capacity)
			}
			for k, id := range ids {
				if got, want := store.stockOf(id), stock-sold[k].Load(); got != want {
					t.Errorf("product %d: stock %d, want %d (%d sold)", k, got, want, sold[k].Load())
				}
			}
			t.Logf("max live %d, evictions %d, shortfalls %d", maxLive.Load(), st.Evictions, shortfalls.Load())
		})
	}
}

// Within one shard the least recently used actor goes first.
func TestActorsMaxEvictsLeastRecentlyUsed(t *testing.T) {
	t.Parallel()
	store, ids := newMemStore(t, 4, 10)
	inv := startInventory(t, store, actors.Config{ActorsMax: 3, Shards: 1})
	for _, k := range []int{0, 1, 2, 0} { // 1 is now the least recently used
		if err := orderOn(inv, ids[k]); err != nil {
			t.Fatal(err)
		}
	}
	if err := orderOn(inv, ids[3]); err != nil {
		t.Fatal(err)
	}
	for k, want := range []bool{true, false, true, true} {
		if got := liveOf(inv, ids[k]); got != want {
			t.Errorf("product %d live = %v, want %v", k, got, want)
		}
	}
	if st := inv.Stats(); st.LiveActors != 3 || st.Evictions != 1 {
		t.Errorf("live %d, evictions %d; want 3 and 1", st.LiveActors, st.Evictions)
	}
}

// An actor whose commit is in flight is never evicted, however many
// products come after it; once every other actor is in flight too, the
// cap is passed rather than an admission refused, and the next spawns
// bring the count back under it.
func TestActorsMaxSparesWorkInFlight(t *testing.T) {
	t.Parallel()
	store, ids := newMemStore(t, 12, 10)
	gate := make(chan struct{})
	store.gates = map[engine.ID]chan struct{}{ids[0]: gate, ids[10]: gate}
	store.held = make(chan engine.ID, 10)
	// Three committers: two can hold gated commits while one serves the rest.
	inv := startInventory(t, store, actors.Config{ActorsMax: 2, Shards: 1, Committers: 3})
	held := make(chan error, 1)
	go func() { held <- orderOn(inv, ids[0]) }()
	<-store.held
	for _, id := range ids[1:10] {
		if err := orderOn(inv, id); err != nil {
			t.Fatal(err)
		}
		if !liveOf(inv, ids[0]) {
			t.Fatal("the actor with a commit in flight was evicted")
		}
		if n := inv.Stats().LiveActors; n > 2 {
			t.Fatalf("%d live actors, cap 2 (one of them idle)", n)
		}
	}
	// Both live actors in flight: a third product is admitted past the cap.
	second := make(chan error, 1)
	go func() { second <- orderOn(inv, ids[10]) }()
	<-store.held
	if err := orderOn(inv, ids[11]); err != nil {
		t.Fatalf("an order past the cap with every actor in flight: %v", err)
	}
	if n := inv.Stats().LiveActors; n != 3 {
		t.Errorf("%d live actors with two in flight past a cap of 2, want 3", n)
	}
	close(gate)
	for _, ch := range []chan error{held, second} {
		if err := <-ch; err != nil {
			t.Errorf("held order: %v", err)
		}
	}
	if err := orderOn(inv, ids[1]); err != nil { // spawns, evicting two
		t.Fatal(err)
	}
	if n := inv.Stats().LiveActors; n != 2 {
		t.Errorf("%d live actors after the next spawn, want the cap, 2", n)
	}
	for _, k := range []int{0, 1, 10, 11} {
		want := int64(9)
		if k == 1 {
			want = 8
		}
		if got := store.stockOf(ids[k]); got != want {
			t.Errorf("product %d: stock %d, want %d", k, got, want)
		}
	}
}

// A product whose actor was evicted loads again on its next request, with
// the stock its earlier orders left, and sells correctly.
func TestEvictedProductLoadsAgain(t *testing.T) {
	t.Parallel()
	store, ids := newMemStore(t, 2, 2)
	inv := startInventory(t, store, actors.Config{ActorsMax: 1})
	a, b := ids[0], ids[1]
	for _, id := range []engine.ID{a, b, a, b} { // each evicts the other
		if err := orderOn(inv, id); err != nil {
			t.Fatal(err)
		}
	}
	var se *engine.StockError
	if err := orderOn(inv, a); !errors.As(err, &se) || se.Available != 0 {
		t.Fatalf("third order of a product of 2 = %v, want a shortfall", err)
	}
	if st := inv.Stats(); st.Evictions != 4 || st.LiveActors != 1 {
		t.Errorf("evictions %d, live %d; want 4 and 1", st.Evictions, st.LiveActors)
	}
	if p, ok := inv.Product(a); !ok || p.Stock != 0 {
		t.Errorf("product a from memory = %+v, %v; want stock 0", p, ok)
	}
	for _, id := range ids {
		if s := store.stockOf(id); s != 0 {
			t.Errorf("stock of %s = %d, want 0", id, s)
		}
	}
}
