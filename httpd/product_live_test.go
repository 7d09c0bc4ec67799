package httpd

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/flashstock/flashstock/engine"
)

// liveFake is a LiveStock whose live products and eviction time the test
// sets. Guarded by mu.
type liveFake struct {
	mu        sync.Mutex
	products  map[engine.ID]engine.Product
	evictedAt time.Time
}

var _ LiveStock = (*liveFake)(nil)

func (l *liveFake) LiveProduct(id engine.ID) (engine.Product, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	p, ok := l.products[id]
	return p, ok
}

func (l *liveFake) StockEvictedSince(t time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return !l.evictedAt.Before(t)
}

func (l *liveFake) set(id engine.ID, stock int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.products[id] = engine.Product{ID: id, Stock: stock}
}

func (l *liveFake) evict(id engine.ID) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.products, id)
	l.evictedAt = time.Now()
}

// With live stock, a cached list page shows the stock of products being
// sold right now, not the cached copy: an order's effect is visible on the
// next list request, and the ETag follows it. A page read before an actor
// with changed stock was stopped is not served from the cache again.
func TestProductListShowsLiveStock(t *testing.T) {
	cache := &recordingCache{}
	live := &liveFake{products: map[engine.ID]engine.Product{}}
	f := newProductFixture(t, withListCache(cache), func(_ *Config, d *Deps) { d.Live = live })
	p := f.create(t, productBody("A")) // stock 10
	if got := f.list(t, "").Items[0].Stock; got != 10 {
		t.Fatalf("listed stock = %d, want 10", got)
	}
	_, hdr, _ := f.do("GET", "/products/", nil)
	tag := headerValue(hdr, "Etag")

	// Sales happen in the actor's memory and the database, not through a
	// catalogue write: nothing invalidates the cache.
	live.set(p.ID, 7)
	setStock(t, f.store, p.ID, 7)
	if got := f.list(t, "").Items[0].Stock; got != 7 {
		t.Fatalf("listed stock after sales = %d, want the live 7", got)
	}
	if _, hdr, _ := f.do("GET", "/products/", nil); headerValue(hdr, "Etag") == tag {
		t.Errorf("ETag unchanged although the stock changed")
	}
	if gets, sets, _, _ := cache.counts(); sets != 1 || gets < 3 {
		t.Fatalf("cache gets %d, sets %d; want the page served from the cache (1 set)", gets, sets)
	}
	// The actor stops after more sales: the page's copy (10) cannot be
	// corrected any more, so it is read again.
	setStock(t, f.store, p.ID, 4)
	live.evict(p.ID)
	if got := f.list(t, "").Items[0].Stock; got != 4 {
		t.Fatalf("listed stock after the actor stopped = %d, want 4 from the database", got)
	}
	if _, sets, _, _ := cache.counts(); sets != 2 {
		t.Errorf("cache sets = %d, want the page read and stored again", sets)
	}
}

// setStock changes a product's stored stock behind the API's back, as the
// commit pipeline does.
func setStock(t *testing.T, s *memStore, id engine.ID, stock int64) {
	t.Helper()
	if _, err := s.UpdateProduct(context.Background(), id, func(q engine.Product) (engine.Product, error) {
		q.Stock = stock
		return q, nil
	}); err != nil {
		t.Fatal(err)
	}
}
