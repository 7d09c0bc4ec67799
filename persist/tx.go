package persist

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// txBeginner is what pgxpool.Pool and pgxpool.Conn share.
type txBeginner interface {
	BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error)
}

// inTx runs fn in one read-write transaction on the pool; see runTx.
func (s *Store) inTx(ctx context.Context, op string, fn func(tx pgx.Tx) error) error {
	return runTx(ctx, s.pool, pgx.TxOptions{}, op, fn)
}

// runTx runs fn in one transaction begun on db with opts and commits it if
// fn returns nil. It is the one transaction helper of the package: every
// error, the begin's, fn's and the commit's, is passed through
// wrapError(op, ...), so a lost connection, a closed pool or a deadline
// anywhere in a transaction is engine.ErrUnavailable (after a failed
// commit the outcome is unknown). fn may return driver errors as they are;
// engine errors keep their sentinel.
func runTx(ctx context.Context, db txBeginner, opts pgx.TxOptions, op string, fn func(tx pgx.Tx) error) error {
	tx, err := db.BeginTx(ctx, opts)
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
