package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/flashstock/flashstock/engine"
	"github.com/flashstock/flashstock/persist"
)

// Auditor reads the durable truth after a run; *persist.Store is one.
type Auditor interface {
	AuditStock(ctx context.Context, products []engine.ID) ([]persist.StockAudit, error)
	OrdersForProducts(ctx context.Context, products []engine.ID) (int64, error)
	ExistingOrders(ctx context.Context, ids []engine.ID) (int64, error)
	OrdersWithoutItems(ctx context.Context, since time.Time) (int64, error)
}

// Limits of the audit.
const (
	holdsDrainTimeout = 15 * time.Second // units still held after a run must be returned within this
	holdsPollEvery    = 200 * time.Millisecond
)

// expectation is what a run's answers promise about the database.
type expectation struct {
	products []Product // with their initial stock
	// block, when set, is the product block the run ordered from, audited
	// whole (auditBlock) instead of products.
	block     *block
	orderIDs  []string  // of every 201 answer, warm-up included
	orderTags []int32   // the tag of each of orderIDs' requests
	since     time.Time // when the run (warm-up included) started
	// soldOut, when set, demands a sell-out: exactly the initial stock
	// sold and none left.
	soldOut bool
}

// audit checks a run against the database: for every product stock +
// sold = initial with nothing left held and no negative stock; as many
// orders stored as 201 answers, every answered id stored; no order without
// items.
func audit(ctx context.Context, a Auditor, x expectation) (Audit, error) {
	ids, initial, problems := parseIDs(x.products)
	res := Audit{Checked: true, Products: len(ids)}
	rows, err := waitHoldsDrained(ctx, a, ids)
	if err != nil {
		return res, err
	}
	for _, r := range rows {
		res.Units += r.Sold
		problems = append(problems, checkStock(r, initial[r.ProductID], x.soldOut)...)
	}
	if len(rows) != len(ids) {
		problems = append(problems, fmt.Sprintf("%d products created, %d found", len(ids), len(rows)))
	}
	more, err := checkOrders(ctx, a, ids, x, &res)
	if err != nil {
		return res, err
	}
	res.Problems = append(problems, more...)
	res.OK = len(res.Problems) == 0
	return res, nil
}

// checkStock checks one product's conservation of units.
func checkStock(r persist.StockAudit, initial int64, soldOut bool) []string {
	var p []string
	if r.Stock < 0 {
		p = append(p, fmt.Sprintf("product %s: negative stock %d", r.ProductID, r.Stock))
	}
	if r.Held != 0 {
		p = append(p, fmt.Sprintf("product %s: %d units still held after %s", r.ProductID, r.Held, holdsDrainTimeout))
	}
	if r.Stock+r.Sold+r.Held != initial {
		p = append(p, fmt.Sprintf("product %s: stock %d + sold %d + held %d != initial %d",
			r.ProductID, r.Stock, r.Sold, r.Held, initial))
	}
	if soldOut && (r.Stock != 0 || r.Sold != initial) {
		p = append(p, fmt.Sprintf("product %s: sell-out of %d ended with %d sold and %d left",
			r.ProductID, initial, r.Sold, r.Stock))
	}
	return p
}

// checkOrders compares the 201 answers with the stored orders.
func checkOrders(ctx context.Context, a Auditor, products []engine.ID, x expectation, res *Audit) ([]string, error) {
	var p []string
	stored, err := a.OrdersForProducts(ctx, products)
	if err != nil {
		return nil, fmt.Errorf("bench: audit: %w", err)
	}
	res.Orders = stored
	answered := int64(len(x.orderIDs))
	if stored != answered {
		p = append(p, fmt.Sprintf("%d orders answered 201, %d stored", answered, stored))
	}
	more, err := checkAnswered(ctx, a, x)
	return append(p, more...), err
}

// checkAnswered checks the ids of the 201 answers: each valid, given once
// and stored; and that no order made since the run started lacks items.
func checkAnswered(ctx context.Context, a Auditor, x expectation) ([]string, error) {
	var p []string
	ids := make([]engine.ID, 0, len(x.orderIDs))
	seen := make(map[engine.ID]bool, len(x.orderIDs))
	for _, s := range x.orderIDs {
		id, err := engine.ParseID(s)
		switch {
		case err != nil:
			p = append(p, fmt.Sprintf("a 201 answer carried no valid order id (%q)", s))
		case seen[id]:
			p = append(p, fmt.Sprintf("order id %s answered twice", id))
		default:
			seen[id] = true
			ids = append(ids, id)
		}
	}
	existing, err := a.ExistingOrders(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("bench: audit: %w", err)
	}
	if existing != int64(len(ids)) {
		p = append(p, fmt.Sprintf("%d of %d answered order ids are not stored", int64(len(ids))-existing, len(ids)))
	}
	empty, err := a.OrdersWithoutItems(ctx, x.since)
	if err != nil {
		return nil, fmt.Errorf("bench: audit: %w", err)
	}
	if empty != 0 {
		p = append(p, fmt.Sprintf("%d orders without items", empty))
	}
	return p, nil
}

// waitHoldsDrained reads the products' stock until nothing is held any
// more (units of failed multi-product orders are returned just after the
// answer) or the drain timeout passes, and returns the last reading.
func waitHoldsDrained(ctx context.Context, a Auditor, ids []engine.ID) ([]persist.StockAudit, error) {
	deadline := time.Now().Add(holdsDrainTimeout)
	for {
		rows, err := a.AuditStock(ctx, ids)
		if err != nil {
			return nil, fmt.Errorf("bench: audit: %w", err)
		}
		if heldUnits(rows) == 0 || time.Now().After(deadline) {
			return rows, nil
		}
		sleep(ctx, holdsPollEvery)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
}

// parseIDs returns the products' ids and initial stock by id.
func parseIDs(products []Product) ([]engine.ID, map[engine.ID]int64, []string) {
	var problems []string
	ids := make([]engine.ID, 0, len(products))
	initial := make(map[engine.ID]int64, len(products))
	for _, p := range products {
		id, err := engine.ParseID(p.ID)
		if err != nil {
			problems = append(problems, fmt.Sprintf("product id %q: %v", p.ID, err))
			continue
		}
		ids = append(ids, id)
		initial[id] = p.Stock
	}
	return ids, initial, problems
}
