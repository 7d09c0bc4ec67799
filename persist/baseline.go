package persist

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/flashstock/flashstock/engine"
)

// Baseline order placement: the straightforward designs flashstock is
// benchmarked against (bench/baseline*.go). Neither is used by the server;
// both write the same rows as the SKU actors do (orders, order_items,
// products.stock), so the same audit checks them.
//
// Each order is one transaction of several round trips: BEGIN, one SELECT
// and one UPDATE per product, one pipeline for the order and its items,
// COMMIT.

// PlaceOrderLocked is the naive design: in one transaction it locks each
// product's row (SELECT ... FOR UPDATE, in product-id order so that two
// orders never deadlock), checks its stock, takes the units and inserts the
// order, priced from the locked rows. Concurrent orders for one product
// queue on its row lock, one transaction at a time.
//
// cmd.Items must be merged (engine.MergeItems). A product that does not
// exist is engine.ErrNotFound; an inactive one engine.ErrInvalid; too few
// units an *engine.StockError (engine.ErrInsufficientStock). Nothing is
// written on error.
func (s *Store) PlaceOrderLocked(ctx context.Context, cmd engine.PlaceOrder) (engine.Order, error) {
	return s.placeOrder(ctx, cmd, " FOR UPDATE")
}

// PlaceOrderUnlocked is PlaceOrderLocked without row locks: it reads each
// product plainly, checks its stock and takes the units. The caller must
// serialize orders per product (the redislock baseline holds a Redis mutex
// per product around it); otherwise two orders may both pass the check and
// the second update fails on the stock >= 0 constraint (engine.ErrInvalid).
func (s *Store) PlaceOrderUnlocked(ctx context.Context, cmd engine.PlaceOrder) (engine.Order, error) {
	return s.placeOrder(ctx, cmd, "")
}

// placeOrder runs one baseline order; lock is "" or a locking clause for
// the product reads.
func (s *Store) placeOrder(ctx context.Context, cmd engine.PlaceOrder, lock string) (engine.Order, error) {
	op := "place order " + cmd.OrderID.String()
	if len(cmd.Items) == 0 {
		return engine.Order{}, fmt.Errorf("%s: %w", op, engine.Invalid("items", "must not be empty"))
	}
	ref, err := engine.NewReference(rand.Reader)
	if err != nil {
		return engine.Order{}, fmt.Errorf("%s: %w", op, err)
	}
	items := slices.Clone(cmd.Items)
	slices.SortFunc(items, func(a, b engine.ItemRequest) int { return bytes.Compare(a.ProductID[:], b.ProductID[:]) })
	var order engine.Order
	err = s.inTx(ctx, op, func(tx pgx.Tx) error {
		lines, err := readLines(ctx, tx, items, lock)
		if err != nil {
			return err
		}
		order, err = engine.NewOrder(engine.OrderDraft{ID: cmd.OrderID, Reference: ref, UserID: cmd.UserID,
			Lines: lines, Now: cmd.Now, TTL: engine.OrderTTLDefault})
		if err != nil {
			return err
		}
		for _, l := range lines {
			if l.Product.Stock < l.Quantity {
				return &engine.StockError{ProductID: l.Product.ID, Available: l.Product.Stock, Requested: l.Quantity}
			}
		}
		return writeOrder(ctx, tx, order)
	})
	if err != nil {
		return engine.Order{}, err
	}
	return order, nil
}

// readLines reads the product of each item, in the items' order.
func readLines(ctx context.Context, tx pgx.Tx, items []engine.ItemRequest, lock string) ([]engine.OrderLine, error) {
	lines := make([]engine.OrderLine, len(items))
	for i, it := range items {
		p, err := scanProduct(tx.QueryRow(ctx, "SELECT "+productColumns+" FROM products WHERE id = $1"+lock,
			[16]byte(it.ProductID)))
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, fmt.Errorf("product %s: %w", it.ProductID, engine.ErrNotFound)
		}
		if err != nil {
			return nil, fmt.Errorf("product %s: %w", it.ProductID, err)
		}
		lines[i] = engine.OrderLine{Product: p, Quantity: it.Quantity}
	}
	return lines, nil
}

// writeOrder takes the order's units from stock and inserts it with its
// items.
func writeOrder(ctx context.Context, tx pgx.Tx, o engine.Order) error {
	for _, it := range o.Items {
		var stock int64
		err := tx.QueryRow(ctx, "UPDATE products SET stock = stock - $2 WHERE id = $1 RETURNING stock",
			[16]byte(it.ProductID), it.Quantity).Scan(&stock)
		if err != nil {
			return fmt.Errorf("take stock of %s: %w", it.ProductID, err)
		}
		if stock < 0 { // the CHECK constraint makes this unreachable; assert it anyway
			return fmt.Errorf("take stock of %s: %w: stock went negative (%d)", it.ProductID, errBrokenRow, stock)
		}
	}
	batch := &pgx.Batch{}
	queueOrders(batch, []engine.Order{o})
	return tx.SendBatch(ctx, batch).Close()
}
