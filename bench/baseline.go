package bench

import (
	"context"
	"errors"
	"fmt"

	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"github.com/flashstock/flashstock/engine"
	"github.com/flashstock/flashstock/persist"
)

// Baselines are the designs flashstock is compared with in one bench
// invocation, each served by its own process (the hidden `flashstock
// bench-baseline --kind <kind>` command) on the same database, Redis and
// JWT secret as flashstock. They implement POST /orders/ the way a
// straightforward service would:
//
//	naive      one transaction per order that locks each product's row
//	           (persist.Store.PlaceOrderLocked)
//	redislock  the original Django design: a Redis mutex per product
//	           (10 s expiry), then a transaction without row locks
//	           (persist.Store.PlaceOrderUnlocked)
//	ceiling    no work at all: every request gets 200 {"status":"ok"}, the
//	           upper bound of a fasthttp server on the machine
//
// naive and redislock serve the POST /orders/ contract of DESIGN.md (JWT
// auth, the order JSON, problem+json errors with the same codes), GET
// /products/{id} (one plain read of the product's row: the catalog
// scenario's reads) and GET /healthz, and nothing else: no rate limits, no
// idempotency keys, no metrics, tokens verified on every request. The rest
// of the API is flashstock's, which the bench uses for set-up.

// BaselineOrders writes the baselines' orders; *persist.Store is one.
type BaselineOrders interface {
	// PlaceOrderLocked places an order under row locks (naive).
	PlaceOrderLocked(ctx context.Context, cmd engine.PlaceOrder) (engine.Order, error)
	// PlaceOrderUnlocked places an order without row locks; the caller
	// serializes orders per product (redislock).
	PlaceOrderUnlocked(ctx context.Context, cmd engine.PlaceOrder) (engine.Order, error)
}

// BaselineProducts reads products for GET /products/{id}; *persist.Store
// is one.
type BaselineProducts interface {
	// Product returns the product, active or not, or engine.ErrNotFound.
	Product(ctx context.Context, id engine.ID) (engine.Product, error)
}

// BaselineLocks hands out named mutual-exclusion locks shared across
// processes; *persist.Redis is one. A Locker's Lock fails with
// engine.ErrOverloaded when the lock stays taken too long.
type BaselineLocks interface {
	Mutex(name string) persist.Locker
}

// BaselineDeps is what the baselines need. The ceiling needs none of it.
type BaselineDeps struct {
	// Orders writes orders (naive, redislock).
	Orders BaselineOrders
	// Products reads products (naive, redislock).
	Products BaselineProducts
	// Locks holds a mutex per product around each order (redislock).
	Locks BaselineLocks
	// JWTSecret verifies access tokens: HS256, the secret flashstock signs
	// with (naive, redislock).
	JWTSecret []byte
	// Log receives errors only: internal errors and failed unlocks.
	Log zerolog.Logger
}

// NewBaseline returns the request handler of the baseline kind
// (TargetNaive, TargetRedisLock or TargetCeiling). The caller serves it
// with its own fasthttp.Server limits (timeouts, body size, concurrency).
func NewBaseline(kind string, deps BaselineDeps) (fasthttp.RequestHandler, error) {
	switch kind {
	case TargetCeiling:
		return serveCeiling, nil
	case TargetNaive, TargetRedisLock:
	default:
		return nil, fmt.Errorf("bench: unknown baseline %q (want %s, %s or %s)",
			kind, TargetNaive, TargetRedisLock, TargetCeiling)
	}
	var errs []error
	if deps.Orders == nil {
		errs = append(errs, errors.New("an order store is required"))
	}
	if deps.Products == nil {
		errs = append(errs, errors.New("a product store is required"))
	}
	if len(deps.JWTSecret) == 0 {
		errs = append(errs, errors.New("a JWT secret is required"))
	}
	if kind == TargetRedisLock && deps.Locks == nil {
		errs = append(errs, errors.New("a lock service is required"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("bench: baseline %s: %w", kind, err)
	}
	b := &baselineServer{secret: deps.JWTSecret, log: deps.Log, place: deps.Orders.PlaceOrderLocked,
		products: deps.Products}
	if kind == TargetRedisLock {
		rl := &redisLockPlacer{orders: deps.Orders, locks: deps.Locks, log: deps.Log}
		b.place = rl.place
	}
	return b.serve, nil
}
