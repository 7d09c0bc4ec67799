package usecase

import (
	"context"
	"errors"

	"github.com/rs/zerolog"

	"github.com/flashstock/flashstock/engine"
)

// Payments applies payment webhook events; it satisfies httpd's Payments
// port. The store applies an event in one transaction (event stored, order
// moved, returning holds and the buyer's mail written); a failed payment's
// units then go back through Stock, like a cancellation's, and the repair
// loop finishes any release that does not happen here.
type Payments struct {
	store   PaymentStore
	obs     Observer
	returns stockReturn
	log     zerolog.Logger
}

// NewPayments builds the payment applier; a failed payment's units go back
// through stock.
func NewPayments(stock Stock, store PaymentStore, cfg Config, log zerolog.Logger) (*Payments, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if stock == nil || store == nil {
		return nil, errors.New("usecase: NewPayments needs a stock and a store")
	}
	return &Payments{store: store, obs: cfg.Observer, log: log,
		returns: stockReturn{stock: stock, timeout: cfg.ReleaseTimeout, log: log}}, nil
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
	p.obs.PaymentOutcome(outcome)
	if outcome == engine.OutcomeApplied {
		p.obs.OrderStatus(order)
	}
	p.returns.release(order.ID, holds)
	if outcome == engine.OutcomeLatePayment {
		// Money arrived for an order that no longer holds its units: an
		// operator refunds or fulfils it by hand.
		p.log.Warn().Str("event_id", ev.EventID).Str("reference", ev.Reference).Str("order_id", order.ID.String()).
			Str("status", string(order.Status)).Int64("amount", ev.Amount).Msg("late payment recorded for an operator")
	}
	return outcome, nil
}
