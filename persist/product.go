package persist

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/flashstock/flashstock/engine"
)

// listProductsMax bounds one ListProducts call, whatever the caller asks.
const listProductsMax = 1000

const productColumns = "id, sku, name, price, currency, stock, is_active, low_stock_threshold, created_at, updated_at"

// CreateProduct stores p. A taken SKU is engine.ErrConflict; a value the
// database rejects is engine.ErrInvalid.
func (s *Store) CreateProduct(ctx context.Context, p engine.Product) error {
	if err := p.Validate(); err != nil {
		return fmt.Errorf("create product %s: %w", p.SKU, err)
	}
	_, err := s.pool.Exec(ctx,
		"INSERT INTO products ("+productColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
		[16]byte(p.ID), p.SKU, p.Name, p.Price.Amount, string(p.Price.Currency), p.Stock,
		p.IsActive, p.LowStockThreshold, p.CreatedAt.UTC(), p.UpdatedAt.UTC())
	if err != nil {
		return wrapError("create product "+p.SKU, err)
	}
	return nil
}

// Product returns the product, active or not, or engine.ErrNotFound.
func (s *Store) Product(ctx context.Context, id engine.ID) (engine.Product, error) {
	row := s.pool.QueryRow(ctx, "SELECT "+productColumns+" FROM products WHERE id = $1", [16]byte(id))
	p, err := scanProduct(row)
	if err != nil {
		return engine.Product{}, wrapError("product "+id.String(), err)
	}
	return p, nil
}

// productsLoadMax bounds one Products call.
const productsLoadMax = 10_000

// Products returns the products with the given ids, active or not, in no
// particular order; ids with no product are left out. One query, however
// many ids (at most productsLoadMax): the SKU actors' loads are batched
// through it.
func (s *Store) Products(ctx context.Context, ids []engine.ID) ([]engine.Product, error) {
	if len(ids) > productsLoadMax {
		return nil, engine.Invalid("ids", fmt.Sprintf("at most %d per call", productsLoadMax))
	}
	col := make(uuidColumn, len(ids))
	for i, id := range ids {
		col[i] = id
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, wrapError("load products", err)
	}
	defer conn.Release()
	useArrayColumns(conn.Conn().TypeMap())
	rows, err := conn.Query(ctx, "SELECT "+productColumns+" FROM products WHERE id = ANY($1::uuid[])", col)
	if err != nil {
		return nil, wrapError("load products", err)
	}
	ps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (engine.Product, error) {
		return scanProduct(r)
	})
	if err != nil {
		return nil, wrapError("load products", err)
	}
	return ps, nil
}

// ListProducts returns up to limit active products with ids greater than
// after (engine.NilID = from the start), in id order: keyset pagination on
// the primary key, so a page costs the same wherever it starts.
func (s *Store) ListProducts(ctx context.Context, after engine.ID, limit int) ([]engine.Product, error) {
	if limit < 1 || limit > listProductsMax {
		return nil, engine.Invalid("limit", fmt.Sprintf("must be between 1 and %d", listProductsMax))
	}
	rows, err := s.pool.Query(ctx, "SELECT "+productColumns+
		" FROM products WHERE is_active AND id > $1 ORDER BY id LIMIT $2", [16]byte(after), limit)
	if err != nil {
		return nil, wrapError("list products", err)
	}
	ps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (engine.Product, error) {
		return scanProduct(r)
	})
	if err != nil {
		return nil, wrapError("list products", err)
	}
	return ps, nil
}

// UpdateProduct applies change to the current product and stores the
// result, in one transaction that holds the row lock (SELECT ... FOR UPDATE)
// from read to write, so no concurrent update is lost. An error from change
// is returned unchanged and nothing is written. The result must keep the id
// and pass engine validation. A taken SKU is engine.ErrConflict. It returns
// the product as stored.
func (s *Store) UpdateProduct(ctx context.Context, id engine.ID,
	change func(engine.Product) (engine.Product, error)) (engine.Product, error) {
	op := "update product " + id.String()
	var stored engine.Product
	var changeErr error
	err := s.inTx(ctx, op, func(tx pgx.Tx) error {
		cur, err := scanProduct(tx.QueryRow(ctx,
			"SELECT "+productColumns+" FROM products WHERE id = $1 FOR UPDATE", [16]byte(id)))
		if err != nil {
			return err
		}
		next, err := change(cur)
		if err != nil {
			changeErr = err
			return err
		}
		if next.ID != cur.ID {
			return fmt.Errorf("change altered the id to %s", next.ID)
		}
		if err := next.Validate(); err != nil {
			return err
		}
		stored, err = scanProduct(tx.QueryRow(ctx, `UPDATE products SET sku = $2, name = $3,
		price = $4, currency = $5, stock = $6, is_active = $7, low_stock_threshold = $8,
		created_at = $9, updated_at = $10 WHERE id = $1 RETURNING `+productColumns,
			[16]byte(next.ID), next.SKU, next.Name, next.Price.Amount, string(next.Price.Currency),
			next.Stock, next.IsActive, next.LowStockThreshold, next.CreatedAt.UTC(), next.UpdatedAt.UTC()))
		return err
	})
	if changeErr != nil {
		return engine.Product{}, changeErr
	}
	if err != nil {
		return engine.Product{}, err
	}
	return stored, nil
}

// errBrokenRow marks a stored row that breaks the engine's invariants. It
// deliberately does not wrap engine.ErrInvalid: the caller's input is not
// at fault, the database is, so upstream it is an internal error.
var errBrokenRow = errors.New("stored row breaks invariants")

// scanProduct reads one products row and asserts the engine's invariants
// on it.
func scanProduct(row pgx.Row) (engine.Product, error) {
	var p engine.Product
	var currency string
	var created, updated time.Time
	err := row.Scan((*[16]byte)(&p.ID), &p.SKU, &p.Name, &p.Price.Amount, &currency, &p.Stock,
		&p.IsActive, &p.LowStockThreshold, &created, &updated)
	if err != nil {
		return engine.Product{}, err
	}
	p.CreatedAt, p.UpdatedAt = created.UTC(), updated.UTC()
	c, err := engine.ParseCurrency(currency)
	if err == nil {
		p.Price.Currency = c
		err = p.Validate()
	}
	if err != nil {
		return engine.Product{}, fmt.Errorf("product %s: %w: %v", p.ID, errBrokenRow, err)
	}
	return p, nil
}
