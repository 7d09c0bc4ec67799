package httpd

import (
	"context"

	"github.com/flashstock/flashstock/engine"
)

// Users stores accounts.
type Users interface {
	// CreateUser stores u; a taken username is engine.ErrConflict.
	CreateUser(ctx context.Context, u engine.User) error
	// UserByUsername returns the account or engine.ErrNotFound.
	UserByUsername(ctx context.Context, username string) (engine.User, error)
	// UserByID returns the account or engine.ErrNotFound.
	UserByID(ctx context.Context, id engine.ID) (engine.User, error)
}

// Products is the catalogue.
type Products interface {
	// CreateProduct stores p; a taken SKU is engine.ErrConflict.
	CreateProduct(ctx context.Context, p engine.Product) error
	// Product returns the product (active or not) or engine.ErrNotFound.
	Product(ctx context.Context, id engine.ID) (engine.Product, error)
	// ListProducts returns up to limit active products with ids greater than
	// after (engine.NilID = from the start), in id order.
	ListProducts(ctx context.Context, after engine.ID, limit int) ([]engine.Product, error)
	// UpdateProduct applies change to the current product atomically (no
	// concurrent writer in between) and returns the stored result. An error
	// from change is returned unchanged and nothing is written; a taken SKU
	// is engine.ErrConflict.
	UpdateProduct(ctx context.Context, id engine.ID, change func(engine.Product) (engine.Product, error)) (engine.Product, error)
}

// ListCache keeps rendered product-list pages. Any error is treated as a
// cache miss by the caller: the cache is never needed for correctness.
type ListCache interface {
	// Get returns the cached body for key, if present.
	Get(ctx context.Context, key string) (body []byte, ok bool, err error)
	// Set stores body under key until the next Invalidate or the TTL.
	Set(ctx context.Context, key string, body []byte) error
	// Invalidate drops every cached page.
	Invalidate(ctx context.Context) error
}

// Pinger is a dependency that /readyz checks.
type Pinger interface {
	Ping(ctx context.Context) error
}
