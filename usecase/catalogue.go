package usecase

import (
	"context"
	"errors"
	"time"

	"github.com/flashstock/flashstock/engine"
)

// Catalogue is the products, as httpd's Products and LiveStock ports see
// them: reads from memory where the product is selling (its stock as last
// committed, ahead of every stored copy), else from the store; creation in
// the store; every change of an existing product (restock, PATCH) through
// Stock, so that the product's one writer of stock applies it after the
// work it decided before.
type Catalogue struct {
	store CatalogueStore
	stock Stock
	live  LiveProducts
}

// NewCatalogue builds the catalogue.
func NewCatalogue(store CatalogueStore, stock Stock, live LiveProducts) (*Catalogue, error) {
	if store == nil || stock == nil || live == nil {
		return nil, errors.New("usecase: NewCatalogue needs a store, a stock and live products")
	}
	return &Catalogue{store: store, stock: stock, live: live}, nil
}

// CreateProduct stores a new product; a taken SKU is engine.ErrConflict.
func (c *Catalogue) CreateProduct(ctx context.Context, p engine.Product) error {
	return c.store.CreateProduct(ctx, p)
}

// Product answers from memory when the product is selling, else from the
// store.
func (c *Catalogue) Product(ctx context.Context, id engine.ID) (engine.Product, error) {
	if p, ok := c.live.Product(id); ok {
		return p, nil
	}
	return c.store.Product(ctx, id)
}

// ListProducts returns one page of active products from the store (httpd
// overlays live stock with LiveProduct).
func (c *Catalogue) ListProducts(ctx context.Context, after engine.ID, limit int) ([]engine.Product, error) {
	return c.store.ListProducts(ctx, after, limit)
}

// UpdateProduct applies change through Stock and returns the stored
// product.
func (c *Catalogue) UpdateProduct(ctx context.Context, id engine.ID,
	change func(engine.Product) (engine.Product, error)) (engine.Product, error) {
	return c.stock.UpdateProduct(ctx, id, change)
}

// LiveProduct is the product as last committed in memory; ok false when it
// is not selling right now.
func (c *Catalogue) LiveProduct(id engine.ID) (engine.Product, bool) { return c.live.Product(id) }

// StockEvictedSince says whether a product with changed stock left memory
// since t.
func (c *Catalogue) StockEvictedSince(t time.Time) bool { return c.live.StockEvictedSince(t) }
