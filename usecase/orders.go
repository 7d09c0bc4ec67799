package usecase

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

// Orders coordinates orders over Stock; it satisfies httpd's Orders port
// and the expiry task's OrderTransitioner.
//
// A single-product order is one call: the product's writer decides and
// commits it with the rest of its work.
//
// A multi-product order is coordinated here, on the caller's goroutine (an
// order needs no state beyond its own call; durable state lives in the
// database): each product's units are reserved, one product after the
// other in product-id order; then the order, its items and every
// product's stock change are committed as one (CommitReserved: one
// transaction). A reservation never waits (it is answered from memory at
// once), so there is no deadlock; and the fixed order guarantees progress:
// only orders already holding A ever ask for B, so crossing orders (A+B,
// B+A) cannot all starve each other the way parallel reservations can
// (each winning one product and losing the other). If a product is short,
// every reservation taken is given back and nothing was written; once the
// order is handed to CommitReserved, the reservations are settled with the
// order's fate there, not from here, so a caller that gives up leaves
// nothing behind.
//
// A transition that returns stock (cancel, expiry, failed payment) writes
// returning holds in the same transaction as the status change; Stock
// releases them right after, and the repair loop retries any release that
// did not happen.
type Orders struct {
	stock   Stock
	store   OrderStore
	cfg     Config
	returns stockReturn
	log     zerolog.Logger
}

// NewOrders builds the coordinator over stock.
func NewOrders(stock Stock, store OrderStore, cfg Config, log zerolog.Logger) (*Orders, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if stock == nil || store == nil {
		return nil, errors.New("usecase: NewOrders needs a stock and a store")
	}
	return &Orders{stock: stock, store: store, cfg: cfg, log: log,
		returns: stockReturn{stock: stock, timeout: cfg.ReleaseTimeout, log: log}}, nil
}

// PlaceOrder creates a pending order, all-or-nothing; see Orders.
func (o *Orders) PlaceOrder(ctx context.Context, cmd engine.PlaceOrder) (engine.Order, error) {
	var order engine.Order
	var err error
	if len(cmd.Items) == 1 {
		order, err = o.stock.PlaceOrder(ctx, cmd)
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
	// From here the reservations are Stock's to settle or give back.
	return o.stock.CommitReserved(ctx, order)
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
		p, err := o.stock.Reserve(ctx, cmd.OrderID, it.ProductID, it.Quantity)
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
		o.stock.Unreserve(orderID, l.Product.ID)
	}
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
// status returns stock, the units go back through Stock.
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
	o.returns.release(cmd.OrderID, holds)
	return order, nil
}

// stockReturn gives the units of an order's returning holds back to stock;
// what fails is left to the repair loop, which finds the holds by age.
type stockReturn struct {
	stock   Stock
	timeout time.Duration // the releases' own deadline (the caller's may be spent)
	log     zerolog.Logger
}

// release returns the units of holds, the order's returning holds, one
// release per product at once, and waits for them.
func (r stockReturn) release(orderID engine.ID, holds []engine.Hold) {
	if len(holds) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
	defer cancel()
	var wg sync.WaitGroup
	for _, h := range holds {
		wg.Go(func() {
			if err := r.stock.Release(ctx, orderID, h.ProductID); err != nil {
				r.log.Warn().Err(err).Str("order_id", orderID.String()).Str("product_id", h.ProductID.String()).
					Msg("release failed; the repair loop will retry it")
			}
		})
	}
	wg.Wait()
}
