package persist

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/flashstock/flashstock/engine"
)

// What the alerting tasks read and write (usecase.TaskStore): low-stock
// crossings and the count of new dead letters.

// lowStockAlertsMax bounds the products one RecordLowStock call alerts.
const lowStockAlertsMax = 10_000

// recordLowStockSQL records a crossing for up to $2 active products at or
// under their threshold that have none recorded, at $1, and returns those
// products. A crossing recorded meanwhile by another node keeps its row
// and is not returned, so each crossing alerts once.
const recordLowStockSQL = `WITH low AS (
    SELECT p.id, p.stock, p.low_stock_threshold FROM products p
    WHERE p.is_active AND p.stock <= p.low_stock_threshold
      AND NOT EXISTS (SELECT 1 FROM low_stock_alerts a WHERE a.product_id = p.id)
    ORDER BY p.id LIMIT $2
), recorded AS (
    INSERT INTO low_stock_alerts (product_id, stock, threshold, alerted_at)
    SELECT id, stock, low_stock_threshold, $1 FROM low
    ON CONFLICT (product_id) DO NOTHING RETURNING product_id
)
SELECT ` + productColumns + ` FROM products WHERE id IN (SELECT product_id FROM recorded) ORDER BY id`

// forgetLowStockSQL forgets the crossings of products back above their
// threshold or no longer active (gone ones too), so that the next crossing
// alerts again.
const forgetLowStockSQL = `DELETE FROM low_stock_alerts a WHERE NOT EXISTS (
    SELECT 1 FROM products p WHERE p.id = a.product_id AND p.is_active AND p.stock <= p.low_stock_threshold)`

// RecordLowStock, in one transaction, records a crossing at now for every
// active product at or under its threshold that has none recorded (up to
// max, by id), queueing engine.LowStockMail to adminEmail for each (none
// when adminEmail is empty: the crossing is still recorded), and forgets
// the crossings of products back above their threshold or no longer
// active. It returns the products alerted and the number of crossings
// forgotten. max outside 1..lowStockAlertsMax is engine.ErrInvalid.
func (s *Store) RecordLowStock(ctx context.Context, now time.Time, adminEmail string, max int) ([]engine.Product, int, error) {
	if max < 1 || max > lowStockAlertsMax {
		return nil, 0, engine.Invalid("max", fmt.Sprintf("must be between 1 and %d", lowStockAlertsMax))
	}
	var alerted []engine.Product
	var forgotten int
	err := s.inTx(ctx, "record low stock", func(tx pgx.Tx) error {
		ct, err := tx.Exec(ctx, forgetLowStockSQL)
		if err != nil {
			return err
		}
		forgotten = int(ct.RowsAffected())
		rows, err := tx.Query(ctx, recordLowStockSQL, now.UTC(), max)
		if err != nil {
			return err
		}
		alerted, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (engine.Product, error) { return scanProduct(r) })
		if err != nil || len(alerted) == 0 || adminEmail == "" {
			return err
		}
		mails := make([]engine.Mail, len(alerted))
		for i, p := range alerted {
			mails[i] = engine.LowStockMail(p, now, adminEmail)
		}
		batch := &pgx.Batch{}
		if err := queueMails(batch, mails, now, nil); err != nil {
			return err
		}
		return tx.SendBatch(ctx, batch).Close()
	})
	if err != nil {
		return nil, 0, err
	}
	return alerted, forgotten, nil
}

// DeadLettersSince counts the dead letters created at or after since.
func (s *Store) DeadLettersSince(ctx context.Context, since time.Time) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, "SELECT count(*) FROM dead_letters WHERE created_at >= $1", since.UTC()).Scan(&n)
	if err != nil {
		return 0, wrapError("count dead letters", err)
	}
	return n, nil
}
