package engine_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flashstock/flashstock/engine"
)

func stockProduct(t *testing.T, stock int64, active bool) engine.Product {
	t.Helper()
	p, err := engine.NewProduct(engine.ProductDraft{SKU: "S", Name: "Thing", Price: 250, Stock: stock, IsActive: &active},
		engine.ID{1}, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLedgerTakeSettle(t *testing.T) {
	l, err := engine.NewLedger(stockProduct(t, 10, true))
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Take(4); err != nil || l.Available() != 6 || l.Taken() != 4 {
		t.Fatalf("Take(4) = %v; available %d taken %d", err, l.Available(), l.Taken())
	}
	var se *engine.StockError
	if err := l.Take(7); !errors.As(err, &se) || se.Available != 6 || se.Requested != 7 || se.ProductID != (engine.ID{1}) {
		t.Fatalf("Take(7) = %v, want a StockError 6/7", err)
	}
	for _, q := range []int64{0, -1, engine.ItemQuantityMax + 1} {
		if err := l.Take(q); !errors.Is(err, engine.ErrInvalid) {
			t.Errorf("Take(%d) = %v, want ErrInvalid", q, err)
		}
	}
	if err := l.Take(6); err != nil || l.Available() != 0 {
		t.Fatalf("Take(6) = %v; available %d", err, l.Available())
	}
	// 4 units committed (and 2 released by the same batch); 6 still taken.
	if err := l.Settle(4, engine.StockCommitted{Stock: 8, Released: 2}); err != nil {
		t.Fatalf("Settle: %v", err)
	}
	if l.Product().Stock != 8 || l.Taken() != 6 || l.Available() != 2 {
		t.Errorf("after Settle: stock %d taken %d available %d; want 8, 6, 2", l.Product().Stock, l.Taken(), l.Available())
	}
	// A database that disagrees is reported, and nothing changes.
	if err := l.Settle(6, engine.StockCommitted{Stock: 3}); err == nil || l.Product().Stock != 8 || l.Taken() != 6 {
		t.Errorf("Settle with a wrong stock = %v; stock %d taken %d, want an error and no change", err, l.Product().Stock, l.Taken())
	}
	l.Untake(6)
	if l.Available() != 8 {
		t.Errorf("after Untake: available %d, want 8", l.Available())
	}
}

func TestLedgerReload(t *testing.T) {
	l, _ := engine.NewLedger(stockProduct(t, 10, true))
	if err := l.Take(5); err != nil {
		t.Fatal(err)
	}
	if err := l.Reload(stockProduct(t, 4, true)); err == nil || l.Product().Stock != 10 {
		t.Errorf("Reload below the taken units = %v, want an error and no change", err)
	}
	if err := l.Reload(stockProduct(t, 7, true)); err != nil || l.Available() != 2 {
		t.Errorf("Reload(7) = %v; available %d, want 2", err, l.Available())
	}
	bad := stockProduct(t, 7, true)
	bad.Stock = -1
	if err := l.Reload(bad); err == nil {
		t.Errorf("Reload of a broken product succeeded")
	}
	if _, err := engine.NewLedger(bad); err == nil {
		t.Errorf("NewLedger of a broken product succeeded")
	}
}

func TestLedgerInactiveProduct(t *testing.T) {
	l, _ := engine.NewLedger(stockProduct(t, 10, false))
	if err := l.Take(1); !errors.Is(err, engine.ErrInvalid) {
		t.Errorf("Take on an inactive product = %v, want ErrInvalid", err)
	}
}

func TestLedgerBrokenInvariantPanics(t *testing.T) {
	l, _ := engine.NewLedger(stockProduct(t, 10, true))
	defer func() {
		if p := recover(); p == nil || !strings.Contains(p.(string), "broken") {
			t.Errorf("Untake below zero: recover() = %v, want a panic naming the broken ledger", p)
		}
	}()
	l.Untake(1)
}

// FuzzLedger drives a ledger with random takes, untakes and commits and
// checks its invariants after every step: taken within [0, stock], and
// available = stock - taken.
func FuzzLedger(f *testing.F) {
	f.Add(int64(10), []byte{1, 5, 2, 3, 0, 9, 3, 1})
	f.Add(int64(0), []byte{1, 1})
	f.Fuzz(func(t *testing.T, stock int64, ops []byte) {
		if stock < 0 || stock > engine.StockMax {
			return
		}
		l, err := engine.NewLedger(stockProduct(t, stock, true))
		if err != nil {
			t.Fatal(err)
		}
		var pending []int64 // units taken, not yet committed
		for i := 0; i+1 < len(ops); i += 2 {
			q := int64(ops[i+1]) + 1
			switch ops[i] % 3 {
			case 0:
				if l.Take(q) == nil {
					pending = append(pending, q)
				} else if q <= l.Available() {
					t.Fatalf("Take(%d) refused with %d available", q, l.Available())
				}
			case 1:
				if len(pending) > 0 {
					l.Untake(pending[0])
					pending = pending[1:]
				}
			case 2:
				if len(pending) > 0 {
					want := l.Product().Stock - pending[0]
					if err := l.Settle(pending[0], engine.StockCommitted{Stock: want}); err != nil {
						t.Fatalf("Settle: %v", err)
					}
					pending = pending[1:]
				}
			}
			var sum int64
			for _, p := range pending {
				sum += p
			}
			if l.Taken() != sum || l.Available() != l.Product().Stock-sum || l.Available() < 0 {
				t.Fatalf("stock %d taken %d (want %d) available %d", l.Product().Stock, l.Taken(), sum, l.Available())
			}
		}
	})
}

func TestStockCommitDeltas(t *testing.T) {
	a, b, c := engine.ID{1}, engine.ID{2}, engine.ID{3}
	sc := engine.StockCommit{
		Orders: []engine.Order{{Items: []engine.OrderItem{{ProductID: b, Quantity: 2}, {ProductID: a, Quantity: 9}}},
			{Items: []engine.OrderItem{{ProductID: b, Quantity: 1}}}},
		Holds:    []engine.Hold{{ProductID: b, Quantity: 3}},
		Releases: []engine.StockRelease{{OrderID: engine.ID{9}, ProductID: c}, {OrderID: engine.ID{8}, ProductID: a}},
	}
	want := []engine.StockDelta{{ProductID: a, Taken: 9}, {ProductID: b, Taken: 6}, {ProductID: c, Taken: 0}}
	if got := sc.Deltas(); !slices.Equal(got, want) {
		t.Errorf("Deltas = %v, want %v (every product touched, sorted, released-only ones at 0)", got, want)
	}
	if sc.IsEmpty() || !(engine.StockCommit{}).IsEmpty() || (engine.StockCommit{Releases: sc.Releases}).IsEmpty() {
		t.Errorf("IsEmpty wrong")
	}
}

func TestShardOf(t *testing.T) {
	// Stable across processes and versions: pinned values.
	id, err := engine.ParseID("01a214ef-eba8-7307-8939-91105f82a179")
	if err != nil {
		t.Fatal(err)
	}
	if got := engine.ShardOf(id, 256); got != 218 {
		t.Fatalf("ShardOf = %d, want 218: the mapping must never change (shards are leased by it)", got)
	}
	counts := make([]int, 16)
	for i := range 16000 {
		var id engine.ID
		id[0], id[1], id[15] = byte(i), byte(i>>8), byte(i*7)
		counts[engine.ShardOf(id, 16)]++
	}
	for s, n := range counts {
		if n < 700 || n > 1300 {
			t.Errorf("shard %d got %d of 16000 ids; the hash spreads badly", s, n)
		}
	}
}
