package persist

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/flashstock/flashstock/engine"
)

// Idempotency-Key records (migrations/0003_idempotency.sql). The rules that
// turn a claim and the current record into an outcome are the engine's
// (engine.IdempotencyClaim.Resolve); this file applies them atomically: a
// new key is claimed by one INSERT ... ON CONFLICT DO NOTHING, and an
// existing record is read under its row lock (SELECT ... FOR UPDATE) and
// rewritten in the same transaction, so concurrent claims on one key take
// turns and exactly one of them starts.

const (
	// idempotencyPurgeMax bounds the rows one PurgeIdempotent call deletes
	// (one statement, one transaction: keep it short).
	idempotencyPurgeMax = 10_000
	// beginIdempotentTriesMax bounds BeginIdempotent's rounds: a round ends
	// without an outcome only when the record it collided with was deleted
	// (Release, Purge) before it could lock it, which a second round resolves.
	beginIdempotentTriesMax = 3
)

const idempotencyColumns = "user_id, key, fingerprint, state, attempt, locked_until, status, body, created_at, expires_at"

// BeginIdempotent claims (claim.UserID, claim.Key) for claim.Attempt and
// returns the outcome, decided by claim.Resolve against the stored record
// atomically: of concurrent claims on one key exactly one is Started or
// TakenOver, and none of the others. An invalid claim is engine.ErrInvalid;
// a claim for a user that does not exist is an error (foreign key).
func (s *Store) BeginIdempotent(ctx context.Context, claim engine.IdempotencyClaim) (engine.IdempotencyState, error) {
	op := "begin idempotent request of user " + claim.UserID.String()
	if err := claim.Validate(); err != nil {
		return engine.IdempotencyState{}, fmt.Errorf("%s: %w", op, err)
	}
	for range beginIdempotentTriesMax {
		st, ok, err := s.beginIdempotentOnce(ctx, op, claim)
		if err != nil {
			return engine.IdempotencyState{}, err
		}
		if ok {
			return st, nil
		}
	}
	return engine.IdempotencyState{}, fmt.Errorf("%s: %w: the key's record was deleted %d times while being claimed",
		op, engine.ErrUnavailable, beginIdempotentTriesMax)
}

// beginIdempotentOnce tries to insert a fresh record, and if one exists,
// resolves the claim against it under its row lock. ok is false when the
// existing record vanished between the two statements. Errors are wrapped
// with op.
func (s *Store) beginIdempotentOnce(ctx context.Context, op string, claim engine.IdempotencyClaim) (st engine.IdempotencyState, ok bool, err error) {
	st, fresh := claim.Resolve(nil)
	tag, err := s.pool.Exec(ctx, "INSERT INTO idempotency_keys ("+idempotencyColumns+
		") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (user_id, key) DO NOTHING",
		idempotencyArgs(*fresh)...)
	if err != nil {
		return st, false, wrapError(op, err)
	}
	if tag.RowsAffected() == 1 {
		return st, true, nil
	}
	err = s.inTx(ctx, op, func(tx pgx.Tx) error {
		cur, err := scanIdempotency(tx.QueryRow(ctx, "SELECT "+idempotencyColumns+
			" FROM idempotency_keys WHERE user_id = $1 AND key = $2 FOR UPDATE", [16]byte(claim.UserID), claim.Key))
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // deleted since the INSERT: try again
		}
		if err != nil {
			return err
		}
		var next *engine.IdempotencyRecord
		st, next = claim.Resolve(&cur)
		ok = true
		if next == nil {
			return nil
		}
		_, err = tx.Exec(ctx, `UPDATE idempotency_keys SET fingerprint = $3, state = $4, attempt = $5,
			locked_until = $6, status = $7, body = $8, created_at = $9, expires_at = $10
			WHERE user_id = $1 AND key = $2`, idempotencyArgs(*next)...)
		return err
	})
	return st, ok && err == nil, err
}

// CompleteIdempotent stores the response of attempt and marks the record
// done, if the record is still in flight and held by attempt; otherwise
// (the attempt's lease ran out and another attempt took the key over, or
// the record is gone) it does nothing and returns nil. A status outside
// 100..599 or a body over engine.IdempotencyBodyBytesMax is
// engine.ErrInvalid.
func (s *Store) CompleteIdempotent(ctx context.Context, userID engine.ID, key string, attempt engine.ID,
	status int, body []byte) error {
	op := "complete idempotent request of user " + userID.String()
	if err := engine.ValidateIdempotentResponse(status, body); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if body == nil {
		body = []byte{} // NULL would mean "no response yet"
	}
	_, err := s.pool.Exec(ctx, `UPDATE idempotency_keys SET state = 'done', status = $4, body = $5
		WHERE user_id = $1 AND key = $2 AND attempt = $3 AND state = 'in_flight'`,
		[16]byte(userID), key, [16]byte(attempt), status, body)
	if err != nil {
		return wrapError(op, err)
	}
	return nil
}

// ReleaseIdempotent deletes the record if it is still in flight and held by
// attempt, so that a retry starts afresh; the caller must be sure its
// attempt wrote nothing. Otherwise it does nothing and returns nil.
func (s *Store) ReleaseIdempotent(ctx context.Context, userID engine.ID, key string, attempt engine.ID) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM idempotency_keys
		WHERE user_id = $1 AND key = $2 AND attempt = $3 AND state = 'in_flight'`,
		[16]byte(userID), key, [16]byte(attempt))
	if err != nil {
		return wrapError("release idempotent request of user "+userID.String(), err)
	}
	return nil
}

// PurgeIdempotent deletes up to limit records whose expires_at is at or before
// now, oldest first, and returns how many it deleted; a periodic job calls
// it until it returns less than limit. Records locked by a concurrent claim
// are skipped (the claim may be renewing them). limit must be between 1
// and 10000, else engine.ErrInvalid.
func (s *Store) PurgeIdempotent(ctx context.Context, now time.Time, limit int) (int, error) {
	if limit < 1 || limit > idempotencyPurgeMax {
		return 0, engine.Invalid("limit", fmt.Sprintf("must be between 1 and %d", idempotencyPurgeMax))
	}
	// The outer expires_at test is re-checked on a row that a claim renewed
	// between the subquery and the delete.
	tag, err := s.pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE (user_id, key) IN (
			SELECT user_id, key FROM idempotency_keys WHERE expires_at <= $1
			ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)
		AND expires_at <= $1`, now.UTC(), limit)
	if err != nil {
		return 0, wrapError("purge idempotency keys", err)
	}
	return int(tag.RowsAffected()), nil
}

// idempotencyArgs are r's values in idempotencyColumns order.
func idempotencyArgs(r engine.IdempotencyRecord) []any {
	var status *int
	if r.Phase == engine.IdempotencyPhaseDone {
		status = &r.Status
	}
	return []any{[16]byte(r.UserID), r.Key, r.Fingerprint[:], string(r.Phase), [16]byte(r.Attempt),
		r.LockedUntil.UTC(), status, r.Body, r.CreatedAt.UTC(), r.ExpiresAt.UTC()}
}

// scanIdempotency reads one idempotency_keys row and asserts the engine's
// invariants on it.
func scanIdempotency(row pgx.Row) (engine.IdempotencyRecord, error) {
	var r engine.IdempotencyRecord
	var fingerprint []byte
	var phase string
	var status *int32
	err := row.Scan((*[16]byte)(&r.UserID), &r.Key, &fingerprint, &phase, (*[16]byte)(&r.Attempt),
		&r.LockedUntil, &status, &r.Body, &r.CreatedAt, &r.ExpiresAt)
	if err != nil {
		return engine.IdempotencyRecord{}, err
	}
	if len(fingerprint) != len(r.Fingerprint) {
		return engine.IdempotencyRecord{}, fmt.Errorf("%w: fingerprint of %d bytes", errBrokenRow, len(fingerprint))
	}
	copy(r.Fingerprint[:], fingerprint)
	r.Phase = engine.IdempotencyPhase(phase)
	if status != nil {
		r.Status = int(*status)
	}
	r.LockedUntil, r.CreatedAt, r.ExpiresAt = r.LockedUntil.UTC(), r.CreatedAt.UTC(), r.ExpiresAt.UTC()
	if err := r.Validate(); err != nil {
		return engine.IdempotencyRecord{}, fmt.Errorf("%w: %v", errBrokenRow, err)
	}
	return r, nil
}
