package engine

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"slices"
	"time"
)

// HoldKind says why units are held out of stock for an order.
type HoldKind string

// Hold kinds. Both are released by the product's SKU actor through the one
// release path (delete the hold, add its units back to stock).
const (
	// HoldAssembling: units taken for a multi-product order whose other
	// products are still being taken. Finalizing the order consumes the hold;
	// if the order is abandoned (a shortfall elsewhere, a crash), the hold is
	// released.
	HoldAssembling HoldKind = "assembling"
	// HoldReturning: units of an order that left the pending state in a way
	// that returns stock (cancelled, expired, payment failed), written in the
	// same transaction as the status change and released right after.
	HoldReturning HoldKind = "returning"
)

// Hold is a number of units of one product owed to (assembling) or by
// (returning) one order.
type Hold struct {
	OrderID   ID
	ProductID ID
	Quantity  int64
	Kind      HoldKind
	CreatedAt time.Time
}

// StockCommit is one transaction of a node's commit pipeline: the work of
// many SKU actors (and of multi-product orders reserved on several of
// them), written together. Every product it touches moves by
// stock - taken + released, where taken are the units of its orders' items
// and of its holds, and released those of the holds its Releases delete.
type StockCommit struct {
	// Orders are orders to insert with their items (of one product or
	// several).
	Orders []Order
	// Holds are assembling holds to insert (units taken for an order whose
	// other products are written elsewhere).
	Holds []Hold
	// Releases name holds to delete, their units going back to stock; a
	// release of a hold that is not there releases nothing.
	Releases []StockRelease
	// Fence is the epoch the committing node holds each shard of the
	// commit's products at; if any has moved on, nothing is written (a
	// FencedError names the stale shards). Empty: no check (tests and
	// tools that own the database).
	Fence []ShardEpoch
}

// StockRelease names the hold of one order on one product.
type StockRelease struct {
	OrderID   ID
	ProductID ID
}

// StockDelta is the units a commit takes from one product.
type StockDelta struct {
	ProductID ID
	Taken     int64
}

// Deltas returns, sorted by product id, every product the commit touches
// and the units it takes from each (0 for a product only released).
func (c StockCommit) Deltas() []StockDelta {
	taken := make(map[ID]int64, len(c.Orders)+len(c.Holds)+len(c.Releases))
	for _, o := range c.Orders {
		for _, it := range o.Items {
			taken[it.ProductID] += it.Quantity
		}
	}
	for _, h := range c.Holds {
		taken[h.ProductID] += h.Quantity
	}
	for _, r := range c.Releases {
		taken[r.ProductID] += 0
	}
	out := make([]StockDelta, 0, len(taken))
	for id, n := range taken {
		out = append(out, StockDelta{ProductID: id, Taken: n})
	}
	slices.SortFunc(out, func(a, b StockDelta) int { return bytes.Compare(a.ProductID[:], b.ProductID[:]) })
	return out
}

// IsEmpty reports whether the commit changes nothing.
func (c StockCommit) IsEmpty() bool {
	return len(c.Orders) == 0 && len(c.Holds) == 0 && len(c.Releases) == 0
}

// StockCommitted is what a committed StockCommit did to one product.
type StockCommitted struct {
	ProductID ID
	Stock     int64 // the product's stock after the commit
	Released  int64 // units the commit's releases returned to stock
}

// ShardOf maps a product to one of n shards by a stable hash (FNV-1a of
// its 16 bytes): the same id lands on the same shard in every process and
// every version. n must be positive.
func ShardOf(id ID, n int) int {
	h := fnv.New64a()
	_, _ = h.Write(id[:]) // hash.Hash never fails
	return int(h.Sum64() % uint64(n))
}

// Ledger is a SKU actor's account of one product's stock: the product as
// last committed, and the units taken by work not yet committed. A SKU
// actor owns one; it is not safe for concurrent use.
//
// Invariants, checked by every method: 0 <= taken <= committed stock.
type Ledger struct {
	product Product
	taken   int64
}

// NewLedger starts a ledger from a product as loaded from the database.
func NewLedger(p Product) (Ledger, error) {
	if err := p.Validate(); err != nil {
		return Ledger{}, fmt.Errorf("ledger for %s: %w", p.ID, err)
	}
	return Ledger{product: p}, nil
}

// Product returns the product as last committed.
func (l *Ledger) Product() Product { return l.product }

// Available returns the units that can still be taken.
func (l *Ledger) Available() int64 { return l.product.Stock - l.taken }

// Taken returns the units taken by uncommitted work.
func (l *Ledger) Taken() int64 { return l.taken }

// Take reserves q units for uncommitted work: a *StockError when fewer are
// available, ErrInvalid for a quantity out of range or an inactive product.
func (l *Ledger) Take(q int64) error {
	if q < 1 || q > ItemQuantityMax {
		return Invalid("quantity", fmt.Sprintf("must be between 1 and %d", ItemQuantityMax))
	}
	if !l.product.IsActive {
		return Invalid("items", fmt.Sprintf("product %s is not available", l.product.ID))
	}
	if avail := l.Available(); q > avail {
		return &StockError{ProductID: l.product.ID, Available: avail, Requested: q}
	}
	l.taken += q
	return nil
}

// Untake gives back q units taken by work that will not be committed.
func (l *Ledger) Untake(q int64) {
	l.taken -= q
	l.assert()
}

// Settle records committed work that took taken units: the committed
// stock becomes what the database returned. It reports an error (and
// changes nothing) if the database disagrees with the ledger, which means
// someone else wrote the stock: the caller must reload.
func (l *Ledger) Settle(taken int64, r StockCommitted) error {
	want := l.product.Stock - taken + r.Released
	if r.Stock != want || taken > l.taken {
		return fmt.Errorf("ledger for %s: stock after commit is %d, expected %d (taken %d of %d, released %d)",
			l.product.ID, r.Stock, want, taken, l.taken, r.Released)
	}
	l.product.Stock = r.Stock
	l.taken -= taken
	l.assert()
	return nil
}

// Reload replaces the committed product with a fresh read, keeping the
// units taken by uncommitted work. It fails (and changes nothing) if that
// work no longer fits, which cannot happen unless stock was written behind
// the actor's back.
func (l *Ledger) Reload(p Product) error {
	if err := p.Validate(); err != nil {
		return fmt.Errorf("ledger reload %s: %w", p.ID, err)
	}
	if l.taken > p.Stock {
		return fmt.Errorf("ledger reload %s: %d units taken but only %d in stock", p.ID, l.taken, p.Stock)
	}
	l.product = p
	return nil
}

// assert panics on a broken invariant: the owning actor recovers, fails
// its in-flight work and reloads from the database.
func (l *Ledger) assert() {
	if l.taken < 0 || l.taken > l.product.Stock || l.product.Stock < 0 {
		panic(fmt.Sprintf("ledger for %s broken: stock %d, taken %d", l.product.ID, l.product.Stock, l.taken))
	}
}
