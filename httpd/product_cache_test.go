package httpd

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/flashstock/flashstock/engine"
)

// recordingCache is a ListCache in a map that counts calls and honours
// generations as the Redis one does: Invalidate advances gen, and a Set
// given another generation than the current one is dropped (and counted).
// failing makes every call fail; failSets only Set.
type recordingCache struct {
	mu                       sync.Mutex
	pages                    map[string][]byte
	gen                      int64
	gets, sets, invalidation int
	dropped                  int // Sets ignored for an outdated generation
	failing, failSets        bool
}

var _ ListCache = (*recordingCache)(nil)

var errCacheDown = errors.New("cache down")

func (c *recordingCache) Get(_ context.Context, key string) ([]byte, int64, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gets++
	if c.failing {
		return nil, 0, false, errCacheDown
	}
	b, ok := c.pages[key]
	return slices.Clone(b), c.gen, ok, nil
}

func (c *recordingCache) Set(_ context.Context, key string, gen int64, body []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sets++
	if c.failing || c.failSets {
		return errCacheDown
	}
	if gen != c.gen {
		c.dropped++
		return nil
	}
	if c.pages == nil {
		c.pages = map[string][]byte{}
	}
	c.pages[key] = slices.Clone(body)
	return nil
}

func (c *recordingCache) Invalidate(context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.invalidation++
	if c.failing {
		return errCacheDown
	}
	c.gen++
	clear(c.pages)
	return nil
}

func (c *recordingCache) counts() (gets, sets, invalidations, pages int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gets, c.sets, c.invalidation, len(c.pages)
}

func (c *recordingCache) droppedSets() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dropped
}

func TestProductListCache(t *testing.T) {
	cache := &recordingCache{}
	f := newProductFixture(t, withListCache(cache))
	p := f.create(t, productBody("A"))
	f.list(t, "")
	f.list(t, "?limit=20") // same normalized key
	if gets, sets, _, pages := cache.counts(); gets != 2 || sets != 1 || pages != 1 {
		t.Fatalf("gets %d, sets %d, pages %d; want 2, 1, 1", gets, sets, pages)
	}
	// A change behind the API's back stays invisible until a write
	// invalidates: proof that the page came from the cache.
	if _, err := f.store.UpdateProduct(context.Background(), p.ID, func(q engine.Product) (engine.Product, error) {
		q.Stock = 3
		return q, nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := f.list(t, "").Items[0].Stock; got != 10 {
		t.Fatalf("cached stock = %d, want 10", got)
	}
	path := "/products/" + p.ID.String()
	writes := []struct {
		method, path string
		body         any
	}{
		{"POST", "/products/", productBody("B")},
		{"PATCH", path, map[string]any{"name": "renamed"}},
		{"POST", path + "/restock", map[string]any{"quantity": 5}},
	}
	_, _, before, _ := cache.counts() // the first create
	for i, w := range writes {
		if status, _, body := f.do(w.method, w.path, w.body, authHeader(f.admin)...); status >= 300 {
			t.Fatalf("%s %s: %d %s", w.method, w.path, status, body)
		}
		if _, _, inv, pages := cache.counts(); inv != before+i+1 || pages != 0 {
			t.Fatalf("after %s %s: %d invalidations, %d pages; want %d, 0", w.method, w.path, inv, pages, before+i+1)
		}
		f.list(t, "") // refill
	}
	// Product B may sort first: ids made in the same millisecond order by
	// their random bits.
	var got int64 = -1
	for _, it := range f.list(t, "").Items {
		if it.ID == p.ID {
			got = it.Stock
		}
	}
	if got != 8 {
		t.Errorf("stock after invalidation = %d, want 3+5", got)
	}
	// Failed writes do not invalidate.
	f.do("POST", "/products/", productBody("B"), authHeader(f.admin)...)
	f.do("PATCH", path, map[string]any{}, authHeader(f.admin)...)
	if _, _, inv, _ := cache.counts(); inv != before+len(writes) {
		t.Errorf("invalidations after failed writes = %d, want %d", inv, before+len(writes))
	}
}

// TestProductListDropsPageReadBeforeAWrite: a write that commits and
// invalidates the cache while a list request reads the database makes that
// request's page stale, so it is not stored; the next request reads again
// and sees the write.
func TestProductListDropsPageReadBeforeAWrite(t *testing.T) {
	cache := &recordingCache{}
	var reads, stock atomic.Int64
	stock.Store(10)
	fake := &productsFake{ListProductsFunc: func(ctx context.Context, _ engine.ID, _ int) ([]engine.Product, error) {
		p := engine.Product{ID: engine.ID{1}, SKU: "A", Name: "A", Price: engine.Money{Amount: 1, Currency: "USD"},
			Stock: stock.Load(), IsActive: true}
		if reads.Add(1) == 1 {
			// A restock commits after this read and invalidates before
			// the handler stores the page.
			stock.Store(3)
			if err := cache.Invalidate(ctx); err != nil {
				return nil, err
			}
		}
		return []engine.Product{p}, nil
	}}
	ts := newTestServer(t, withListCache(cache), func(_ *Config, d *Deps) { d.Products = fake })
	list := func() int64 {
		t.Helper()
		pg := productFixture{testServer: ts}.list(t, "")
		if len(pg.Items) != 1 {
			t.Fatalf("list = %+v, want one product", pg)
		}
		return pg.Items[0].Stock
	}

	if got := list(); got != 10 { // the racing request itself may show the old stock
		t.Fatalf("racing list: stock %d, want 10", got)
	}
	if _, sets, _, pages := cache.counts(); sets != 1 || pages != 0 || cache.droppedSets() != 1 {
		t.Fatalf("after the racing list: %d sets, %d dropped, %d pages; want 1, 1, 0", sets, cache.droppedSets(), pages)
	}
	if got := list(); got != 3 || reads.Load() != 2 {
		t.Fatalf("next list: stock %d after %d reads; want 3 after 2 (a fresh read)", got, reads.Load())
	}
	if got := list(); got != 3 || reads.Load() != 2 {
		t.Fatalf("third list: stock %d after %d reads; want 3 from the cache", got, reads.Load())
	}
}

func TestProductCacheFailuresAreMisses(t *testing.T) {
	cache := &recordingCache{failing: true}
	f := newProductFixture(t, withListCache(cache))
	p := f.create(t, productBody("A"))
	if pg := f.list(t, ""); len(pg.Items) != 1 || pg.Items[0].ID != p.ID {
		t.Fatalf("list with a failing cache = %+v", pg)
	}
	// A failed Get gives no generation, so nothing is stored.
	if gets, sets, inv, _ := cache.counts(); gets != 1 || sets != 0 || inv != 1 {
		t.Errorf("gets %d, sets %d, invalidations %d; want 1, 0, 1 (all failing, all tolerated)", gets, sets, inv)
	}

	cache = &recordingCache{failSets: true}
	f = newProductFixture(t, withListCache(cache))
	p = f.create(t, productBody("A"))
	for range 2 {
		if pg := f.list(t, ""); len(pg.Items) != 1 || pg.Items[0].ID != p.ID {
			t.Fatalf("list with a cache failing Sets = %+v", pg)
		}
	}
	if gets, sets, _, pages := cache.counts(); gets != 2 || sets != 2 || pages != 0 {
		t.Errorf("gets %d, sets %d, pages %d; want 2, 2, 0 (failed Sets tolerated)", gets, sets, pages)
	}
}
