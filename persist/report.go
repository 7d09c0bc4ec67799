package persist

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/flashstock/flashstock/engine"
)

// Daily sales reports (usecase.TaskStore). A day's orders are read by
// primary-key range: ids are UUIDv7 made at created_at, so
// [engine.FirstIDAt(day), engine.FirstIDAt(day+24h)) is that day's orders,
// and the order insert path carries no created_at index.

const (
	// reportCountsSQL counts a day's orders, and those paid.
	reportCountsSQL = `SELECT count(*), count(*) FILTER (WHERE payment_status = 'paid')
FROM orders WHERE id >= $1 AND id < $2`
	// reportRevenueSQL sums a day's paid totals per currency.
	reportRevenueSQL = `SELECT currency, sum(total)::bigint FROM orders
WHERE id >= $1 AND id < $2 AND payment_status = 'paid' GROUP BY currency ORDER BY currency`
	// reportTopProductsSQL ranks a day's paid sales per product (and
	// currency, should the product's currency have changed that day), with
	// the product's current SKU and name, or the item's name for a product
	// that is gone.
	reportTopProductsSQL = `SELECT i.product_id, coalesce(p.sku, ''), coalesce(p.name, max(i.product_name)),
    sum(i.quantity)::bigint AS units, sum(i.subtotal)::bigint, o.currency
FROM orders o JOIN order_items i ON i.order_id = o.id LEFT JOIN products p ON p.id = i.product_id
WHERE o.id >= $1 AND o.id < $2 AND o.payment_status = 'paid'
GROUP BY i.product_id, p.sku, p.name, o.currency
ORDER BY units DESC, i.product_id, o.currency LIMIT $3`
)

// SalesReport computes the report of the UTC day starting at day (which
// must be midnight UTC, else engine.ErrInvalid), from one snapshot: every
// order created that day counts in Orders, the paid ones (payment_status
// paid) in PaidOrders, Revenue (per currency, by currency) and TopProducts
// (up to engine.TopProductsMax, most units first, then by product id; a
// product sold in two currencies that day is listed once per currency).
func (s *Store) SalesReport(ctx context.Context, day time.Time) (engine.SalesReport, error) {
	day = day.UTC()
	if !day.Equal(day.Truncate(24 * time.Hour)) {
		return engine.SalesReport{}, engine.Invalid("day", "must be midnight UTC")
	}
	op := "sales report " + day.Format(time.DateOnly)
	from, to := [16]byte(engine.FirstIDAt(day)), [16]byte(engine.FirstIDAt(day.Add(24*time.Hour)))
	r := engine.SalesReport{Day: day}
	batch := &pgx.Batch{}
	batch.Queue(reportCountsSQL, from, to).QueryRow(func(row pgx.Row) error { return row.Scan(&r.Orders, &r.PaidOrders) })
	batch.Queue(reportRevenueSQL, from, to).Query(func(rows pgx.Rows) error {
		var err error
		r.Revenue, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (engine.Money, error) {
			var m engine.Money
			err := row.Scan(&m.Currency, &m.Amount)
			return m, err
		})
		return err
	})
	batch.Queue(reportTopProductsSQL, from, to, engine.TopProductsMax).Query(func(rows pgx.Rows) error {
		var err error
		r.TopProducts, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (engine.ProductSales, error) {
			var p engine.ProductSales
			err := row.Scan((*[16]byte)(&p.ProductID), &p.SKU, &p.Name, &p.Units, &p.Revenue.Amount, &p.Revenue.Currency)
			return p, err
		})
		return err
	})
	// Repeatable read: the three queries see the same orders.
	err := runTx(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, op,
		func(tx pgx.Tx) error { return tx.SendBatch(ctx, batch).Close() })
	if err != nil {
		return engine.SalesReport{}, err
	}
	return r, nil
}

// moneyJSON is an amount as sales_reports stores it.
type moneyJSON struct {
	Currency engine.Currency `json:"currency"`
	Amount   int64           `json:"amount"`
}

// productSalesJSON is one top product as sales_reports stores it.
type productSalesJSON struct {
	ProductID engine.ID `json:"product_id"`
	SKU       string    `json:"sku"`
	Name      string    `json:"name"`
	Units     int64     `json:"units"`
	Revenue   moneyJSON `json:"revenue"`
}

// SaveSalesReport stores r, replacing an earlier report of the same day,
// and queues m in the outbox at now (kept if its key is queued already),
// in one transaction. An invalid mail is engine.ErrInvalid.
func (s *Store) SaveSalesReport(ctx context.Context, r engine.SalesReport, m engine.Mail, now time.Time) error {
	op := "save sales report " + r.Day.UTC().Format(time.DateOnly)
	revenue := make([]moneyJSON, len(r.Revenue))
	for i, m := range r.Revenue {
		revenue[i] = moneyJSON{Currency: m.Currency, Amount: m.Amount}
	}
	top := make([]productSalesJSON, len(r.TopProducts))
	for i, p := range r.TopProducts {
		top[i] = productSalesJSON{ProductID: p.ProductID, SKU: p.SKU, Name: p.Name, Units: p.Units,
			Revenue: moneyJSON{Currency: p.Revenue.Currency, Amount: p.Revenue.Amount}}
	}
	revenueJSON, err := json.Marshal(revenue)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	topJSON, err := json.Marshal(top)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	batch := &pgx.Batch{}
	batch.Queue(`INSERT INTO sales_reports (day, orders, paid_orders, revenue, top_products, created_at)
VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (day) DO UPDATE SET orders = excluded.orders,
    paid_orders = excluded.paid_orders, revenue = excluded.revenue, top_products = excluded.top_products,
    created_at = excluded.created_at`, r.Day.UTC(), r.Orders, r.PaidOrders, revenueJSON, topJSON, now.UTC())
	if err := queueMails(batch, []engine.Mail{m}, now, nil); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	// A batch outside a transaction runs as one implicit transaction.
	if err := s.pool.SendBatch(ctx, batch).Close(); err != nil {
		return wrapError(op, err)
	}
	return nil
}
