package actors

import (
	"context"
	"time"

	"github.com/flashstock/flashstock/engine"
)

// SKUStore is what a SKU actor needs of the database. The actor is the
// only caller that changes a product's stock.
type SKUStore interface {
	// Product loads a product or returns engine.ErrNotFound.
	Product(ctx context.Context, id engine.ID) (engine.Product, error)
	// CommitStockBatch writes one group commit in one transaction and
	// returns after the commit. On error nothing was written, except that
	// engine.ErrUnavailable may mean "unknown"; a taken order reference is
	// engine.ErrConflict.
	CommitStockBatch(ctx context.Context, b engine.StockBatch) (engine.StockBatchResult, error)
	// UpdateProduct applies change under the row lock and returns the
	// stored product; an error from change is returned unchanged.
	UpdateProduct(ctx context.Context, id engine.ID, change func(engine.Product) (engine.Product, error)) (engine.Product, error)
}

// OrderStore is what the order coordinator needs of the database.
type OrderStore interface {
	// FinalizeOrder writes a multi-product order, consuming its assembling
	// holds; engine.ErrUnavailable if they are no longer all there,
	// engine.ErrConflict for a taken reference.
	FinalizeOrder(ctx context.Context, o engine.Order) error
	// TransitionOrder applies change to the order under its row lock and,
	// when the new status returns stock, writes returning holds in the same
	// transaction; it returns the stored order and those holds.
	TransitionOrder(ctx context.Context, id engine.ID, change func(engine.Order) (engine.Order, error)) (engine.Order, []engine.Hold, error)
	// Order returns one order or engine.ErrNotFound.
	Order(ctx context.Context, id engine.ID) (engine.Order, error)
	// ListOrders returns one page of orders, newest first.
	ListOrders(ctx context.Context, q engine.OrderQuery) ([]engine.Order, error)
}

// HoldStore lets the repair loop find holds that should have been released.
type HoldStore interface {
	// StaleHolds returns up to max assembling holds older than
	// assemblingBefore and returning holds older than returningBefore.
	StaleHolds(ctx context.Context, assemblingBefore, returningBefore time.Time, max int) ([]engine.Hold, error)
}
