package usecase_test

import (
	"context"
	"testing"
	"time"

	"github.com/flashstock/flashstock/engine"
	"github.com/flashstock/flashstock/usecase"
)

// The catalogue reads a selling product from memory and any other from the
// store, creates in the store, and changes an existing product only through
// Stock (never the store).
func TestCatalogueRoutes(t *testing.T) {
	t.Parallel()
	live, stored := testProduct(t, 3), testProduct(t, 9)
	store := &fakeCatalogueStore{
		CreateProductFunc: func(context.Context, engine.Product) error { return nil },
		ProductFunc: func(_ context.Context, id engine.ID) (engine.Product, error) {
			if id == stored.ID {
				return stored, nil
			}
			return engine.Product{}, engine.ErrNotFound
		},
	}
	stock := &fakeStock{UpdateProductFunc: func(_ context.Context, id engine.ID, change func(engine.Product) (engine.Product, error)) (engine.Product, error) {
		return change(live)
	}}
	evicted := time.Now()
	c, err := usecase.NewCatalogue(store, stock, &fakeLive{
		ProductFunc:           func(id engine.ID) (engine.Product, bool) { return live, id == live.ID },
		StockEvictedSinceFunc: func(t time.Time) bool { return !t.After(evicted) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if p, err := c.Product(testCtx(t), live.ID); err != nil || p.Stock != 3 {
		t.Errorf("live product = %+v, %v; want it from memory", p, err)
	}
	if p, err := c.Product(testCtx(t), stored.ID); err != nil || p.Stock != 9 {
		t.Errorf("stored product = %+v, %v; want it from the store", p, err)
	}
	if _, ok := c.LiveProduct(stored.ID); ok {
		t.Error("LiveProduct answered for a product not in memory")
	}
	if !c.StockEvictedSince(evicted.Add(-time.Second)) || c.StockEvictedSince(evicted.Add(time.Second)) {
		t.Error("StockEvictedSince does not pass the live products' answer through")
	}
	p, err := c.UpdateProduct(testCtx(t), live.ID, func(p engine.Product) (engine.Product, error) {
		p.Stock += 10
		return p, nil
	})
	if err != nil || p.Stock != 13 || len(stock.called("UpdateProduct")) != 1 {
		t.Errorf("UpdateProduct = %+v, %v after %d stock calls; want the change applied through Stock once", p, err,
			len(stock.called("UpdateProduct")))
	}
	if err := c.CreateProduct(testCtx(t), testProduct(t, 1)); err != nil {
		t.Errorf("CreateProduct = %v", err)
	}
}
