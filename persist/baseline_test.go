package persist_test

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"

	"github.com/flashstock/flashstock/engine"
	"github.com/flashstock/flashstock/persist"
)

// placeFunc is PlaceOrderLocked or PlaceOrderUnlocked.
type placeFunc func(*persist.Store, context.Context, engine.PlaceOrder) (engine.Order, error)

// placers are the baseline variants; every test below runs against each.
var placers = []struct {
	name  string
	place placeFunc
}{
	{"locked", (*persist.Store).PlaceOrderLocked},
	{"unlocked", (*persist.Store).PlaceOrderUnlocked},
}

func placeCmd(t *testing.T, user engine.ID, items ...engine.ItemRequest) engine.PlaceOrder {
	t.Helper()
	return engine.PlaceOrder{OrderID: newID(t), UserID: user, Items: items, Now: now()}
}

func TestPlaceOrderBaseline(t *testing.T) {
	t.Parallel()
	for _, pl := range placers {
		t.Run(pl.name, func(t *testing.T) {
			t.Parallel()
			s, _ := newStore(t)
			ctx := t.Context()
			user := orderUser(t, s, "buyer")
			a, b := createProduct(t, s, "A", 10, true), createProduct(t, s, "B", 5, true)
			cmd := placeCmd(t, user, engine.ItemRequest{ProductID: b.ID, Quantity: 2}, engine.ItemRequest{ProductID: a.ID, Quantity: 3})
			got, err := pl.place(s, ctx, cmd)
			if err != nil {
				t.Fatalf("place: %v", err)
			}
			lines := []engine.OrderLine{{Product: a, Quantity: 3}, {Product: b, Quantity: 2}}
			want, err := engine.NewOrder(engine.OrderDraft{ID: cmd.OrderID, Reference: got.Reference, UserID: user,
				Lines: lines, Now: cmd.Now, TTL: engine.OrderTTLDefault})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("placed %+v\nwant %+v", got, want)
			}
			stored, err := s.Order(ctx, cmd.OrderID)
			if err != nil || !reflect.DeepEqual(stored, got) {
				t.Fatalf("Order = %+v, %v; want %+v", stored, err, got)
			}
			if sa, sb := stockOf(t, s, a.ID), stockOf(t, s, b.ID); sa != 7 || sb != 3 {
				t.Fatalf("stock = %d, %d; want 7, 3", sa, sb)
			}
		})
	}
}

// A refused order writes nothing: no order, no stock change.
func TestPlaceOrderBaselineRefusals(t *testing.T) {
	t.Parallel()
	for _, pl := range placers {
		t.Run(pl.name, func(t *testing.T) {
			t.Parallel()
			s, _ := newStore(t)
			ctx := t.Context()
			user := orderUser(t, s, "buyer")
			a, off := createProduct(t, s, "A", 4, true), createProduct(t, s, "OFF", 4, false)
			tests := []struct {
				name  string
				items []engine.ItemRequest
				want  error
			}{
				{"short", []engine.ItemRequest{{ProductID: a.ID, Quantity: 5}}, engine.ErrInsufficientStock},
				{"missing", []engine.ItemRequest{{ProductID: a.ID, Quantity: 1}, {ProductID: newID(t), Quantity: 1}}, engine.ErrNotFound},
				{"inactive", []engine.ItemRequest{{ProductID: a.ID, Quantity: 1}, {ProductID: off.ID, Quantity: 1}}, engine.ErrInvalid},
				{"empty", nil, engine.ErrInvalid},
				{"zero quantity", []engine.ItemRequest{{ProductID: a.ID, Quantity: 0}}, engine.ErrInvalid},
			}
			for _, tt := range tests {
				cmd := placeCmd(t, user, tt.items...)
				if _, err := pl.place(s, ctx, cmd); !errors.Is(err, tt.want) {
					t.Errorf("%s: place = %v, want %v", tt.name, err, tt.want)
				}
				if _, err := s.Order(ctx, cmd.OrderID); !errors.Is(err, engine.ErrNotFound) {
					t.Errorf("%s: refused order is stored (%v)", tt.name, err)
				}
			}
			_, err := pl.place(s, ctx, placeCmd(t, user, engine.ItemRequest{ProductID: a.ID, Quantity: 5}))
			var se *engine.StockError
			if !errors.As(err, &se) || *se != (engine.StockError{ProductID: a.ID, Available: 4, Requested: 5}) {
				t.Errorf("short order: %v, want a StockError with 4 available, 5 requested", err)
			}
			if got := stockOf(t, s, a.ID); got != 4 {
				t.Errorf("stock after refusals = %d, want 4", got)
			}
		})
	}
}

// TestPlaceOrderLockedSellOut: many buyers race for the last units; the row
// lock lets exactly stock of them through and the audit agrees.
func TestPlaceOrderLockedSellOut(t *testing.T) {
	t.Parallel()
	const stock, buyers, workers = 25, 120, 16
	s, _ := newStore(t)
	ctx := t.Context()
	user := orderUser(t, s, "buyer")
	p := createProduct(t, s, "HOT", stock, true)

	var mu sync.Mutex // guards placed and refused
	var placed []engine.ID
	var refused int
	var wg sync.WaitGroup
	jobs := make(chan engine.PlaceOrder)
	for range workers {
		wg.Go(func() {
			for cmd := range jobs {
				_, err := s.PlaceOrderLocked(ctx, cmd)
				mu.Lock()
				switch {
				case err == nil:
					placed = append(placed, cmd.OrderID)
				case errors.Is(err, engine.ErrInsufficientStock):
					refused++
				default:
					t.Errorf("PlaceOrderLocked: %v", err)
				}
				mu.Unlock()
			}
		})
	}
	for range buyers {
		jobs <- placeCmd(t, user, engine.ItemRequest{ProductID: p.ID, Quantity: 1})
	}
	close(jobs)
	wg.Wait()
	if len(placed) != stock || refused != buyers-stock {
		t.Fatalf("%d placed, %d refused; want %d and %d", len(placed), refused, stock, buyers-stock)
	}
	audits, err := s.AuditStock(ctx, []engine.ID{p.ID})
	want := []persist.StockAudit{{ProductID: p.ID, Stock: 0, Sold: stock, Orders: stock}}
	if err != nil || !reflect.DeepEqual(audits, want) {
		t.Fatalf("AuditStock = %+v, %v; want %+v", audits, err, want)
	}
	if n, err := s.ExistingOrders(ctx, placed); err != nil || n != stock {
		t.Fatalf("ExistingOrders = %d, %v; want %d", n, err, stock)
	}
}
