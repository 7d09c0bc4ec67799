package persist

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/flashstock/flashstock/engine"
)

// Stock changes of one product. Only that product's SKU actor calls these:
// it is the single writer of products.stock.

// holdsListMax bounds one StaleHolds call.
const holdsListMax = 10_000

// moveStockSQL moves the stock of every product a commit touches, in one
// statement: it deletes the released holds ($3, $4: order and product ids
// in pairs) and sets each product's stock ($1, with the units taken in
// $2) to stock - taken + released. It returns each product's new stock and
// the units released.
const moveStockSQL = `WITH d AS (
    SELECT * FROM unnest($1::uuid[], $2::bigint[]) AS d(product_id, taken)
), r AS (
    DELETE FROM stock_holds h USING unnest($3::uuid[], $4::uuid[]) AS rel(order_id, product_id)
    WHERE h.order_id = rel.order_id AND h.product_id = rel.product_id
    RETURNING h.product_id, h.quantity
), rs AS (SELECT product_id, sum(quantity)::bigint AS released FROM r GROUP BY product_id)
UPDATE products p SET stock = p.stock - d.taken + coalesce(rs.released, 0)
FROM d LEFT JOIN rs ON rs.product_id = d.product_id
WHERE p.id = d.product_id
RETURNING p.id, p.stock, coalesce(rs.released, 0)::bigint`

// takeStockSQL is moveStockSQL for a commit without releases (nearly
// every one): the plain statement is planned in a fraction of the time.
const takeStockSQL = `UPDATE products p SET stock = p.stock - d.taken
FROM unnest($1::uuid[], $2::bigint[]) AS d(product_id, taken)
WHERE p.id = d.product_id
RETURNING p.id, p.stock, 0::bigint`

// CommitStock writes one transaction of the commit pipeline: the orders
// with their items, the assembling holds, the releases, and the stock of
// every product touched. The statements go out in one pipeline ending in a
// single Sync, so PostgreSQL runs them as one implicit transaction and the
// round trip is paid once per commit, however many SKU actors' work it
// carries. It returns, sorted by product id, what the commit did to each
// product, only after the commit (synchronous_commit as the server has
// it, on by default). On error nothing was written, unless the error is
// engine.ErrUnavailable, when the outcome is unknown (connection lost
// during the commit): the caller must reload. A row the database refuses
// (a taken order id or reference, a hold already there, stock below zero)
// is engine.ErrConflict or engine.ErrInvalid. With c.Fence, a shard whose
// epoch has moved on fails the whole commit with an *engine.FencedError
// naming every stale shard, before anything is written.
func (s *Store) CommitStock(ctx context.Context, c engine.StockCommit) ([]engine.StockCommitted, error) {
	const op = "commit stock"
	deltas := c.Deltas()
	batch := &pgx.Batch{}
	if len(c.Fence) > 0 {
		queueFence(batch, c.Fence)
	}
	queueOrders(batch, c.Orders)
	if len(c.Holds) > 0 {
		queueHolds(batch, c.Holds)
	}
	products, taken := make(uuidColumn, len(deltas)), make(int8Column, len(deltas))
	for i, d := range deltas {
		products[i], taken[i] = d.ProductID, d.Taken
	}
	relOrders, relProducts := make(uuidColumn, len(c.Releases)), make(uuidColumn, len(c.Releases))
	for i, r := range c.Releases {
		relOrders[i], relProducts[i] = r.OrderID, r.ProductID
	}
	out := make([]engine.StockCommitted, 0, len(deltas))
	sql, args := takeStockSQL, []any{products, taken}
	if len(c.Releases) > 0 {
		sql, args = moveStockSQL, append(args, relOrders, relProducts)
	}
	batch.Queue(sql, args...).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var r engine.StockCommitted
			if err := rows.Scan((*[16]byte)(&r.ProductID), &r.Stock, &r.Released); err != nil {
				return err
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, wrapError(op, err)
	}
	defer conn.Release()
	useArrayColumns(conn.Conn().TypeMap())
	if err := conn.SendBatch(ctx, batch).Close(); err != nil {
		return nil, wrapError(op, err)
	}
	if len(out) != len(deltas) {
		return nil, fmt.Errorf("%s: %d of %d products found: %w", op, len(out), len(deltas), engine.ErrNotFound)
	}
	slices.SortFunc(out, func(a, b engine.StockCommitted) int { return bytes.Compare(a.ProductID[:], b.ProductID[:]) })
	return out, nil
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
