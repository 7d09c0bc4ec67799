package persist

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/flashstock/flashstock/engine"
)

// Payment webhook events (usecase.PaymentStore): each event is stored and
// applied in one transaction, once per event_id.

// archiveEventsMax bounds one ArchiveWebhookEvents call, per table.
const archiveEventsMax = 10_000

// errDuplicateEvent rolls back ApplyPayment's transaction for an event_id
// stored before.
var errDuplicateEvent = errors.New("duplicate payment event")

// insertEventSQL stores an event with a provisional outcome, replaced
// before the commit. A concurrent insert of the same event_id waits for the
// first transaction on the primary key and then does nothing.
const insertEventSQL = `INSERT INTO webhook_events (event_id, webhook_id, reference, status, amount, outcome, body, received_at)
VALUES ($1, $2, $3, $4, $5, 'ignored', $6, $7) ON CONFLICT (event_id) DO NOTHING`

// ApplyPayment stores ev and applies it, in one transaction. It inserts the
// event first: an event_id stored already, in webhook_events or in the
// archive, is engine.OutcomeDuplicate and changes nothing (a concurrent
// duplicate waits for the first transaction and then finds its event). It
// then locks the order by reference and decides with engine.DecidePayment
// at ev.ReceivedAt; engine.OutcomeApplied stores the new order with
// storeTransition (returning holds for a failed payment, the buyer's mail).
// The event row keeps the outcome and the order's id. It returns the
// outcome, the order as stored afterwards (zero when none has the
// reference) and the holds written. An invalid event is engine.ErrInvalid.
func (s *Store) ApplyPayment(ctx context.Context, ev engine.PaymentEvent) (engine.PaymentOutcome, engine.Order, []engine.Hold, error) {
	op := fmt.Sprintf("apply payment event %q", ev.EventID)
	if err := ev.Validate(); err != nil {
		return "", engine.Order{}, nil, fmt.Errorf("%s: %w", op, err)
	}
	var outcome engine.PaymentOutcome
	var order engine.Order
	var holds []engine.Hold
	err := s.inTx(ctx, op, func(tx pgx.Tx) error {
		if err := insertEvent(ctx, tx, ev); err != nil {
			return err
		}
		cur, err := loadOrderWhere(ctx, tx, "reference", ev.Reference, " FOR UPDATE")
		if errors.Is(err, pgx.ErrNoRows) {
			outcome = engine.OutcomeOrderNotFound
			return setEventOutcome(ctx, tx, ev.EventID, outcome, nil)
		}
		if err != nil {
			return err
		}
		outcome, order = engine.DecidePayment(cur, ev, ev.ReceivedAt)
		if outcome == engine.OutcomeApplied {
			if holds, err = storeTransition(ctx, tx, cur, order); err != nil {
				return err
			}
		}
		id := [16]byte(order.ID)
		return setEventOutcome(ctx, tx, ev.EventID, outcome, &id)
	})
	if errors.Is(err, errDuplicateEvent) {
		return engine.OutcomeDuplicate, engine.Order{}, nil, nil
	}
	if err != nil {
		return "", engine.Order{}, nil, err
	}
	return outcome, order, holds, nil
}

// insertEvent stores ev in tx, or returns errDuplicateEvent if its id is
// stored already. The archive is checked by a second statement, after the
// insert: its snapshot is taken once the insert is done, so it also sees an
// archiving of the same event that committed while the insert waited (the
// archive deletes the live row, so the insert found no conflict).
func insertEvent(ctx context.Context, tx pgx.Tx, ev engine.PaymentEvent) error {
	body := ev.Body
	if body == nil {
		body = []byte{} // NOT NULL: pgx sends a nil slice as NULL
	}
	var inserted, archived bool
	batch := &pgx.Batch{}
	batch.Queue(insertEventSQL, ev.EventID, ev.WebhookID, ev.Reference, string(ev.Result), ev.Amount, body,
		ev.ReceivedAt.UTC()).Exec(func(ct pgconn.CommandTag) error {
		inserted = ct.RowsAffected() == 1
		return nil
	})
	batch.Queue("SELECT EXISTS (SELECT 1 FROM webhook_events_archive WHERE event_id = $1)",
		ev.EventID).QueryRow(func(row pgx.Row) error { return row.Scan(&archived) })
	if err := tx.SendBatch(ctx, batch).Close(); err != nil {
		return err
	}
	if !inserted || archived {
		return errDuplicateEvent
	}
	return nil
}

// setEventOutcome records what event id did, and to which order (nil for
// none).
func setEventOutcome(ctx context.Context, tx pgx.Tx, id string, outcome engine.PaymentOutcome, order *[16]byte) error {
	_, err := tx.Exec(ctx, "UPDATE webhook_events SET outcome = $2, order_id = $3 WHERE event_id = $1",
		id, string(outcome), order)
	return err
}

// archiveEventsSQL moves up to $2 events received before $1 into the
// archive, stamped with the transaction's time; events being applied right
// now are skipped. An event_id in the archive already (a duplicate that
// slipped past ApplyPayment while its original was being archived) keeps
// the archived row. It returns the number of events moved.
const archiveEventsSQL = `WITH moved AS (
    DELETE FROM webhook_events WHERE event_id IN (
        SELECT event_id FROM webhook_events WHERE received_at < $1 ORDER BY received_at LIMIT $2 FOR UPDATE SKIP LOCKED)
    RETURNING event_id, webhook_id, reference, status, amount, outcome, order_id, body, received_at
), archived AS (
    INSERT INTO webhook_events_archive (event_id, webhook_id, reference, status, amount, outcome, order_id,
        body, received_at, archived_at)
    SELECT event_id, webhook_id, reference, status, amount, outcome, order_id, body, received_at, now() FROM moved
    ON CONFLICT (event_id) DO NOTHING
)
SELECT count(*) FROM moved`

// ArchiveWebhookEvents moves up to max events received before
// archiveBefore into the archive and deletes up to max archived events
// received before deleteBefore, oldest first, in one transaction. max
// outside 1..archiveEventsMax is engine.ErrInvalid.
func (s *Store) ArchiveWebhookEvents(ctx context.Context, archiveBefore, deleteBefore time.Time, max int) (int, int, error) {
	if max < 1 || max > archiveEventsMax {
		return 0, 0, engine.Invalid("max", fmt.Sprintf("must be between 1 and %d", archiveEventsMax))
	}
	var archived, deleted int
	batch := &pgx.Batch{}
	batch.Queue(archiveEventsSQL, archiveBefore.UTC(), max).QueryRow(func(row pgx.Row) error { return row.Scan(&archived) })
	batch.Queue(`DELETE FROM webhook_events_archive WHERE event_id IN (
    SELECT event_id FROM webhook_events_archive WHERE received_at < $1 ORDER BY received_at LIMIT $2)`,
		deleteBefore.UTC(), max).Exec(func(ct pgconn.CommandTag) error {
		deleted = int(ct.RowsAffected())
		return nil
	})
	// A batch outside a transaction runs as one implicit transaction.
	if err := s.pool.SendBatch(ctx, batch).Close(); err != nil {
		return 0, 0, wrapError("archive webhook events", err)
	}
	return archived, deleted, nil
}
