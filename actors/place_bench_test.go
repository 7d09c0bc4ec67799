package actors_test

import (
	"context"
	"crypto/rand"
	"strconv"
	"testing"
	"time"

	"github.com/flashstock/flashstock/actors"
	"github.com/flashstock/flashstock/engine"
)

// What an order costs the actors (admission, decision, the commit
// pipeline, the answer) over the in-memory store: time and allocations per
// order, with 1 and 32 buyers per GOMAXPROCS. The pipeline is the hot
// path: `go test -run '^$' -bench Place -benchmem ./actors/` before and
// after a change to it.

// benchBuyers places orders with par buyers per GOMAXPROCS.
func benchBuyers(b *testing.B, par int, place func(ctx context.Context, id engine.ID) error) {
	b.ReportAllocs()
	b.SetParallelism(par)
	b.RunParallel(func(pb *testing.PB) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for pb.Next() {
			id, err := engine.NewID(time.Now(), rand.Reader)
			if err == nil {
				err = place(ctx, id)
			}
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkPlaceOrder: single-product orders of one product.
func BenchmarkPlaceOrder(b *testing.B) {
	for _, par := range []int{1, 32} {
		b.Run("buyers="+strconv.Itoa(par), func(b *testing.B) {
			store, ids := newMemStore(b, 1, 1_000_000_000)
			inv := startInventory(b, store, actors.Config{})
			items := []engine.ItemRequest{{ProductID: ids[0], Quantity: 1}}
			benchBuyers(b, par, func(ctx context.Context, id engine.ID) error {
				_, err := inv.PlaceOrder(ctx, engine.PlaceOrder{OrderID: id, UserID: engine.ID{7}, Items: items, Now: time.Now()})
				return err
			})
		})
	}
}

// BenchmarkPlaceMultiProductOrder: orders of the same three products,
// reserved in product-id order and committed as one (what usecase.Orders
// asks of the inventory).
func BenchmarkPlaceMultiProductOrder(b *testing.B) {
	for _, par := range []int{1, 32} {
		b.Run("buyers="+strconv.Itoa(par), func(b *testing.B) {
			store, ids := newMemStore(b, 3, 1_000_000_000)
			inv := startInventory(b, store, actors.Config{})
			benchBuyers(b, par, func(ctx context.Context, id engine.ID) error {
				var lines [3]engine.OrderLine
				for i, p := range ids { // newMemStore's ids ascend
					got, err := inv.Reserve(ctx, id, p, 1)
					if err != nil {
						for _, l := range lines[:i] {
							inv.Unreserve(id, l.Product.ID)
						}
						return err
					}
					lines[i] = engine.OrderLine{Product: got, Quantity: 1}
				}
				ref, err := engine.NewReference(rand.Reader)
				if err != nil {
					return err
				}
				o, err := engine.NewOrder(engine.OrderDraft{ID: id, Reference: ref, UserID: engine.ID{7}, Lines: lines[:],
					Now: time.Now(), TTL: time.Hour})
				if err != nil {
					return err
				}
				_, err = inv.CommitReserved(ctx, o)
				return err
			})
		})
	}
}
