package httpd

import (
	"context"
	"time"

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

// LiveStock reads products from the memory of the SKU actors selling them
// right now, whose stock is ahead of any copy (the list cache's pages).
type LiveStock interface {
	// LiveProduct returns the product as its live actor last committed
	// it; ok false when no actor of it is live.
	LiveProduct(id engine.ID) (p engine.Product, ok bool)
	// StockEvictedSince reports whether, since t, an actor was stopped
	// whose product's stock had changed: a copy of stock read at t may
	// then be stale where LiveProduct can no longer correct it.
	StockEvictedSince(t time.Time) bool
}

// ListCache keeps rendered product-list pages. Any error is treated as a
// cache miss by the caller: the cache is never needed for correctness.
//
// Pages live under a generation that Invalidate advances. Get reports the
// generation it saw and Set takes it back, storing the page only if no
// Invalidate ran in between. The caller Gets before it reads the database,
// and a writer Invalidates after its write commits; so a page rendered from
// a read that raced a write is dropped rather than stored, and once an
// Invalidate has returned, no Get returns a page read before that write.
type ListCache interface {
	// Get returns the cached body for key, if present, and the generation
	// the lookup saw, which the caller passes to Set after a miss.
	Get(ctx context.Context, key string) (body []byte, gen int64, ok bool, err error)
	// Set stores body under key until the next Invalidate or the TTL, but
	// only if the current generation still equals gen, as returned by the
	// Get that missed; otherwise an Invalidate happened since that Get, body
	// may be stale, and Set silently does nothing.
	Set(ctx context.Context, key string, gen int64, body []byte) error
	// Invalidate drops every cached page and makes every Set given an
	// earlier generation a no-op.
	Invalidate(ctx context.Context) error
}

// Cluster shows this node's view of shard ownership.
type Cluster interface {
	// ClusterView returns this node, the live nodes and every shard's owner
	// and epoch.
	ClusterView(ctx context.Context) (engine.ClusterView, error)
}

// Pinger is a dependency that /readyz checks.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Orders places, reads and moves orders. Stock changes go through the SKU
// actors behind it.
type Orders interface {
	// PlaceOrder creates a pending order for cmd, all-or-nothing: a
	// shortfall is *engine.StockError, an unknown or inactive product
	// engine.ErrInvalid, too much work engine.ErrOverloaded, a failed or
	// timed-out commit engine.ErrUnavailable (the order then either exists
	// in full or not at all).
	PlaceOrder(ctx context.Context, cmd engine.PlaceOrder) (engine.Order, error)
	// Order returns one order with its items or engine.ErrNotFound.
	Order(ctx context.Context, id engine.ID) (engine.Order, error)
	// ListOrders returns one page of orders, newest first.
	ListOrders(ctx context.Context, q engine.OrderQuery) ([]engine.Order, error)
	// TransitionOrder moves an order along the state machine on behalf of
	// cmd.By and returns it as stored; stock is returned when the new status
	// releases it. An impossible edge is engine.ErrConflict; an order the
	// caller may not see is engine.ErrNotFound.
	TransitionOrder(ctx context.Context, cmd engine.TransitionOrder) (engine.Order, error)
}

// Payments applies verified payment webhook events.
type Payments interface {
	// ApplyPayment stores ev durably and applies it at most once per
	// ev.EventID, returning what it did: engine.OutcomeDuplicate for an
	// event_id seen before, and an outcome for every other event it stored.
	// An error means the event may not be stored (engine.ErrUnavailable,
	// engine.ErrOverloaded: the provider should retry).
	ApplyPayment(ctx context.Context, ev engine.PaymentEvent) (engine.PaymentOutcome, error)
}

// DeadLetters lets an operator inspect and re-run work that could not be
// done.
type DeadLetters interface {
	// DeadLetters returns one page of dead letters, newest first.
	DeadLetters(ctx context.Context, q engine.DeadLetterQuery) ([]engine.DeadLetter, error)
	// RetryDeadLetter re-queues or re-runs one dead letter on behalf of by
	// and returns it as stored: engine.ErrNotFound if there is none,
	// engine.ErrConflict if it is not dead any more or not retryable.
	RetryDeadLetter(ctx context.Context, id engine.ID, by string) (engine.DeadLetter, error)
	// RetryDeadLetters retries up to max dead letters on behalf of by,
	// oldest or newest as the implementation prefers, and says which were
	// retried, which failed and whether more remain.
	RetryDeadLetters(ctx context.Context, by string, max int) (engine.RetrySummary, error)
}

// Observer is told what the transport did, for metrics. It is called on the
// request path: its methods must be quick and safe for concurrent use. Every
// string it is given is a constant from a small fixed set, so labels made of
// them have bounded cardinality.
type Observer interface {
	// Request is called once per request when its answer is ready: route is
	// the pattern the route was registered with ("/orders/{id}", never the
	// raw path), or "not_found", "method_not_allowed", "options" (OPTIONS
	// for a known path) or "transport" (a request fasthttp refused before
	// routing, reported with took 0);
	// method is GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS or OTHER.
	Request(route, method string, status int, took time.Duration)
	// OrderPlaced is called once per POST /orders/ from an authenticated
	// caller that was rate limited, sent a body or Idempotency-Key that
	// failed to decode or validate, or reached Orders.PlaceOrder; result is
	// one of the OrderResult constants, took the time from the start of the
	// handler to the outcome, total the order's total when created (zero
	// otherwise). Idempotent replays, and repeats refused while the first
	// is in flight, are not reported again.
	OrderPlaced(result string, took time.Duration, total engine.Money)
}

// Results of an order placement, as reported to Observer.OrderPlaced.
const (
	OrderResultCreated           = "created"
	OrderResultInsufficientStock = "insufficient_stock"
	OrderResultInvalid           = "invalid"      // malformed JSON or validation failed (400, 422)
	OrderResultOverloaded        = "overloaded"   // refused to protect the server: 503 overloaded
	OrderResultRateLimited       = "rate_limited" // 429: the buyer's order rate was used up
	OrderResultUnavailable       = "unavailable"  // a dependency failed or timed out (503)
	OrderResultError             = "error"        // anything else, e.g. 500
)

// Actors reports on the running actors (GET /admin/actors).
type Actors interface {
	// ActorStats returns a snapshot of the live actors by kind and of the
	// hottest SKU actors.
	ActorStats(ctx context.Context) (engine.ActorStats, error)
}
