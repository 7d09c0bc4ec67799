package persist

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/flashstock/flashstock/engine"
)

// listOrdersMax bounds one ListOrders call, whatever the caller asks.
const listOrdersMax = 1000

const orderColumns = "id, reference, user_id, status, payment_status, total, currency, cancel_reason, created_at, updated_at, expires_at"

// FinalizeOrder writes a multi-product order whose units are held: in one
// transaction it deletes the order's assembling holds and inserts the order
// with its items. If the holds are not exactly the order's items (one was
// released meanwhile, for instance by the repair job), nothing is written
// and the error is engine.ErrUnavailable: the caller releases what is left
// and the buyer may retry. A taken reference is engine.ErrConflict.
func (s *Store) FinalizeOrder(ctx context.Context, o engine.Order) error {
	op := "finalize order " + o.ID.String()
	if err := o.Validate(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return s.inTx(ctx, op, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `DELETE FROM stock_holds WHERE order_id = $1 AND kind = 'assembling'
RETURNING product_id, quantity`, [16]byte(o.ID))
		if err != nil {
			return err
		}
		held := map[engine.ID]int64{}
		var pid engine.ID
		var q int64
		if _, err := pgx.ForEachRow(rows, []any{(*[16]byte)(&pid), &q}, func() error { held[pid] = q; return nil }); err != nil {
			return err
		}
		if !holdsMatch(held, o) {
			return fmt.Errorf("%w: its held units were released before it could be written", engine.ErrUnavailable)
		}
		batch := &pgx.Batch{}
		queueOrders(batch, []engine.Order{o})
		return tx.SendBatch(ctx, batch).Close()
	})
}

func holdsMatch(held map[engine.ID]int64, o engine.Order) bool {
	if len(held) != len(o.Items) {
		return false
	}
	for _, it := range o.Items {
		if held[it.ProductID] != it.Quantity {
			return false
		}
	}
	return true
}

// TransitionOrder applies change to the current order under its row lock
// and stores the result with storeTransition: when the change moves the
// order into a status that returns stock, the same transaction writes a
// returning hold per item, for the SKU actors to release
// (engine.HoldReturning), and when the new status has a mail for the buyer
// (engine.OrderMail), the same transaction queues it in the outbox. An
// error from change is returned unchanged and nothing is written. It
// returns the stored order and the holds it wrote.
func (s *Store) TransitionOrder(ctx context.Context, id engine.ID,
	change func(engine.Order) (engine.Order, error)) (engine.Order, []engine.Hold, error) {
	op := "transition order " + id.String()
	var next engine.Order
	var holds []engine.Hold
	var changeErr error
	err := s.inTx(ctx, op, func(tx pgx.Tx) error {
		cur, err := loadOrder(ctx, tx, id, " FOR UPDATE")
		if err != nil {
			return err
		}
		if next, changeErr = change(cur); changeErr != nil {
			return changeErr
		}
		if next.ID != cur.ID || !slices.Equal(next.Items, cur.Items) {
			return errors.New("change altered the id or the items")
		}
		holds, err = storeTransition(ctx, tx, cur, next)
		return err
	})
	if changeErr != nil {
		return engine.Order{}, nil, changeErr
	}
	if err != nil {
		return engine.Order{}, nil, err
	}
	return next, holds, nil
}

// updateOrderSQL stores an order's new state and returns its buyer's
// e-mail address ("" when the user has none or is gone), read in the same
// round trip for the order's mail.
const updateOrderSQL = `UPDATE orders SET status = $2, payment_status = $3, cancel_reason = $4, updated_at = $5
WHERE id = $1 RETURNING coalesce((SELECT email FROM users WHERE users.id = orders.user_id), '')`

// storeTransition writes next, the locked order cur after a change, in tx:
// the orders row; a returning hold per item when next enters a status that
// returns stock (and cur was not in one already); and, when the status
// changed to one that has a mail (engine.OrderMail) and the buyer has an
// address, that mail in the outbox, due at next.UpdatedAt (a mail already
// queued under the same key is kept). It returns the holds written. Its
// errors carry engine sentinel errors but no operation: the caller adds it.
func storeTransition(ctx context.Context, tx pgx.Tx, cur, next engine.Order) ([]engine.Hold, error) {
	var email string
	if err := tx.QueryRow(ctx, updateOrderSQL, [16]byte(next.ID), string(next.Status), string(next.PaymentStatus),
		next.CancelReason, next.UpdatedAt.UTC()).Scan(&email); err != nil {
		return nil, wrapError("update order", err)
	}
	batch := &pgx.Batch{}
	var holds []engine.Hold
	if next.Status.ReleasesStock() && !cur.Status.ReleasesStock() {
		holds = returningHolds(next)
		queueHolds(batch, holds)
	}
	if next.Status != cur.Status {
		if m, ok := engine.OrderMail(next, email); ok {
			if err := queueMails(batch, []engine.Mail{m}, next.UpdatedAt, nil); err != nil {
				return nil, err
			}
		}
	}
	if batch.Len() == 0 {
		return holds, nil
	}
	if err := tx.SendBatch(ctx, batch).Close(); err != nil {
		return nil, wrapError("write holds and mail", err)
	}
	return holds, nil
}

func returningHolds(o engine.Order) []engine.Hold {
	holds := make([]engine.Hold, len(o.Items))
	for i, it := range o.Items {
		holds[i] = engine.Hold{OrderID: o.ID, ProductID: it.ProductID, Quantity: it.Quantity,
			Kind: engine.HoldReturning, CreatedAt: o.UpdatedAt}
	}
	return holds
}

// wrapNil is wrapError for an error that may be nil.
func wrapNil(op string, err error) error {
	if err == nil {
		return nil
	}
	return wrapError(op, err)
}

// Order returns one order with its items, or engine.ErrNotFound.
func (s *Store) Order(ctx context.Context, id engine.ID) (engine.Order, error) {
	o, err := loadOrder(ctx, s.pool, id, "")
	if err != nil {
		return engine.Order{}, wrapError("order "+id.String(), err)
	}
	return o, nil
}

// querier is what pgxpool.Pool and pgx.Tx share.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// loadOrder reads an order and its items; lock is "" or a locking clause.
func loadOrder(ctx context.Context, q querier, id engine.ID, lock string) (engine.Order, error) {
	return loadOrderWhere(ctx, q, "id", [16]byte(id), lock)
}

// loadOrderWhere reads the order whose column (id or reference, both
// unique) equals key, with its items; lock is "" or a locking clause.
func loadOrderWhere(ctx context.Context, q querier, column string, key any, lock string) (engine.Order, error) {
	o, err := scanOrder(q.QueryRow(ctx, "SELECT "+orderColumns+" FROM orders WHERE "+column+" = $1"+lock, key))
	if err != nil {
		return engine.Order{}, err
	}
	orders := []engine.Order{o}
	if err := loadItems(ctx, q, orders); err != nil {
		return engine.Order{}, err
	}
	return orders[0], nil
}

// ListOrders returns up to q.Limit orders, newest first, of q.UserID (all
// users when NilID), with status q.Status (any when ""), older than q.Before
// (from the newest when NilID): keyset pagination on the UUIDv7 primary key.
func (s *Store) ListOrders(ctx context.Context, q engine.OrderQuery) ([]engine.Order, error) {
	if q.Limit < 1 || q.Limit > listOrdersMax {
		return nil, engine.Invalid("limit", fmt.Sprintf("must be between 1 and %d", listOrdersMax))
	}
	before := q.Before
	if before.IsZero() {
		before = engine.ID{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	}
	// One statement text per filter combination, so that each cached plan
	// uses the index for its filters ("$2 IS NULL OR user_id = $2" would
	// get a generic plan that scans every order).
	where, args := "id < $1", []any{[16]byte(before)}
	if !q.UserID.IsZero() {
		args = append(args, [16]byte(q.UserID))
		where += fmt.Sprintf(" AND user_id = $%d", len(args))
	}
	if q.Status != "" {
		args = append(args, string(q.Status))
		where += fmt.Sprintf(" AND status = $%d", len(args))
		if q.Status != engine.StatusPending {
			// Lets the plan use orders_status_id, which leaves pending out.
			where += " AND status <> 'pending'"
		}
	}
	args = append(args, q.Limit)
	rows, err := s.pool.Query(ctx, "SELECT "+orderColumns+" FROM orders WHERE "+where+
		fmt.Sprintf(" ORDER BY id DESC LIMIT $%d", len(args)), args...)
	if err != nil {
		return nil, wrapError("list orders", err)
	}
	orders, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (engine.Order, error) { return scanOrder(r) })
	if err == nil {
		err = loadItems(ctx, s.pool, orders)
	}
	if err != nil {
		return nil, wrapError("list orders", err)
	}
	return orders, nil
}

// loadItems fills in the items of orders with one query, and checks each
// order's invariants.
func loadItems(ctx context.Context, q querier, orders []engine.Order) error {
	if len(orders) == 0 {
		return nil
	}
	ids := make([][16]byte, len(orders))
	index := make(map[engine.ID]int, len(orders))
	for i, o := range orders {
		ids[i], index[o.ID] = o.ID, i
	}
	rows, err := q.Query(ctx, `SELECT order_id, product_id, product_name, quantity, unit_price, subtotal
FROM order_items WHERE order_id = ANY($1::uuid[]) ORDER BY order_id, product_id`, ids)
	if err != nil {
		return err
	}
	var oid engine.ID
	var it engine.OrderItem
	_, err = pgx.ForEachRow(rows, []any{(*[16]byte)(&oid), (*[16]byte)(&it.ProductID), &it.ProductName,
		&it.Quantity, &it.UnitPrice.Amount, &it.Subtotal.Amount}, func() error {
		o := &orders[index[oid]]
		it.UnitPrice.Currency, it.Subtotal.Currency = o.Total.Currency, o.Total.Currency
		o.Items = append(o.Items, it)
		return nil
	})
	if err != nil {
		return err
	}
	for _, o := range orders {
		if err := o.Validate(); err != nil {
			return fmt.Errorf("order %s: %w: %v", o.ID, errBrokenRow, err)
		}
	}
	return nil
}

// scanOrder reads one orders row (without items).
func scanOrder(row pgx.Row) (engine.Order, error) {
	var o engine.Order
	var status, payment, currency string
	var created, updated, expires time.Time
	err := row.Scan((*[16]byte)(&o.ID), &o.Reference, (*[16]byte)(&o.UserID), &status, &payment,
		&o.Total.Amount, &currency, &o.CancelReason, &created, &updated, &expires)
	if err != nil {
		return engine.Order{}, err
	}
	o.Status, o.PaymentStatus, o.Total.Currency = engine.Status(status), engine.PaymentStatus(payment), engine.Currency(currency)
	o.CreatedAt, o.UpdatedAt, o.ExpiresAt = created.UTC(), updated.UTC(), expires.UTC()
	return o, nil
}
