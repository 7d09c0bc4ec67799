package actors_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"
	"github.com/rs/zerolog"

	"github.com/flashstock/flashstock/actors"
	"github.com/flashstock/flashstock/engine"
)

// What an idle SKU actor costs: many actors each serve one order over an
// in-memory store, then the heap (after a GC) and the resident set are
// compared with what they were before the actors existed.

var _ actors.SKUStore = (*memStore)(nil)

// memStore is a cheap fake store for many products: commits apply at once
// and keep nothing but the stock; every load returns fresh strings, as a
// database driver does. A commit touching a product of gates waits until
// its channel is closed (after saying so on held). Fields guarded by mu;
// gates and held are set before use.
type memStore struct {
	mu       sync.Mutex
	products map[engine.ID]*engine.Product
	gates    map[engine.ID]chan struct{}
	held     chan engine.ID
}

// newMemStore makes n products of the given stock.
func newMemStore(t testing.TB, n int, stock int64) (*memStore, []engine.ID) {
	t.Helper()
	s := &memStore{products: make(map[engine.ID]*engine.Product, n)}
	ids := make([]engine.ID, n)
	now := time.Now()
	for i := range ids {
		ids[i] = engine.ID{0xf5, byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)}
		p, err := engine.NewProduct(engine.ProductDraft{SKU: "SKU-" + strconv.Itoa(i), Name: "Product " + strconv.Itoa(i),
			Price: 100, Stock: stock}, ids[i], now)
		if err != nil {
			t.Fatal(err)
		}
		s.products[ids[i]] = &p
	}
	return s, ids
}

func (s *memStore) Products(_ context.Context, ids []engine.ID) ([]engine.Product, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]engine.Product, 0, len(ids))
	for _, id := range ids {
		if p := s.products[id]; p != nil {
			q := *p
			q.SKU, q.Name = strings.Clone(p.SKU), strings.Clone(p.Name)
			out = append(out, q)
		}
	}
	return out, nil
}

func (s *memStore) CommitStock(ctx context.Context, c engine.StockCommit) ([]engine.StockCommitted, error) {
	deltas := c.Deltas()
	for _, d := range deltas {
		if gate := s.gates[d.ProductID]; gate != nil {
			s.held <- d.ProductID
			select {
			case <-gate:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range deltas {
		p := s.products[d.ProductID]
		if p == nil {
			return nil, engine.ErrNotFound
		}
		if p.Stock < d.Taken {
			return nil, engine.Invalid("stock", "is rejected by the database")
		}
	}
	out := make([]engine.StockCommitted, len(deltas))
	for i, d := range deltas {
		s.products[d.ProductID].Stock -= d.Taken
		out[i] = engine.StockCommitted{ProductID: d.ProductID, Stock: s.products[d.ProductID].Stock}
	}
	return out, nil
}

func (s *memStore) UpdateProduct(_ context.Context, id engine.ID, change func(engine.Product) (engine.Product, error)) (engine.Product, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.products[id]
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
func (s *memStore) stockOf(id engine.ID) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.products[id].Stock
}

// orderEach places one 1-unit order on each product, from a few
// goroutines, and returns the errors.
func orderEach(inv *actors.Inventory, ids []engine.ID, workers int) []error {
	var mu sync.Mutex
	var errs []error
	next := make(chan engine.ID)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for id := range next {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				orderID := id
				orderID[0] = 0x0d
				_, err := inv.PlaceOrder(ctx, engine.PlaceOrder{OrderID: orderID, UserID: engine.ID{7},
					Items: []engine.ItemRequest{{ProductID: id, Quantity: 1}}, Now: time.Now()})
				cancel()
				if err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("product %s: %w", id, err))
					mu.Unlock()
				}
			}
		})
	}
	for _, id := range ids {
		next <- id
	}
	close(next)
	wg.Wait()
	return errs
}

// actorMemory is what n idle actors cost, per actor.
type actorMemory struct {
	heap, rss float64 // bytes per actor; rss < 0 when unreadable
}

// measureIdleActors spawns n idle, loaded actors (each served one order)
// and returns their memory per actor. The inventory is closed after.
func measureIdleActors(t testing.TB, n int) actorMemory {
	t.Helper()
	store, ids := newMemStore(t, n, 10)
	inv := startInventory(t, store, actors.Config{ActorsMax: n})
	before := settledMemory()
	if errs := orderEach(inv, ids, 32); len(errs) > 0 {
		t.Fatalf("%d orders failed, first: %v", len(errs), errs[0])
	}
	waitUntil(t, "every actor idle", func() bool { return inv.Stats().Inflight == 0 })
	if live := inv.Stats().LiveActors; live != n {
		t.Fatalf("%d live actors, want %d", live, n)
	}
	after := settledMemory()
	runtime.KeepAlive(inv)
	m := actorMemory{heap: float64(after.heap-before.heap) / float64(n), rss: -1}
	if before.rss > 0 && after.rss > 0 {
		m.rss = float64(after.rss-before.rss) / float64(n)
	}
	return m
}

// startInventory is newInventory for tests and benchmarks.
func startInventory(t testing.TB, store actors.SKUStore, cfg actors.Config) *actors.Inventory {
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
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := inv.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return inv
}

// waitUntil is waitFor for tests and benchmarks.
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

type memSample struct{ heap, rss int64 }

// settledMemory returns the live heap and the resident set after a full
// collection that gave free memory back to the OS.
func settledMemory() memSample {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memSample{heap: int64(ms.HeapAlloc), rss: residentBytes()}
}

// residentBytes reads the process's resident set (Linux), or -1.
func residentBytes() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return -1
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return -1
	}
	return pages * int64(os.Getpagesize())
}

// BenchmarkIdleActorMemory reports the heap and resident bytes of one idle
// SKU actor, measured over 50,000 (go test -run '^$' -bench IdleActorMemory
// -benchtime 1x ./actors/).
func BenchmarkIdleActorMemory(b *testing.B) {
	for range b.N {
		m := measureIdleActors(b, 50_000)
		b.ReportMetric(m.heap, "heap-B/actor")
		b.ReportMetric(m.rss, "rss-B/actor")
	}
}

// idleActorHeapMax bounds the heap of one idle SKU actor; it measures about
// 1.05 KiB (hollywood's process, context, PID, inbox and registry entry
// are about 0.65 KiB of it; the product as published 144 bytes).
const idleActorHeapMax = 1536

// An idle SKU actor costs at most idleActorHeapMax bytes of heap. Not
// parallel: the other tests of the package would allocate while it
// measures (parallel tests run after every serial one).
func TestIdleActorMemory(t *testing.T) {
	const n = 20_000
	m := measureIdleActors(t, n)
	t.Logf("idle SKU actor: %.0f heap bytes, %.0f resident bytes (over %d)", m.heap, m.rss, n)
	if m.heap > idleActorHeapMax {
		t.Errorf("an idle SKU actor costs %.0f bytes of heap, want at most %d", m.heap, idleActorHeapMax)
	}
}
