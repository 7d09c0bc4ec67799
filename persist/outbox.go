package persist

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/flashstock/flashstock/engine"
)

// The transactional outbox (actors.Outbox). A mail goes in with the
// transaction whose change causes it (queueMails), so it is queued exactly
// when that change commits; the mailer claims due mails under a lease,
// sends them after the commit and records each attempt.

// mailsPerCallMax bounds one EnqueueMails or DueMails call.
const mailsPerCallMax = 1000

// insertMailsSQL queues mails from parallel arrays, pending and due at $5;
// a key already in the outbox, in any status, keeps its mail.
const insertMailsSQL = `INSERT INTO outbox (id, kind, dedup_key, payload, status, next_attempt_at, created_at)
SELECT m.id, m.kind, m.dedup_key, m.payload::jsonb, 'pending', $5, $5
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[]) AS m (id, kind, dedup_key, payload)
ON CONFLICT (dedup_key) DO NOTHING`

// queueMails adds to batch the insert of mails into the outbox, each with
// a new id made at now and the mail as its JSON payload. A mail whose key
// is in the outbox already is skipped. When added is not nil, it is set to
// the number of mails inserted once the batch has run. An invalid mail is
// engine.ErrInvalid and nothing is queued. The batch may run in a
// transaction (pgx.Tx.SendBatch) or on its own.
func queueMails(batch *pgx.Batch, mails []engine.Mail, now time.Time, added *int) error {
	n := len(mails)
	ids, kinds, keys, payloads := make([][16]byte, n), make([]string, n), make([]string, n), make([]string, n)
	for i, m := range mails {
		if err := m.Validate(); err != nil {
			return fmt.Errorf("mail %q: %w", m.Key, err)
		}
		id, err := engine.NewID(now, rand.Reader)
		if err != nil {
			return err
		}
		payload, err := json.Marshal(m)
		if err != nil {
			return fmt.Errorf("mail %q: %w", m.Key, err)
		}
		ids[i], kinds[i], keys[i], payloads[i] = id, string(m.Kind), m.Key, string(payload)
	}
	batch.Queue(insertMailsSQL, ids, kinds, keys, payloads, now.UTC()).Exec(func(ct pgconn.CommandTag) error {
		if added != nil {
			*added = int(ct.RowsAffected())
		}
		return nil
	})
	return nil
}

// EnqueueMails adds mails to the outbox, due at now; a mail whose key is
// there already (pending, sent or dead) is skipped. It returns how many
// were added. More than mailsPerCallMax mails, or an invalid one, is
// engine.ErrInvalid and adds nothing.
func (s *Store) EnqueueMails(ctx context.Context, mails []engine.Mail, now time.Time) (int, error) {
	if len(mails) == 0 {
		return 0, nil
	}
	if len(mails) > mailsPerCallMax {
		return 0, engine.Invalid("mails", fmt.Sprintf("at most %d per call", mailsPerCallMax))
	}
	batch := &pgx.Batch{}
	var added int
	if err := queueMails(batch, mails, now, &added); err != nil {
		return 0, fmt.Errorf("enqueue mails: %w", err)
	}
	if err := s.pool.SendBatch(ctx, batch).Close(); err != nil {
		return 0, wrapError("enqueue mails", err)
	}
	return added, nil
}

// dueMailsSQL leases up to $3 due pending mails until $2: rows another
// mailer is claiming right now are skipped, not waited for, and a mail
// whose lease has passed is due again.
const dueMailsSQL = `UPDATE outbox SET locked_until = $2 WHERE id IN (
    SELECT id FROM outbox
    WHERE status = 'pending' AND next_attempt_at <= $1 AND (locked_until IS NULL OR locked_until <= $1)
    ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED)
RETURNING id, payload, attempts, next_attempt_at`

// DueMails claims up to max pending mails due at now, oldest first: each
// is leased until now+lease, so that no other mailer claims it meanwhile.
// Attempts of each is the number of deliveries tried before. max outside
// 1..mailsPerCallMax or a lease that is not positive is engine.ErrInvalid.
func (s *Store) DueMails(ctx context.Context, now time.Time, lease time.Duration, max int) ([]engine.OutboxMail, error) {
	if max < 1 || max > mailsPerCallMax {
		return nil, engine.Invalid("max", fmt.Sprintf("must be between 1 and %d", mailsPerCallMax))
	}
	if lease <= 0 {
		return nil, engine.Invalid("lease", "must be positive")
	}
	rows, err := s.pool.Query(ctx, dueMailsSQL, now.UTC(), now.Add(lease).UTC(), max)
	if err != nil {
		return nil, wrapError("due mails", err)
	}
	type due struct {
		mail engine.OutboxMail
		at   time.Time
	}
	claimed, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (due, error) {
		var d due
		var payload []byte
		if err := r.Scan((*[16]byte)(&d.mail.ID), &payload, &d.mail.Attempts, &d.at); err != nil {
			return due{}, err
		}
		if err := json.Unmarshal(payload, &d.mail.Mail); err != nil {
			return due{}, fmt.Errorf("outbox mail %s: %w: %v", d.mail.ID, errBrokenRow, err)
		}
		return d, nil
	})
	if err != nil {
		return nil, wrapError("due mails", err)
	}
	// RETURNING keeps no order: sort as claimed, oldest due first.
	slices.SortFunc(claimed, func(a, b due) int {
		return cmp.Or(a.at.Compare(b.at), slices.Compare(a.mail.ID[:], b.mail.ID[:]))
	})
	mails := make([]engine.OutboxMail, len(claimed))
	for i, d := range claimed {
		mails[i] = d.mail
	}
	return mails, nil
}

// MailSent records that mail id was delivered at now: status sent, one
// more attempt, lease released. A mail another mailer had given up on
// (dead) is marked sent too, since it was delivered; an unknown id is
// engine.ErrNotFound.
func (s *Store) MailSent(ctx context.Context, id engine.ID, now time.Time) error {
	op := "mail sent " + id.String()
	ct, err := s.pool.Exec(ctx, `UPDATE outbox SET status = 'sent', sent_at = $2, attempts = attempts + 1,
locked_until = NULL WHERE id = $1`, [16]byte(id), now.UTC())
	if err != nil {
		return wrapError(op, err)
	}
	if ct.RowsAffected() == 0 {
		return fmt.Errorf("%s: %w", op, engine.ErrNotFound)
	}
	return nil
}

// MailFailed records a failed delivery of pending mail id: one more
// attempt, its error (cut to errorTextBytesMax), due again at next, lease
// released. An unknown id is engine.ErrNotFound; a mail no longer pending
// (sent or dead meanwhile) is engine.ErrConflict and is left as it is.
func (s *Store) MailFailed(ctx context.Context, id engine.ID, reason string, next time.Time) error {
	op := "mail failed " + id.String()
	ct, err := s.pool.Exec(ctx, `UPDATE outbox SET attempts = attempts + 1, last_error = $2, next_attempt_at = $3,
locked_until = NULL WHERE id = $1 AND status = 'pending'`, [16]byte(id), boundedText(reason, errorTextBytesMax), next.UTC())
	if err != nil {
		return wrapError(op, err)
	}
	if ct.RowsAffected() == 0 {
		return wrapError(op, mailNotPending(ctx, s.pool, id))
	}
	return nil
}

// MailDead records the last failed delivery of pending mail id and moves
// it to the dead letters, in one transaction: the outbox row gets status
// dead, one more attempt and the error; a dead letter (source mail, ref
// the outbox id, the mail as payload) is added at now. It returns the dead
// letter's id. Errors are as for MailFailed.
func (s *Store) MailDead(ctx context.Context, id engine.ID, reason string, now time.Time) (engine.ID, error) {
	op := "mail dead " + id.String()
	dlID, err := engine.NewID(now, rand.Reader)
	if err != nil {
		return engine.NilID, fmt.Errorf("%s: %w", op, err)
	}
	d := engine.DeadLetter{ID: dlID, Source: engine.DeadMail, Ref: id.String(), Status: engine.DeadLetterDead,
		Error: boundedText(reason, errorTextBytesMax), CreatedAt: now.UTC()}
	err = s.inTx(ctx, op, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `UPDATE outbox SET attempts = attempts + 1, status = 'dead', last_error = $2,
locked_until = NULL WHERE id = $1 AND status = 'pending' RETURNING kind, payload, attempts`,
			[16]byte(id), d.Error).Scan(&d.Kind, &d.Payload, &d.Attempts)
		if errors.Is(err, pgx.ErrNoRows) {
			return mailNotPending(ctx, tx, id)
		}
		if err != nil {
			return err
		}
		return insertDeadLetter(ctx, tx, d)
	})
	if err != nil {
		return engine.NilID, err
	}
	return dlID, nil
}

// mailNotPending says why an update of pending mail id matched no row:
// pgx.ErrNoRows when there is no such mail, engine.ErrConflict when it is
// no longer pending.
func mailNotPending(ctx context.Context, q querier, id engine.ID) error {
	var status string
	if err := q.QueryRow(ctx, "SELECT status FROM outbox WHERE id = $1", [16]byte(id)).Scan(&status); err != nil {
		return err
	}
	return fmt.Errorf("%w: mail %s is %s, not pending", engine.ErrConflict, id, status)
}
