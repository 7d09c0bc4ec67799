package persist

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/flashstock/flashstock/engine"
)

// Stock changes of one product. Only that product's SKU actor calls these:
// it is the single writer of products.stock.

// holdsListMax bounds one StaleHolds call.
const holdsListMax = 10_000

// releaseStockSQL deletes the holds of the released orders on one product
// and moves the product's stock by the units taken ($3) and released, in one
// statement. It returns the new stock and the released units.
const releaseStockSQL = `WITH r AS (
    DELETE FROM stock_holds WHERE product_id = $1 AND order_id = ANY($2::uuid[]) RETURNING quantity
), s AS (SELECT coalesce(sum(quantity), 0)::bigint AS released FROM r)
UPDATE products SET stock = stock - $3 + s.released FROM s WHERE id = $1
RETURNING stock, s.released`

// CommitStockBatch writes one group commit of a SKU actor in one
// transaction: the batch's orders with their items, its assembling holds,
// its releases, and the product's stock change. The queries go out in one
// pipeline ending in a single Sync, so PostgreSQL runs them as one implicit
// transaction and the round trip is paid once per batch, not per order. It
// returns only after the commit (synchronous_commit as the server has it,
// on by default). On error nothing was written, unless the error is
// engine.ErrUnavailable, when the outcome is unknown (connection lost
// during the commit): the caller must reload. A taken reference is
// engine.ErrConflict.
func (s *Store) CommitStockBatch(ctx context.Context, b engine.StockBatch) (engine.StockBatchResult, error) {
	op := "commit stock batch for " + b.ProductID.String()
	batch := &pgx.Batch{}
	queueOrders(batch, b.Orders)
	if len(b.Holds) > 0 {
		queueHolds(batch, b.Holds)
	}
	releases := make(uuidColumn, len(b.Releases))
	for i, id := range b.Releases {
		releases[i] = id
	}
	var r engine.StockBatchResult
	found := false
	batch.Queue(releaseStockSQL, [16]byte(b.ProductID), releases, b.Taken()).QueryRow(func(row pgx.Row) error {
		err := row.Scan(&r.Stock, &r.Released)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // reported below, once the batch is closed
		}
		found = err == nil
		return err
	})
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return engine.StockBatchResult{}, wrapError(op, err)
	}
	defer conn.Release()
	useArrayColumns(conn.Conn().TypeMap())
	if err := conn.SendBatch(ctx, batch).Close(); err != nil {
		return engine.StockBatchResult{}, wrapError(op, err)
	}
	if !found {
		return engine.StockBatchResult{}, fmt.Errorf("%s: %w", op, engine.ErrNotFound)
	}
	return r, nil
}

// insertOrdersSQL and insertItemsSQL insert many rows from parallel arrays
// in one statement each.
const (
	insertOrdersSQL = `INSERT INTO orders (id, reference, user_id, status, payment_status, total,
    currency, cancel_reason, created_at, updated_at, expires_at)
SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::text[], $6::bigint[],
    $7::text[], $8::text[], $9::timestamptz[], $10::timestamptz[], $11::timestamptz[])`
	insertItemsSQL = `INSERT INTO order_items (order_id, product_id, product_name, quantity, unit_price, subtotal)
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[])`
	insertHoldsSQL = `INSERT INTO stock_holds (order_id, product_id, quantity, kind, created_at)
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::bigint[], $4::text[], $5::timestamptz[])`
)

// queueOrders adds the inserts of orders and their items to batch.
func queueOrders(batch *pgx.Batch, orders []engine.Order) {
	if len(orders) == 0 {
		return
	}
	n := len(orders)
	ids, users := make(uuidColumn, n), make(uuidColumn, n)
	refs, statuses, payments := make(textColumn, n), make(textColumn, n), make(textColumn, n)
	currencies, reasons := make(textColumn, n), make(textColumn, n)
	totals := make(int8Column, n)
	created, updated, expires := make(timestamptzColumn, n), make(timestamptzColumn, n), make(timestamptzColumn, n)
	it := newItemColumns(orders)
	for i, o := range orders {
		ids[i], users[i], refs[i] = o.ID, o.UserID, o.Reference
		statuses[i], payments[i] = string(o.Status), string(o.PaymentStatus)
		totals[i], currencies[i], reasons[i] = o.Total.Amount, string(o.Total.Currency), o.CancelReason
		created[i], updated[i], expires[i] = o.CreatedAt.UTC(), o.UpdatedAt.UTC(), o.ExpiresAt.UTC()
		it.add(o)
	}
	batch.Queue(insertOrdersSQL, ids, refs, users, statuses, payments, totals, currencies, reasons,
		created, updated, expires)
	batch.Queue(insertItemsSQL, it.orders, it.products, it.names, it.quantities, it.prices, it.subtotals)
}

// itemColumns are order items as parallel arrays.
type itemColumns struct {
	orders, products              uuidColumn
	names                         textColumn
	quantities, prices, subtotals int8Column
}

// newItemColumns returns empty columns with room for the items of orders.
func newItemColumns(orders []engine.Order) itemColumns {
	n := 0
	for _, o := range orders {
		n += len(o.Items)
	}
	return itemColumns{orders: make(uuidColumn, 0, n), products: make(uuidColumn, 0, n), names: make(textColumn, 0, n),
		quantities: make(int8Column, 0, n), prices: make(int8Column, 0, n), subtotals: make(int8Column, 0, n)}
}

func (c *itemColumns) add(o engine.Order) {
	for _, it := range o.Items {
		c.orders = append(c.orders, o.ID)
		c.products = append(c.products, it.ProductID)
		c.names = append(c.names, it.ProductName)
		c.quantities = append(c.quantities, it.Quantity)
		c.prices = append(c.prices, it.UnitPrice.Amount)
		c.subtotals = append(c.subtotals, it.Subtotal.Amount)
	}
}

// queueHolds adds the insert of holds to batch.
func queueHolds(batch *pgx.Batch, holds []engine.Hold) {
	n := len(holds)
	orders, products := make(uuidColumn, n), make(uuidColumn, n)
	quantities, kinds, created := make(int8Column, n), make(textColumn, n), make(timestamptzColumn, n)
	for i, h := range holds {
		orders[i], products[i], quantities[i] = h.OrderID, h.ProductID, h.Quantity
		kinds[i], created[i] = string(h.Kind), h.CreatedAt.UTC()
	}
	batch.Queue(insertHoldsSQL, orders, products, quantities, kinds, created)
}

// StaleHolds returns up to max holds that should have been released by now:
// assembling holds created before assemblingBefore (their order was
// abandoned, or its coordinator died) and returning holds created before
// returningBefore (their release was lost), oldest first.
func (s *Store) StaleHolds(ctx context.Context, assemblingBefore, returningBefore time.Time, max int) ([]engine.Hold, error) {
	if max < 1 || max > holdsListMax {
		return nil, engine.Invalid("max", fmt.Sprintf("must be between 1 and %d", holdsListMax))
	}
	rows, err := s.pool.Query(ctx, `SELECT order_id, product_id, quantity, kind, created_at FROM stock_holds
WHERE (kind = 'assembling' AND created_at < $1) OR (kind = 'returning' AND created_at < $2)
ORDER BY created_at LIMIT $3`, assemblingBefore.UTC(), returningBefore.UTC(), max)
	if err != nil {
		return nil, wrapError("stale holds", err)
	}
	holds, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (engine.Hold, error) {
		var h engine.Hold
		var kind string
		err := r.Scan((*[16]byte)(&h.OrderID), (*[16]byte)(&h.ProductID), &h.Quantity, &kind, &h.CreatedAt)
		h.Kind = engine.HoldKind(kind)
		return h, err
	})
	if err != nil {
		return nil, wrapError("stale holds", err)
	}
	return holds, nil
}
