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
// A single-product order is one message to its SKU actor, which writes the
// order, its item and the stock change in its group commit.
//
// A multi-product order is coordinated here, on the caller's goroutine (an
// order needs no state beyond its own call, so it needs no actor of its
// own; durable state lives in the database): each product's actor takes
// the units as an assembling hold, committed in its group commit, one
// product after the other in product-id order; then one transaction writes
// the order and consumes exactly those holds. A hold never waits (an actor
// answers from its ledger at once), so there is no deadlock; and the fixed
// order guarantees progress: only orders already holding A ever ask for B,
// so crossing orders (A+B, B+A) cannot all starve each other the way
// parallel holds can (each winning one product and losing the other). If a product is short, or the write fails, every hold taken
// is released through the one release path. A crash in between leaves
// assembling holds without an order: the repair loop releases them once
// they are older than HoldTimeout, and a late FinalizeOrder then fails
// because its holds are gone — so units are never lost nor sold twice.
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

// placeMulti holds every product, then writes the order.
func (o *Orders) placeMulti(ctx context.Context, cmd engine.PlaceOrder) (engine.Order, error) {
	if len(cmd.Items) == 0 {
		return engine.Order{}, engine.Invalid("items", "must not be empty")
	}
	lines, err := o.holdAll(ctx, cmd)
	if err != nil {
		return engine.Order{}, err
	}
	order, err := o.finalize(ctx, cmd, lines)
	if err != nil {
		o.releaseAll(cmd.OrderID, cmd.Items)
		return engine.Order{}, err
	}
	return order, nil
}

// holdAll takes every item's units, one product after the other in
// product-id order. On a failure it releases what was taken and returns
// that item's error.
func (o *Orders) holdAll(ctx context.Context, cmd engine.PlaceOrder) ([]engine.OrderLine, error) {
	items := slices.Clone(cmd.Items)
	slices.SortFunc(items, func(a, b engine.ItemRequest) int { return bytes.Compare(a.ProductID[:], b.ProductID[:]) })
	lines := make([]engine.OrderLine, 0, len(items))
	for i, it := range items {
		p, err := o.inv.Hold(ctx, cmd.OrderID, it.ProductID, it.Quantity, cmd.Now)
		if err != nil {
			taken := items[:i]
			if errors.Is(err, engine.ErrUnavailable) {
				// A hold whose caller timed out may still commit: release
				// it too (releasing nothing is a no-op).
				taken = items[:i+1]
			}
			o.releaseAll(cmd.OrderID, taken)
			return nil, err
		}
		lines = append(lines, engine.OrderLine{Product: p, Quantity: it.Quantity})
	}
	return lines, nil
}

// finalize builds the order from the held lines and writes it, retrying
// once with a new reference if the random one was taken.
func (o *Orders) finalize(ctx context.Context, cmd engine.PlaceOrder, lines []engine.OrderLine) (engine.Order, error) {
	for attempt := 0; ; attempt++ {
		ref, err := engine.NewReference(rand.Reader)
		if err != nil {
			return engine.Order{}, err
		}
		order, err := engine.NewOrder(engine.OrderDraft{ID: cmd.OrderID, Reference: ref, UserID: cmd.UserID,
			Lines: lines, Now: cmd.Now, TTL: o.cfg.OrderTTL})
		if err != nil {
			return engine.Order{}, err
		}
		err = o.store.FinalizeOrder(ctx, order)
		if err == nil {
			return order, nil
		}
		if !errors.Is(err, engine.ErrConflict) || attempt > 0 {
			return engine.Order{}, err
		}
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
