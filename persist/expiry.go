package persist

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/flashstock/flashstock/engine"
)

// expiredOrdersMax bounds one ExpiredOrders call.
const expiredOrdersMax = 10_000

// ExpiredOrders returns the ids of up to max pending orders whose
// expires_at is at or before now, oldest deadline first (the partial index
// orders_pending_expires_at serves it). The expiry job cancels each with
// TransitionOrder, which checks the deadline again under the row lock. max
// outside 1..expiredOrdersMax is engine.ErrInvalid.
func (s *Store) ExpiredOrders(ctx context.Context, now time.Time, max int) ([]engine.ID, error) {
	if max < 1 || max > expiredOrdersMax {
		return nil, engine.Invalid("max", fmt.Sprintf("must be between 1 and %d", expiredOrdersMax))
	}
	rows, err := s.pool.Query(ctx, `SELECT id FROM orders WHERE status = 'pending' AND expires_at <= $1
ORDER BY expires_at LIMIT $2`, now.UTC(), max)
	if err != nil {
		return nil, wrapError("expired orders", err)
	}
	ids, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (engine.ID, error) {
		var id engine.ID
		err := r.Scan((*[16]byte)(&id))
		return id, err
	})
	if err != nil {
		return nil, wrapError("expired orders", err)
	}
	return ids, nil
}
