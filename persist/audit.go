package persist

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/flashstock/flashstock/engine"
)

// Audit queries: the durable truth the bench checks after every run
// (bench/audit.go), read straight from the tables whoever wrote them
// (flashstock's SKU actors or a baseline). They are meant for a quiet
// database: each is one statement, and they do not share a snapshot.

const (
	// auditIDsPerQuery bounds the ids sent in one ANY($1) array.
	auditIDsPerQuery = 10_000
	// negativeStockMax bounds the ids AuditNegativeStock returns.
	negativeStockMax = 100
)

// StockAudit is what the database says about one product's units. For
// every product, units ever stocked = Stock + Held + Sold.
type StockAudit struct {
	ProductID engine.ID
	// Stock is products.stock: the units still for sale.
	Stock int64
	// Sold is the units of the product in orders whose status is neither
	// cancelled nor failed.
	Sold int64
	// Held is the units of the product in stock_holds (assembling or
	// returning): taken from stock but in no live order.
	Held int64
	// Orders is the number of orders, of any status, with an item of the
	// product.
	Orders int64
}

// auditStockSQL reads the audit of each product in $1, in id order. Sales
// are summed in one grouped pass (bitmap scans of order_items_product_id),
// not one subquery per product. order_items has one row per
// (order, product), so counting rows counts orders.
const auditStockSQL = `SELECT p.id, p.stock, coalesce(s.sold, 0)::bigint, coalesce(h.held, 0)::bigint,
    coalesce(s.orders, 0)::bigint
FROM products p
LEFT JOIN (SELECT oi.product_id, count(*) AS orders,
        sum(oi.quantity) FILTER (WHERE o.status NOT IN ('cancelled', 'failed')) AS sold
    FROM order_items oi JOIN orders o ON o.id = oi.order_id
    WHERE oi.product_id = ANY($1::uuid[]) GROUP BY oi.product_id) s ON s.product_id = p.id
LEFT JOIN (SELECT product_id, sum(quantity) AS held FROM stock_holds
    WHERE product_id = ANY($1::uuid[]) GROUP BY product_id) h ON h.product_id = p.id
WHERE p.id = ANY($1::uuid[]) ORDER BY p.id`

// AuditStock returns the audit of each distinct product of ids that
// exists, in product-id order within each 10,000 ids queried at a time; a
// product that does not exist is left out (the caller compares counts).
func (s *Store) AuditStock(ctx context.Context, ids []engine.ID) ([]StockAudit, error) {
	all := uuids(distinctIDs(ids))
	out := make([]StockAudit, 0, len(all))
	for start := 0; start < len(all); start += auditIDsPerQuery {
		rows, err := s.pool.Query(ctx, auditStockSQL, all[start:min(start+auditIDsPerQuery, len(all))])
		if err != nil {
			return nil, wrapError("audit stock", err)
		}
		var a StockAudit
		_, err = pgx.ForEachRow(rows, []any{(*[16]byte)(&a.ProductID), &a.Stock, &a.Sold, &a.Held, &a.Orders},
			func() error { out = append(out, a); return nil })
		if err != nil {
			return nil, wrapError("audit stock", err)
		}
	}
	return out, nil
}

// OrdersForProducts returns the number of distinct orders, of any status,
// with an item of at least one of the products (one query, whatever the
// number of products: an order may span products).
func (s *Store) OrdersForProducts(ctx context.Context, productIDs []engine.ID) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT count(DISTINCT order_id) FROM order_items
WHERE product_id = ANY($1::uuid[])`, uuids(distinctIDs(productIDs))).Scan(&n)
	if err != nil {
		return 0, wrapError("audit orders for products", err)
	}
	return n, nil
}

// ExistingOrders returns how many of the distinct ids name a stored order
// (the bench passes the ids of every order it was given a 201 for: each
// must be durable). It queries 10,000 ids at a time.
func (s *Store) ExistingOrders(ctx context.Context, orderIDs []engine.ID) (int64, error) {
	ids := uuids(distinctIDs(orderIDs))
	var total int64
	for start := 0; start < len(ids); start += auditIDsPerQuery {
		chunk := ids[start:min(start+auditIDsPerQuery, len(ids))]
		var n int64
		if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM orders WHERE id = ANY($1::uuid[])", chunk).Scan(&n); err != nil {
			return 0, wrapError("audit existing orders", err)
		}
		total += n
	}
	return total, nil
}

// OrdersWithoutItems returns the number of orders created at or after
// since that have no item: an order is written with its items in one
// transaction, so any is a bug.
func (s *Store) OrdersWithoutItems(ctx context.Context, since time.Time) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM orders o WHERE o.created_at >= $1
AND NOT EXISTS (SELECT 1 FROM order_items oi WHERE oi.order_id = o.id)`, since.UTC()).Scan(&n)
	if err != nil {
		return 0, wrapError("audit orders without items", err)
	}
	return n, nil
}

// AuditNegativeStock returns up to 100 products, of the whole catalogue,
// whose stock is negative. The schema forbids it (CHECK stock >= 0), so
// the answer should always be empty; the audit asks anyway.
func (s *Store) AuditNegativeStock(ctx context.Context) ([]engine.ID, error) {
	rows, err := s.pool.Query(ctx, "SELECT id FROM products WHERE stock < 0 ORDER BY id LIMIT $1", negativeStockMax)
	if err != nil {
		return nil, wrapError("audit negative stock", err)
	}
	ids, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (engine.ID, error) {
		var id engine.ID
		err := r.Scan((*[16]byte)(&id))
		return id, err
	})
	if err != nil {
		return nil, wrapError("audit negative stock", err)
	}
	return ids, nil
}

// distinctIDs returns ids without repeats, in first-seen order.
func distinctIDs(ids []engine.ID) []engine.ID {
	seen := make(map[engine.ID]bool, len(ids))
	out := make([]engine.ID, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// uuids converts ids for a uuid[] parameter.
func uuids(ids []engine.ID) [][16]byte {
	out := make([][16]byte, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}
