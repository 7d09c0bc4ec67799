package persist

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/flashstock/flashstock/engine"
)

// Bench product blocks: the products of the bench's spread and catalog
// scenarios (bench/block.go), a million at a time, are inserted here in bulk
// rather than created one API call at a time, and audited by id range. The
// server never calls these.

// Limits of a bench block.
const (
	// BenchBlockProductsMax bounds a block: its product index is the last
	// four bytes of the id.
	BenchBlockProductsMax = 10_000_000
	// benchBlockRowsPerInsert is the products of one INSERT: a progress
	// step, and a transaction of bounded size.
	benchBlockRowsPerInsert = 100_000
	// benchBlockInsertsAtOnce is the INSERTs run at once, each on its own
	// connection: a row costs about 10 µs of one server CPU, most of it the
	// table's CHECK constraints (the SKU's pattern), so inserts in parallel
	// use the database server's cores.
	benchBlockInsertsAtOnce = 4
)

// BenchBlock describes Count products made alike: product i has the id
// Prefix followed by i as four big-endian bytes (so ids of one block sort by
// index and form one range, and a UUIDv7 prefix keeps them valid, time-ordered
// ids), the SKU SKU-i, the name "Bench SKU-i", and Price, Stock, active, the
// default low-stock threshold, created at CreatedAt.
type BenchBlock struct {
	Prefix    [12]byte
	Count     int
	SKU       string
	Price     engine.Money
	Stock     int64
	CreatedAt time.Time
}

// ID returns the id of product i.
func (b BenchBlock) ID(i int) engine.ID {
	var id engine.ID
	copy(id[:12], b.Prefix[:])
	binary.BigEndian.PutUint32(id[12:], uint32(i))
	return id
}

// Index returns the index of the product id within the block; false when
// id is not one of the block's.
func (b BenchBlock) Index(id engine.ID) (int, bool) {
	if [12]byte(id[:12]) != b.Prefix {
		return 0, false
	}
	i := int(binary.BigEndian.Uint32(id[12:]))
	return i, i < b.Count
}

// Product returns product i as CreateBenchBlock stores it.
func (b BenchBlock) Product(i int) engine.Product {
	sku := b.SKU + "-" + strconv.Itoa(i)
	return engine.Product{ID: b.ID(i), SKU: sku, Name: "Bench " + sku, Price: b.Price, Stock: b.Stock,
		IsActive: true, LowStockThreshold: engine.LowStockThresholdDefault, CreatedAt: b.CreatedAt, UpdatedAt: b.CreatedAt}
}

// Validate checks the block's size and that its first and last products
// (the shortest and the longest SKU) are valid products.
func (b BenchBlock) Validate() error {
	if b.Count < 1 || b.Count > BenchBlockProductsMax {
		return engine.Invalid("count", fmt.Sprintf("must be between 1 and %d", BenchBlockProductsMax))
	}
	if _, err := engine.ParseCurrency(string(b.Price.Currency)); err != nil {
		return err
	}
	return errors.Join(b.Product(0).Validate(), b.Product(b.Count-1).Validate())
}

// benchBlockInsertSQL inserts products $8..$9 of a block: the id is the
// prefix's hex followed by the index as eight hex digits.
const benchBlockInsertSQL = `INSERT INTO products (` + productColumns + `)
SELECT (encode($1::bytea, 'hex') || lpad(to_hex(i), 8, '0'))::uuid, $2::text || '-' || i,
    'Bench ' || $2::text || '-' || i, $3::bigint, $4::text, $5::bigint, true, $6::bigint, $7::timestamptz, $7::timestamptz
FROM generate_series($8::bigint, $9::bigint) AS i`

// CreateBenchBlock inserts the block's products, benchBlockRowsPerInsert a
// statement and benchBlockInsertsAtOnce statements at a time, calling
// progress (when not nil, never concurrently) with the number created so far
// after each; then it refreshes the planner's statistics of products (a
// million rows change every plan). A taken id or SKU is engine.ErrConflict;
// the products inserted before an error stay.
func (s *Store) CreateBenchBlock(ctx context.Context, b BenchBlock, progress func(created int)) error {
	op := "create bench block " + b.SKU
	if err := b.Validate(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	starts := make(chan int)
	go func() {
		defer close(starts)
		for start := 0; start < b.Count; start += benchBlockRowsPerInsert {
			select {
			case starts <- start:
			case <-ctx.Done():
				return
			}
		}
	}()
	var (
		mu      sync.Mutex // guards created, errs and calls to progress
		created int
		errs    []error
		wg      sync.WaitGroup
	)
	for range benchBlockInsertsAtOnce {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for start := range starts {
				end := min(start+benchBlockRowsPerInsert, b.Count) - 1
				_, err := s.pool.Exec(ctx, benchBlockInsertSQL, b.Prefix[:], b.SKU, b.Price.Amount,
					string(b.Price.Currency), b.Stock, engine.LowStockThresholdDefault, b.CreatedAt.UTC(), start, end)
				mu.Lock()
				if err != nil {
					errs = append(errs, wrapError(op, err))
					cancel()
				} else if created += end + 1 - start; progress != nil {
					progress(created)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return errs[0] // the others are mostly the cancellation it caused
	}
	if _, err := s.pool.Exec(ctx, "ANALYZE products"); err != nil {
		return wrapError(op, err)
	}
	return nil
}

// benchBlockChangesSQL reads, for the products whose ids lie in [$1, $2],
// the audit of those not as created with stock $3: stock changed, or any
// order item or hold. Order items and holds are found through their
// product_id indexes; the products by one range scan.
const benchBlockChangesSQL = `WITH s AS (
    SELECT oi.product_id, count(*) AS orders,
        sum(oi.quantity) FILTER (WHERE o.status NOT IN ('cancelled', 'failed')) AS sold
    FROM order_items oi JOIN orders o ON o.id = oi.order_id
    WHERE oi.product_id BETWEEN $1 AND $2 GROUP BY oi.product_id),
h AS (SELECT product_id, sum(quantity) AS held FROM stock_holds
    WHERE product_id BETWEEN $1 AND $2 GROUP BY product_id)
SELECT p.id, p.stock, coalesce(s.sold, 0)::bigint, coalesce(h.held, 0)::bigint, coalesce(s.orders, 0)::bigint
FROM products p LEFT JOIN s ON s.product_id = p.id LEFT JOIN h ON h.product_id = p.id
WHERE p.id BETWEEN $1 AND $2 AND (p.stock <> $3 OR s.product_id IS NOT NULL OR h.product_id IS NOT NULL)
ORDER BY p.id`

// BenchBlockChanges returns the audit (as AuditStock) of every product of
// the block that is no longer as created, in index order; a product left
// out still has its initial stock and no order item and no hold.
func (s *Store) BenchBlockChanges(ctx context.Context, b BenchBlock) ([]StockAudit, error) {
	const op = "bench block changes"
	if b.Count < 1 || b.Count > BenchBlockProductsMax {
		return nil, fmt.Errorf("%s: %w", op, engine.Invalid("count", "out of range"))
	}
	rows, err := s.pool.Query(ctx, benchBlockChangesSQL, [16]byte(b.ID(0)), [16]byte(b.ID(b.Count-1)), b.Stock)
	if err != nil {
		return nil, wrapError(op, err)
	}
	var out []StockAudit
	var a StockAudit
	_, err = pgx.ForEachRow(rows, []any{(*[16]byte)(&a.ProductID), &a.Stock, &a.Sold, &a.Held, &a.Orders},
		func() error { out = append(out, a); return nil })
	if err != nil {
		return nil, wrapError(op, err)
	}
	return out, nil
}
