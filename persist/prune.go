package persist

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/flashstock/flashstock/engine"
)

// pruneRowsMax bounds the rows one PruneHistory call deletes per table.
const pruneRowsMax = 10_000

// pruneSQL deletes, per table, up to $2 finished records older than $1:
// task runs done or failed (a running one is never touched), mails sent
// (pending and dead ones stay), dead letters retried (waiting ones stay).
var pruneSQL = [3]string{
	`DELETE FROM task_runs WHERE run_key IN (SELECT run_key FROM task_runs
    WHERE status IN ('done', 'failed') AND finished_at < $1 LIMIT $2)`,
	`DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE status = 'sent' AND sent_at < $1 LIMIT $2)`,
	`DELETE FROM dead_letters WHERE id IN (SELECT id FROM dead_letters
    WHERE status = 'retried' AND retried_at < $1 LIMIT $2)`,
}

// PruneHistory deletes up to max finished records of each kind older than
// before (engine.PruneBefore), in one transaction, and says how many. A
// sent mail's key is forgotten with it, so a mail is deduplicated only for
// as long as it is kept. max outside 1..pruneRowsMax is engine.ErrInvalid.
func (s *Store) PruneHistory(ctx context.Context, before engine.PruneBefore, max int) (engine.PruneCounts, error) {
	if max < 1 || max > pruneRowsMax {
		return engine.PruneCounts{}, engine.Invalid("max", fmt.Sprintf("must be between 1 and %d", pruneRowsMax))
	}
	var n engine.PruneCounts
	counts := [3]*int{&n.TaskRuns, &n.SentMails, &n.RetriedDeadLetters}
	times := [3]any{before.TaskRuns.UTC(), before.SentMails.UTC(), before.RetriedDeadLetters.UTC()}
	batch := &pgx.Batch{}
	for i, sql := range pruneSQL {
		batch.Queue(sql, times[i], max).Exec(func(ct pgconn.CommandTag) error {
			*counts[i] = int(ct.RowsAffected())
			return nil
		})
	}
	// A batch outside a transaction runs as one implicit transaction.
	if err := s.pool.SendBatch(ctx, batch).Close(); err != nil {
		return engine.PruneCounts{}, wrapError("prune history", err)
	}
	return n, nil
}
