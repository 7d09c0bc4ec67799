package persist

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/flashstock/flashstock/engine"
)

// Dead letters (actors.DeadLetterStore): work that used up its attempts,
// kept with its payload and last error until an operator retries it.

// deadLettersListMax bounds one DeadLetters page.
const deadLettersListMax = 1000

// retriedByBytesMax bounds who a retry is recorded as.
const retriedByBytesMax = 255

const deadLetterColumns = "id, source, kind, ref, payload, error, attempts, status, created_at, retried_at, retried_by"

// execer is what pgxpool.Pool and pgx.Tx share for statements without rows.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// AddDeadLetter stores d. A zero d.ID gets a new one made at d.CreatedAt,
// an empty d.Status is dead, an empty payload is JSON null, and the error
// is cut to errorTextBytesMax. An unknown source or status, a payload that
// is not JSON or a zero CreatedAt is engine.ErrInvalid; a taken id is
// engine.ErrConflict.
func (s *Store) AddDeadLetter(ctx context.Context, d engine.DeadLetter) error {
	d, err := completeDeadLetter(d)
	if err != nil {
		return fmt.Errorf("add dead letter: %w", err)
	}
	if err := insertDeadLetter(ctx, s.pool, d); err != nil {
		return wrapError("add dead letter "+d.ID.String(), err)
	}
	return nil
}

// completeDeadLetter fills in d's defaults and checks it, as AddDeadLetter
// describes.
func completeDeadLetter(d engine.DeadLetter) (engine.DeadLetter, error) {
	if d.CreatedAt.IsZero() {
		return d, engine.Invalid("created_at", "is required")
	}
	if d.Source != engine.DeadMail && d.Source != engine.DeadTask && d.Source != engine.DeadActor {
		return d, engine.Invalid("source", "must be mail, task or actor")
	}
	if d.Status == "" {
		d.Status = engine.DeadLetterDead
	}
	if d.Status != engine.DeadLetterDead && (d.Status != engine.DeadLetterRetried || d.RetriedAt.IsZero()) {
		return d, engine.Invalid("status", "must be dead, or retried with a retry time")
	}
	if len(d.Payload) == 0 {
		d.Payload = []byte("null")
	}
	if !json.Valid(d.Payload) {
		return d, engine.Invalid("payload", "must be JSON")
	}
	if d.ID.IsZero() {
		id, err := engine.NewID(d.CreatedAt, rand.Reader)
		if err != nil {
			return d, err
		}
		d.ID = id
	}
	d.Error = boundedText(d.Error, errorTextBytesMax)
	return d, nil
}

// insertDeadLetter inserts d as it is, in q's transaction if q is one.
func insertDeadLetter(ctx context.Context, q execer, d engine.DeadLetter) error {
	var retried *time.Time
	if d.Status == engine.DeadLetterRetried {
		at := d.RetriedAt.UTC()
		retried = &at
	}
	_, err := q.Exec(ctx, "INSERT INTO dead_letters ("+deadLetterColumns+
		") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
		[16]byte(d.ID), string(d.Source), d.Kind, d.Ref, d.Payload, d.Error, d.Attempts, string(d.Status),
		d.CreatedAt.UTC(), retried, d.RetriedBy)
	return err
}

// DeadLetter returns one dead letter or engine.ErrNotFound.
func (s *Store) DeadLetter(ctx context.Context, id engine.ID) (engine.DeadLetter, error) {
	d, err := scanDeadLetter(s.pool.QueryRow(ctx, "SELECT "+deadLetterColumns+" FROM dead_letters WHERE id = $1", [16]byte(id)))
	if err != nil {
		return engine.DeadLetter{}, wrapError("dead letter "+id.String(), err)
	}
	return d, nil
}

// DeadLetters returns up to q.Limit dead letters, newest first, with
// status q.Status (any when ""), of a retryable source only when
// q.RetryableOnly (mail and task, not actor), older than q.Before (from the newest when
// NilID): keyset pagination on the UUIDv7 primary key. A limit outside
// 1..deadLettersListMax or an unknown status is engine.ErrInvalid.
func (s *Store) DeadLetters(ctx context.Context, q engine.DeadLetterQuery) ([]engine.DeadLetter, error) {
	if q.Limit < 1 || q.Limit > deadLettersListMax {
		return nil, engine.Invalid("limit", fmt.Sprintf("must be between 1 and %d", deadLettersListMax))
	}
	if q.Status != "" && q.Status != engine.DeadLetterDead && q.Status != engine.DeadLetterRetried {
		return nil, engine.Invalid("status", "must be dead or retried")
	}
	before := q.Before
	if before.IsZero() {
		before = engine.ID{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	}
	// One statement text per filter, so that each cached plan uses the
	// index for its filter (as ListOrders).
	where, args := "id < $1", []any{[16]byte(before), q.Limit}
	if q.Status != "" {
		args = append(args, string(q.Status))
		where = "status = $3 AND " + where
	}
	if q.RetryableOnly {
		where += " AND source <> 'actor'"
	}
	rows, err := s.pool.Query(ctx, "SELECT "+deadLetterColumns+" FROM dead_letters WHERE "+where+" ORDER BY id DESC LIMIT $2", args...)
	if err != nil {
		return nil, wrapError("list dead letters", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (engine.DeadLetter, error) { return scanDeadLetter(r) })
	if err != nil {
		return nil, wrapError("list dead letters", err)
	}
	return list, nil
}

// RetryDeadLetter, in one transaction, marks dead letter id retried by
// `by` at now and, for a mail, puts its outbox mail back to pending, due at
// now with its attempts reset (only if that mail is still dead: one sent
// meanwhile is left alone). A task's dead letter is only marked: the caller
// runs the task again with the run key in Ref. It returns the dead letter
// as stored. Unknown id: engine.ErrNotFound. A dead letter not in status
// dead (a retry happens once) or from an actor (nothing to re-run):
// engine.ErrConflict.
func (s *Store) RetryDeadLetter(ctx context.Context, id engine.ID, by string, now time.Time) (engine.DeadLetter, error) {
	op := "retry dead letter " + id.String()
	if len(by) > retriedByBytesMax {
		return engine.DeadLetter{}, engine.Invalid("by", fmt.Sprintf("must be at most %d bytes", retriedByBytesMax))
	}
	var d engine.DeadLetter
	err := s.inTx(ctx, op, func(tx pgx.Tx) error {
		cur, err := scanDeadLetter(tx.QueryRow(ctx, "SELECT "+deadLetterColumns+
			" FROM dead_letters WHERE id = $1 FOR UPDATE", [16]byte(id)))
		if err != nil {
			return err
		}
		if err := checkRetry(cur); err != nil {
			return err
		}
		d, err = scanDeadLetter(tx.QueryRow(ctx, `UPDATE dead_letters SET status = 'retried', retried_at = $2,
retried_by = $3 WHERE id = $1 RETURNING `+deadLetterColumns, [16]byte(id), now.UTC(), by))
		if err != nil || d.Source != engine.DeadMail {
			return err
		}
		return requeueMail(ctx, tx, d, now)
	})
	if err != nil {
		return engine.DeadLetter{}, err
	}
	return d, nil
}

// checkRetry says whether dead letter d may be retried: engine.ErrConflict
// if not, with why.
func checkRetry(d engine.DeadLetter) error {
	if d.Status != engine.DeadLetterDead {
		return fmt.Errorf("%w: dead letter %s was already retried at %s by %q", engine.ErrConflict,
			d.ID, d.RetriedAt.Format(time.RFC3339), d.RetriedBy)
	}
	if !d.Retryable() {
		return fmt.Errorf("%w: an undeliverable actor message cannot be re-sent; it is kept for inspection", engine.ErrConflict)
	}
	return nil
}

// requeueMail puts the outbox mail of dead letter d back to pending, due at
// now, with its attempts and error reset, if it is still dead.
func requeueMail(ctx context.Context, tx pgx.Tx, d engine.DeadLetter, now time.Time) error {
	mailID, err := engine.ParseID(d.Ref)
	if err != nil {
		return fmt.Errorf("dead letter %s: %w: ref %q is not an outbox id", d.ID, errBrokenRow, d.Ref)
	}
	_, err = tx.Exec(ctx, `UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = $2,
locked_until = NULL, last_error = '' WHERE id = $1 AND status = 'dead'`, [16]byte(mailID), now.UTC())
	return err
}

// scanDeadLetter reads one dead_letters row.
func scanDeadLetter(row pgx.Row) (engine.DeadLetter, error) {
	var d engine.DeadLetter
	var source, status string
	var retried *time.Time
	err := row.Scan((*[16]byte)(&d.ID), &source, &d.Kind, &d.Ref, &d.Payload, &d.Error, &d.Attempts, &status,
		&d.CreatedAt, &retried, &d.RetriedBy)
	if err != nil {
		return engine.DeadLetter{}, err
	}
	d.Source, d.Status, d.CreatedAt = engine.DeadLetterSource(source), engine.DeadLetterStatus(status), d.CreatedAt.UTC()
	if retried != nil {
		d.RetriedAt = retried.UTC()
	}
	return d, nil
}
