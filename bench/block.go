package bench

import (
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/flashstock/flashstock/engine"
	"github.com/flashstock/flashstock/persist"
)

// Product blocks: the spread and catalog scenarios order over up to
// millions of products, too many to create one API call at a time, so the
// bench inserts them straight into the database (persist.BenchBlock) and
// reuses one block for every run of its writer.

// Blocks creates and audits product blocks; *persist.Store is one.
type Blocks interface {
	// CreateBenchBlock inserts the block's products, calling progress with
	// the number created so far.
	CreateBenchBlock(ctx context.Context, b persist.BenchBlock, progress func(created int)) error
	// BenchBlockChanges returns the audit of every product of the block
	// that is no longer as created.
	BenchBlockChanges(ctx context.Context, b persist.BenchBlock) ([]persist.StockAudit, error)
}

// Limits of a block's audit.
const (
	// auditProblemsMax bounds the problems one audit lists: a systematic
	// fault would otherwise print a line per product.
	auditProblemsMax = 20
)

// block is a product block and the 201 answers its products were given,
// counted over every run on it so far (warm-ups included). A block is
// reused by every run of one writer of its stock: flashstock's SKU actors
// keep stock in memory, so flashstock's runs have a block of their own,
// while the baselines, which read and write each product's row inside
// each order's transaction, share one.
type block struct {
	spec     persist.BenchBlock
	answered []int32 // by product index
}

// Block order bodies: one item of one unit.
const (
	blockBodyHead = `{"items":[{"product_id":"`
	blockBodyTail = `","quantity":1}]}`
)

// newBlock creates n products for runs of label, logging progress.
func (s *suite) newBlock(ctx context.Context, label string, n int) (*block, error) {
	if s.env.Blocks == nil {
		return nil, errors.New("bench: no database to create a product block in")
	}
	now := time.Now().UTC().Truncate(time.Microsecond) // as PostgreSQL stores it
	id, err := engine.NewID(now, crand.Reader)
	if err != nil {
		return nil, err
	}
	spec := persist.BenchBlock{Count: n, SKU: fmt.Sprintf("b%s-%s", s.tag, label),
		Price: engine.Money{Amount: benchPrice, Currency: engine.CurrencyDefault}, Stock: plentyStock, CreatedAt: now}
	copy(spec.Prefix[:], id[:12])
	started := time.Now()
	logged := started
	progress := func(created int) {
		if created == n || time.Since(logged) >= progressEvery {
			logged = time.Now()
			s.logf("%s: %s of %s products created in the database (%.1fs)", label, formatCount(float64(created)),
				formatCount(float64(n)), time.Since(started).Seconds())
		}
	}
	if err := s.env.Blocks.CreateBenchBlock(ctx, spec, progress); err != nil {
		return nil, fmt.Errorf("bench: %s products: %w", label, err)
	}
	return &block{spec: spec, answered: make([]int32, n)}, nil
}

// order returns a 1-unit order of product i from buyer u, tagged with i.
func (b *block) order(i int, u User, expect int) Request {
	body := make([]byte, 0, len(blockBodyHead)+36+len(blockBodyTail))
	body = append(body, blockBodyHead...)
	body, _ = b.spec.ID(i).AppendText(body)
	body = append(body, blockBodyTail...)
	return Request{Method: "POST", Path: "/orders/", Auth: u.Auth, Body: body, Expect: expect, Order: true, Tag: int32(i)}
}

// read returns a read of product i.
func (b *block) read(i int) Request {
	return Request{Method: "GET", Path: "/products/" + b.spec.ID(i).String(), Expect: 200}
}

// uniformOrders returns a source of 1-unit orders of a product drawn
// uniformly from the block, each from a random buyer.
func (b *block) uniformOrders(users []User) Source {
	return func(r *rand.Rand) Request {
		return b.order(r.IntN(b.spec.Count), users[r.IntN(len(users))], 201)
	}
}

// auditBlock checks a run over a block against the database: the run's
// answers are added to the block's, then every product of the block that
// is not as created must conserve its units (stock + sold + held = initial,
// nothing held, no negative stock) and have as many orders stored as 201
// answers given for it, and every product with an answer must be among
// them; every answered order id must be stored, once; no order without items.
func auditBlock(ctx context.Context, a Auditor, bs Blocks, b *block, x expectation) (Audit, error) {
	for _, i := range x.orderTags {
		if int(i) >= 0 && int(i) < len(b.answered) {
			b.answered[i]++
		}
	}
	res := Audit{Checked: true, Products: b.spec.Count}
	rows, err := waitBlockDrained(ctx, bs, b.spec)
	if err != nil {
		return res, err
	}
	problems := checkBlock(b, rows, &res)
	more, err := checkAnswered(ctx, a, x)
	if err != nil {
		return res, err
	}
	problems = append(problems, more...)
	if n := len(problems); n > auditProblemsMax {
		problems = append(problems[:auditProblemsMax], fmt.Sprintf("... and %d more problems", n-auditProblemsMax))
	}
	res.Problems = problems
	res.OK = len(problems) == 0
	return res, nil
}

// checkBlock compares the changed products of a block with its answers,
// and counts the orders and units found.
func checkBlock(b *block, rows []persist.StockAudit, res *Audit) []string {
	var p []string
	seen := make(map[int]bool, len(rows))
	for _, r := range rows {
		i, ok := b.spec.Index(r.ProductID)
		if !ok {
			p = append(p, fmt.Sprintf("product %s is not of the block", r.ProductID))
			continue
		}
		seen[i] = true
		res.Orders += r.Orders
		res.Units += r.Sold
		p = append(p, checkStock(r, b.spec.Stock, false)...)
		if r.Orders != int64(b.answered[i]) {
			p = append(p, fmt.Sprintf("product %s: %d orders stored, %d answered 201", r.ProductID, r.Orders, b.answered[i]))
		}
	}
	for i, n := range b.answered {
		if n > 0 && !seen[i] {
			p = append(p, fmt.Sprintf("product %s: %d orders answered 201, none stored", b.spec.ID(i), n))
		}
	}
	return p
}

// waitBlockDrained reads the block's changed products until nothing is
// held any more or the drain timeout passes, and returns the last reading.
func waitBlockDrained(ctx context.Context, bs Blocks, spec persist.BenchBlock) ([]persist.StockAudit, error) {
	deadline := time.Now().Add(holdsDrainTimeout)
	for {
		rows, err := bs.BenchBlockChanges(ctx, spec)
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

// heldUnits is the units held over rows.
func heldUnits(rows []persist.StockAudit) int64 {
	var held int64
	for _, r := range rows {
		held += r.Held
	}
	return held
}
