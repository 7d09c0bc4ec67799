package engine

import (
	"fmt"
	"hash/fnv"
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

// StockBatch is one group commit of a SKU actor: everything that changes
// one product's stock, written in one transaction.
type StockBatch struct {
	ProductID ID
	// Orders are single-product orders to insert with their items.
	Orders []Order
	// Holds are assembling holds to insert for multi-product orders.
	Holds []Hold
	// Releases are orders whose holds on this product are deleted and whose
	// units go back to stock; an order with no hold releases nothing.
	Releases []ID
}

// Taken returns the units the batch takes from stock: those of its orders
// and holds.
func (b StockBatch) Taken() int64 {
	var n int64
	for _, o := range b.Orders {
		n += o.Units(b.ProductID)
	}
	for _, h := range b.Holds {
		n += h.Quantity
	}
	return n
}

// IsEmpty reports whether the batch changes nothing.
func (b StockBatch) IsEmpty() bool {
	return len(b.Orders) == 0 && len(b.Holds) == 0 && len(b.Releases) == 0
}

// StockBatchResult is what a committed batch did.
type StockBatchResult struct {
	Stock    int64 // the product's stock after the commit
	Released int64 // units that Releases returned to stock
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

// Settle records a committed batch that took taken units: the committed
// stock becomes what the database returned. It reports an error (and
// changes nothing) if the database disagrees with the ledger, which means
// someone else wrote the stock: the caller must reload.
func (l *Ledger) Settle(taken int64, r StockBatchResult) error {
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
