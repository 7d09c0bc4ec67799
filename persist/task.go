package persist

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/flashstock/flashstock/engine"
)

// Runs of scheduled tasks (actors.TaskRuns): one task_runs row per run key
// makes each run happen once across repeats and nodes.

// claimRunSQL claims run key $1: a new key, or a failed run (a retry), or
// a running one whose lease has passed (its node died). A done run or one
// whose lease holds conflicts without an update, and so returns no row.
const claimRunSQL = `INSERT INTO task_runs (run_key, task, status, attempts, node, started_at, locked_until)
VALUES ($1, $2, 'running', 1, $3, $4, $5)
ON CONFLICT (run_key) DO UPDATE SET status = 'running', attempts = task_runs.attempts + 1,
    node = excluded.node, started_at = excluded.started_at, locked_until = excluded.locked_until,
    finished_at = NULL, result = NULL, error = ''
WHERE task_runs.status = 'failed' OR (task_runs.status = 'running' AND task_runs.locked_until <= excluded.started_at)
RETURNING attempts`

// ClaimRun starts run key of task on node at now, leased until now+lease.
// It claims a new key, a failed run (a retry) or a running one whose lease
// has passed; a done run, or one running under a lease that still holds,
// is not claimed (ok false). attempt counts the claims of the key, this one
// included. Empty names or a lease that is not positive are
// engine.ErrInvalid.
func (s *Store) ClaimRun(ctx context.Context, task, key, node string, now time.Time, lease time.Duration) (int, bool, error) {
	if task == "" || key == "" || node == "" {
		return 0, false, engine.Invalid("run", "task, key and node are required")
	}
	if lease <= 0 {
		return 0, false, engine.Invalid("lease", "must be positive")
	}
	var attempt int
	err := s.pool.QueryRow(ctx, claimRunSQL, key, task, node, now.UTC(), now.Add(lease).UTC()).Scan(&attempt)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, wrapError("claim run "+key, err)
	}
	return attempt, true, nil
}

// FinishRun records the end of run r.RunKey: r.Status (done or failed),
// r.FinishedAt, r.Result (JSON, or nil for none) and r.Error (cut to
// errorTextBytesMax). With dead set, the same transaction adds that dead
// letter (completed as AddDeadLetter does). Only a running run finishes:
// an unknown key is engine.ErrNotFound, a run already finished (or failed
// and claimed by nobody since) is engine.ErrConflict, and then no dead
// letter is added either.
func (s *Store) FinishRun(ctx context.Context, r engine.TaskRun, dead *engine.DeadLetter) error {
	op := "finish run " + r.RunKey
	if err := checkFinish(r); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	var d engine.DeadLetter
	if dead != nil {
		var err error
		if d, err = completeDeadLetter(*dead); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
	}
	return s.inTx(ctx, op, func(tx pgx.Tx) error {
		ct, err := tx.Exec(ctx, `UPDATE task_runs SET status = $2, finished_at = $3, result = $4, error = $5
WHERE run_key = $1 AND status = 'running'`, r.RunKey, string(r.Status), r.FinishedAt.UTC(), r.Result,
			boundedText(r.Error, errorTextBytesMax))
		if err != nil {
			return err
		}
		if ct.RowsAffected() == 0 {
			return runNotRunning(ctx, tx, r.RunKey)
		}
		if dead == nil {
			return nil
		}
		return insertDeadLetter(ctx, tx, d)
	})
}

// checkFinish checks the fields of a finished run.
func checkFinish(r engine.TaskRun) error {
	switch {
	case r.Status != engine.TaskDone && r.Status != engine.TaskFailed:
		return engine.Invalid("status", "must be done or failed")
	case r.FinishedAt.IsZero():
		return engine.Invalid("finished_at", "is required")
	case r.Result != nil && !json.Valid(r.Result):
		return engine.Invalid("result", "must be JSON")
	}
	return nil
}

// runNotRunning says why finishing run key matched no row: pgx.ErrNoRows
// when there is no such run, engine.ErrConflict when it is not running.
func runNotRunning(ctx context.Context, q querier, key string) error {
	var status string
	if err := q.QueryRow(ctx, "SELECT status FROM task_runs WHERE run_key = $1", key).Scan(&status); err != nil {
		return err
	}
	return fmt.Errorf("%w: run %s is %s, not running", engine.ErrConflict, key, status)
}
