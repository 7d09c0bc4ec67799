package persist

import (
	"context"

	"github.com/flashstock/flashstock/engine"
)

// gaugesSQL counts what the gauges show, each count served by a partial
// index (orders_pending_expires_at, products_low_stock, outbox_due) or a
// status index (dead_letters_status_id).
const gaugesSQL = `SELECT
    (SELECT count(*) FROM orders WHERE status = 'pending'),
    (SELECT count(*) FROM products WHERE is_active AND stock <= low_stock_threshold),
    (SELECT count(*) FROM dead_letters WHERE status = 'dead' AND source <> 'actor'),
    (SELECT count(*) FROM outbox WHERE status = 'pending')`

// Gauges counts pending orders, active products at or under their
// low-stock threshold, dead letters waiting for an operator (mails and
// tasks to retry; undeliverable actor messages cannot be retried, they are
// counted by flashstock_dead_letters_total) and mails not yet sent.
func (s *Store) Gauges(ctx context.Context) (engine.Gauges, error) {
	var g engine.Gauges
	err := s.pool.QueryRow(ctx, gaugesSQL).Scan(&g.PendingOrders, &g.LowStockProducts, &g.DeadLetters, &g.OutboxPending)
	if err != nil {
		return engine.Gauges{}, wrapError("gauges", err)
	}
	return g, nil
}
