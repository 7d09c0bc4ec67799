package persist

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// inTx runs fn in one transaction and commits it if fn returns nil. Every
// error, fn's included, is passed through wrapError(op, ...): fn may return
// driver errors as they are, and engine errors keep their sentinel. The
// commit's own error counts too (a lost connection there is
// engine.ErrUnavailable: the outcome is unknown).
func (s *Store) inTx(ctx context.Context, op string, fn func(tx pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return wrapError(op, err)
	}
	// A no-op after Commit; if the rollback itself fails, pgx closes the
	// connection and the pool discards it, so its error adds nothing.
	defer func() { _ = tx.Rollback(ctx) }()
	if err := fn(tx); err != nil {
		return wrapError(op, err)
	}
	return wrapNil(op, tx.Commit(ctx))
}
