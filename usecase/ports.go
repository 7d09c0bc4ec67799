package usecase

import (
	"context"
	"time"

	"github.com/flashstock/flashstock/engine"
)

// Stock is the inventory, keyed by product: the only way a use case changes
// stock. actors.Inventory implements it with the node's SKU actors, which
// decide and commit; the cluster's router will route each call to the
// product's owner. Errors: a shortfall is *engine.StockError, an unknown
// product engine.ErrNotFound, too much work engine.ErrOverloaded, a failed
// or timed-out commit engine.ErrUnavailable.
type Stock interface {
	// PlaceOrder places a single-product order (cmd.Items has exactly one
	// line) and returns it once committed.
	PlaceOrder(ctx context.Context, cmd engine.PlaceOrder) (engine.Order, error)
	// Reserve takes quantity units of a product for a multi-product order
	// that CommitReserved will write, and returns the product as it was
	// (its name and price go into the order). The units stay taken until
	// CommitReserved settles them or Unreserve gives them back. On an
	// error nothing of the call stays reserved.
	Reserve(ctx context.Context, orderID, productID engine.ID, quantity int64) (engine.Product, error)
	// Unreserve gives back an order's reservation of a product (none: a
	// no-op). It never waits.
	Unreserve(orderID, productID engine.ID)
	// CommitReserved writes order, every line of which is reserved, in one
	// transaction and returns it as stored (its reference may be new). It
	// takes the reservations over whatever happens: they are settled with
	// the order's fate, or given back when it was never written; the
	// caller never unreserves after this call.
	CommitReserved(ctx context.Context, order engine.Order) (engine.Order, error)
	// Release returns to stock whatever an order holds of a product
	// (nothing, if the hold was consumed or released already): the one
	// release path of cancellation, expiry, failed payment and repair.
	Release(ctx context.Context, orderID, productID engine.ID) error
	// UpdateProduct applies change to a product (restock, catalogue edits)
	// after the stock work decided before it, and returns the stored
	// product. An error from change is returned unchanged and nothing is
	// written; a taken SKU is engine.ErrConflict.
	UpdateProduct(ctx context.Context, id engine.ID, change func(engine.Product) (engine.Product, error)) (engine.Product, error)
}

// LiveProducts reads products from the memory of whatever sells them right
// now (the SKU actors), whose stock is ahead of any stored copy.
type LiveProducts interface {
	// Product returns the product as last committed; ok false when it is
	// not in memory (read the store then). It never waits.
	Product(id engine.ID) (p engine.Product, ok bool)
	// StockEvictedSince reports whether, since t, a product whose stock had
	// changed left memory: a copy of stock read at t may then be stale
	// where Product can no longer correct it.
	StockEvictedSince(t time.Time) bool
}

// CatalogueStore stores products. Changes of an existing product do not go
// here but through Stock, whose writer of the product applies them.
type CatalogueStore interface {
	// CreateProduct stores p; a taken SKU is engine.ErrConflict.
	CreateProduct(ctx context.Context, p engine.Product) error
	// Product returns the product (active or not) or engine.ErrNotFound.
	Product(ctx context.Context, id engine.ID) (engine.Product, error)
	// ListProducts returns up to limit active products with ids greater
	// than after (engine.NilID = from the start), in id order.
	ListProducts(ctx context.Context, after engine.ID, limit int) ([]engine.Product, error)
}

// OrderStore is what the order coordinator needs of the database.
type OrderStore interface {
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

// PaymentStore applies payment webhook events.
type PaymentStore interface {
	// ApplyPayment stores ev and applies it, in one transaction: it inserts
	// the event (an event_id already stored, archived ones included, is
	// engine.OutcomeDuplicate and changes nothing; a concurrent duplicate
	// waits for the first and then finds it), locks the order by reference,
	// decides with engine.DecidePayment at ev.ReceivedAt, and for
	// engine.OutcomeApplied updates the order, writes returning holds when
	// the new status releases stock, and queues the buyer's mail
	// (engine.OrderMail) in the outbox. The event row keeps the outcome.
	// It returns the outcome, the order as stored afterwards (zero when not
	// found) and the holds written.
	ApplyPayment(ctx context.Context, ev engine.PaymentEvent) (engine.PaymentOutcome, engine.Order, []engine.Hold, error)
}

// OrderTransitioner moves orders along the state machine; the expiry task
// cancels through it (Orders in the server, which returns the stock through
// Stock).
type OrderTransitioner interface {
	TransitionOrder(ctx context.Context, cmd engine.TransitionOrder) (engine.Order, error)
}

// TaskStore is what the scheduled tasks read and write.
type TaskStore interface {
	// ExpiredOrders returns up to max ids of pending orders whose
	// expires_at is at or before now, oldest deadline first.
	ExpiredOrders(ctx context.Context, now time.Time, max int) ([]engine.ID, error)
	// RecordLowStock, in one transaction: records a crossing for every
	// active product at or under its threshold that has none recorded,
	// queueing engine.LowStockMail to adminEmail for each (up to max), and
	// forgets the crossings of products back above their threshold (so the
	// next crossing alerts again). It returns the products alerted and the
	// number of crossings forgotten.
	RecordLowStock(ctx context.Context, now time.Time, adminEmail string, max int) ([]engine.Product, int, error)
	// SalesReport computes the report of the UTC day starting at day.
	SalesReport(ctx context.Context, day time.Time) (engine.SalesReport, error)
	// SaveSalesReport stores r (replacing an earlier one of the same day)
	// and queues m in the outbox, in one transaction.
	SaveSalesReport(ctx context.Context, r engine.SalesReport, m engine.Mail, now time.Time) error
	// ArchiveWebhookEvents moves up to max events received before
	// archiveBefore into the archive and deletes up to max archived events
	// received before deleteBefore.
	ArchiveWebhookEvents(ctx context.Context, archiveBefore, deleteBefore time.Time, max int) (archived, deleted int, err error)
	// DeadLettersSince counts dead letters created at or after since.
	DeadLettersSince(ctx context.Context, since time.Time) (int, error)
	// EnqueueMails adds mails to the outbox; a mail whose key is there
	// already is skipped. It returns how many were added.
	EnqueueMails(ctx context.Context, mails []engine.Mail, now time.Time) (int, error)
	// Gauges counts what the gauges show.
	Gauges(ctx context.Context) (engine.Gauges, error)
	// PruneHistory deletes up to max finished records of each kind older
	// than before says, and counts them.
	PruneHistory(ctx context.Context, before engine.PruneBefore, max int) (engine.PruneCounts, error)
}
