package actors

import (
	"context"
	"errors"

	"github.com/rs/zerolog"

	"github.com/flashstock/flashstock/engine"
)

// Payments applies payment webhook events; it satisfies httpd's Payments
// port. The store applies an event in one transaction (event stored, order
// moved, returning holds and the buyer's mail written); a failed payment's
// units then go back through the SKU actors, like a cancellation's, and the
// repair loop finishes any release that does not happen here.
type Payments struct {
	orders *Orders
	store  PaymentStore
	log    zerolog.Logger
}

// NewPayments builds the payment applier over the order coordinator.
func NewPayments(orders *Orders, store PaymentStore, log zerolog.Logger) (*Payments, error) {
	if orders == nil || store == nil {
		return nil, errors.New("actors: NewPayments needs the order coordinator and a store")
	}
	return &Payments{orders: orders, store: store, log: log}, nil
}

// ApplyPayment stores and applies ev exactly once and says what it did.
func (p *Payments) ApplyPayment(ctx context.Context, ev engine.PaymentEvent) (engine.PaymentOutcome, error) {
	if err := ev.Validate(); err != nil {
		return "", err
	}
	outcome, order, holds, err := p.store.ApplyPayment(ctx, ev)
	if err != nil {
		return "", err
	}
	obs := p.orders.cfg.Observer
	obs.PaymentOutcome(outcome)
	if outcome == engine.OutcomeApplied {
		obs.OrderStatus(order)
	}
	if len(holds) > 0 {
		items := make([]engine.ItemRequest, len(holds))
		for i, h := range holds {
			items[i] = engine.ItemRequest{ProductID: h.ProductID, Quantity: h.Quantity}
		}
		p.orders.releaseAll(order.ID, items)
	}
	if outcome == engine.OutcomeLatePayment {
		// Money arrived for an order that no longer holds its units: an
		// operator refunds or fulfils it by hand.
		p.log.Warn().Str("event_id", ev.EventID).Str("reference", ev.Reference).Str("order_id", order.ID.String()).
			Str("status", string(order.Status)).Int64("amount", ev.Amount).Msg("late payment recorded for an operator")
	}
	return outcome, nil
}
