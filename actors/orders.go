package actors

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/flashstock/flashstock/engine"
)

// Orders coordinates orders over the SKU actors; it satisfies httpd's
// Orders port.
//
// A single-product order is one message to its SKU actor, which decides
// and hands the order to the commit pipeline with the rest of its work.
//
// A multi-product order is coordinated here, on the caller's goroutine (an
// order needs no state beyond its own call, so it needs no actor of its
// own; durable state lives in the database): each product's actor
// reserves the units in memory, one product after the other in product-id
// order; then the order, its items and every product's stock change go to
// the commit pipeline as one operation, written in one transaction. A
// reservation never waits (an actor answers from its ledger at once), so
// there is no deadlock; and the fixed order guarantees progress: only
// orders already holding A ever ask for B, so crossing orders (A+B, B+A)
// cannot all starve each other the way parallel reservations can (each
// winning one product and losing the other). If a product is short, every
// reservation taken is given back and nothing was written; once the order
// is with the pipeline, the actors learn its fate from the pipeline, not
// from here, so a caller that gives up leaves nothing behind.
//
// A transition that returns stock (cancel, expiry, failed payment) writes
// returning holds in the same transaction as the status change; the SKU
// actors release them right after, and the repair loop retries any release
// that did not happen.
type Orders struct {
	inv   *Inventory
	store OrderStore
	cfg   Config
	log   zerolog.Logger
}

// NewOrders builds the coordinator over inv.
func NewOrders(inv *Inventory, store OrderStore, log zerolog.Logger) (*Orders, error) {
	if inv == nil || store == nil {
		return nil, errors.New("actors: NewOrders needs an inventory and a store")
	}
	return &Orders{inv: inv, store: store, cfg: inv.cfg, log: log}, nil
}

// PlaceOrder creates a pending order, all-or-nothing; see Orders.
func (o *Orders) PlaceOrder(ctx context.Context, cmd engine.PlaceOrder) (engine.Order, error) {
	var order engine.Order
	var err error
	if len(cmd.Items) == 1 {
		order, err = o.inv.PlaceOrder(ctx, cmd)
	} else {
		order, err = o.placeMulti(ctx, cmd)
	}
	if errors.Is(err, engine.ErrNotFound) { // a product in the body, not the addressed resource
		return engine.Order{}, engine.Invalid("items", "names a product that does not exist")
	}
	return order, err
}

// placeMulti reserves every product, then commits the order.
func (o *Orders) placeMulti(ctx context.Context, cmd engine.PlaceOrder) (engine.Order, error) {
	if len(cmd.Items) == 0 {
		return engine.Order{}, engine.Invalid("items", "must not be empty")
	}
	lines, err := o.reserveAll(ctx, cmd)
	if err != nil {
		return engine.Order{}, err
	}
	order, err := o.newOrder(cmd, lines)
	if err != nil {
		o.unreserveAll(cmd.OrderID, lines)
		return engine.Order{}, err
	}
	// From here the reservations are the stock's to settle or give back.
	return o.inv.CommitReserved(ctx, order)
}

// newOrder builds the pending order of cmd from its reserved lines.
func (o *Orders) newOrder(cmd engine.PlaceOrder, lines []engine.OrderLine) (engine.Order, error) {
	ref, err := engine.NewReference(rand.Reader)
	if err != nil {
		return engine.Order{}, err
	}
	return engine.NewOrder(engine.OrderDraft{ID: cmd.OrderID, Reference: ref, UserID: cmd.UserID,
		Lines: lines, Now: cmd.Now, TTL: o.cfg.OrderTTL})
}

// reserveAll reserves every item's units, one product after the other in
// product-id order, and returns the order's lines. On a failure it gives
// back what was reserved and returns that item's error.
func (o *Orders) reserveAll(ctx context.Context, cmd engine.PlaceOrder) ([]engine.OrderLine, error) {
	items := slices.Clone(cmd.Items)
	slices.SortFunc(items, func(a, b engine.ItemRequest) int { return bytes.Compare(a.ProductID[:], b.ProductID[:]) })
	lines := make([]engine.OrderLine, 0, len(items))
	for _, it := range items {
		p, err := o.inv.Reserve(ctx, cmd.OrderID, it.ProductID, it.Quantity)
		if err != nil {
			o.unreserveAll(cmd.OrderID, lines)
			return nil, err
		}
		lines = append(lines, engine.OrderLine{Product: p, Quantity: it.Quantity})
	}
	return lines, nil
}

// unreserveAll gives back the reservations of an order's lines.
func (o *Orders) unreserveAll(orderID engine.ID, lines []engine.OrderLine) {
	for _, l := range lines {
		o.inv.Unreserve(orderID, l.Product.ID)
	}
}

// releaseAll returns an order's units of the given items to stock, with its
// own deadline (the caller's may be spent); what fails is left to the
// repair loop, which finds the holds by age.
func (o *Orders) releaseAll(orderID engine.ID, items []engine.ItemRequest) {
	ctx, cancel := context.WithTimeout(context.Background(), o.cfg.ReleaseTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for _, it := range items {
		wg.Go(func() {
			if err := o.inv.Release(ctx, orderID, it.ProductID); err != nil {
				o.log.Warn().Err(err).Str("order_id", orderID.String()).Str("product_id", it.ProductID.String()).
					Msg("release failed; the repair loop will retry it")
			}
		})
	}
	wg.Wait()
}

// Order returns one order or engine.ErrNotFound.
func (o *Orders) Order(ctx context.Context, id engine.ID) (engine.Order, error) {
	return o.store.Order(ctx, id)
}

// ListOrders returns one page of orders, newest first.
func (o *Orders) ListOrders(ctx context.Context, q engine.OrderQuery) ([]engine.Order, error) {
	return o.store.ListOrders(ctx, q)
}

// TransitionOrder moves an order along the state machine. A buyer may only
// move their own orders (anyone else's is engine.ErrNotFound). When the new
// status returns stock, the units go back through the SKU actors.
func (o *Orders) TransitionOrder(ctx context.Context, cmd engine.TransitionOrder) (engine.Order, error) {
	order, holds, err := o.store.TransitionOrder(ctx, cmd.OrderID, func(cur engine.Order) (engine.Order, error) {
		if cmd.By == engine.TriggerBuyer && cur.UserID != cmd.UserID {
			return engine.Order{}, fmt.Errorf("order %s: %w", cmd.OrderID, engine.ErrNotFound)
		}
		return cur.Transition(cmd.To, cmd.By, cmd.Reason, cmd.Now)
	})
	if err != nil {
		return engine.Order{}, err
	}
	o.cfg.Observer.OrderStatus(order)
	items := make([]engine.ItemRequest, len(holds))
	for i, h := range holds {
		items[i] = engine.ItemRequest{ProductID: h.ProductID, Quantity: h.Quantity}
	}
	o.releaseAll(cmd.OrderID, items)
	return order, nil
}

// Repair releases holds left behind once: assembling holds older than
// HoldTimeout (abandoned orders) and returning holds older than
// ReleaseTimeout (lost releases). It returns how many it released.
func (o *Orders) Repair(ctx context.Context, holds HoldStore, now time.Time) (int, error) {
	stale, err := holds.StaleHolds(ctx, now.Add(-o.cfg.HoldTimeout), now.Add(-o.cfg.ReleaseTimeout), repairBatchMax)
	if err != nil {
		return 0, fmt.Errorf("repair: %w", err)
	}
	var released int
	for _, h := range stale {
		if err := o.inv.Release(ctx, h.OrderID, h.ProductID); err != nil {
			return released, fmt.Errorf("repair: release order %s product %s: %w", h.OrderID, h.ProductID, err)
		}
		released++
	}
	return released, nil
}

// repairBatchMax bounds the holds one repair pass releases.
const repairBatchMax = 1000

// RunRepair runs Repair at once and then every RepairInterval until ctx
// ends: the automatic repair, after a crash, of orders interrupted between
// taking and writing or returning their units.
func (o *Orders) RunRepair(ctx context.Context, holds HoldStore) {
	t := time.NewTicker(o.cfg.RepairInterval)
	defer t.Stop()
	for {
		pass, cancel := context.WithTimeout(ctx, o.cfg.RepairInterval)
		n, err := o.Repair(pass, holds, time.Now())
		cancel()
		switch {
		case err != nil && ctx.Err() == nil:
			o.log.Warn().Err(err).Int("released", n).Msg("repair pass failed")
		case n > 0:
			o.log.Info().Int("released", n).Msg("repair released held units")
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
