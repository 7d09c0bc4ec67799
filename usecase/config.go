package usecase

import (
	"errors"
	"fmt"
	"time"

	"github.com/flashstock/flashstock/engine"
)

// Defaults for Config fields left zero.
const (
	HoldTimeoutDefault    = time.Minute
	RepairIntervalDefault = 10 * time.Second
	ReleaseTimeoutDefault = 5 * time.Second
)

// Config tunes the use cases. Zero fields take the defaults above.
type Config struct {
	// OrderTTL is how long a pending order waits for payment. The
	// coordinator makes multi-product orders with it; the SKU actors make
	// single-product ones with actors.Config.OrderTTL: cmd sets both from
	// one setting.
	OrderTTL time.Duration
	// HoldTimeout is the age after which an assembling hold is considered
	// abandoned and released by the repair loop, which runs every
	// RepairInterval. It must exceed the longest order placement.
	HoldTimeout    time.Duration
	RepairInterval time.Duration
	// ReleaseTimeout bounds returning stock after a transition or an
	// abandoned order (the repair loop finishes what it could not), and is
	// the age after which the repair loop retries a returning hold.
	ReleaseTimeout time.Duration
	// Observer receives order status changes and payment outcomes; nil =
	// NopObserver.
	Observer Observer
}

func (c Config) withDefaults() Config {
	orDefault(&c.OrderTTL, engine.OrderTTLDefault)
	orDefault(&c.HoldTimeout, HoldTimeoutDefault)
	orDefault(&c.RepairInterval, RepairIntervalDefault)
	orDefault(&c.ReleaseTimeout, ReleaseTimeoutDefault)
	orDefault(&c.Observer, Observer(NopObserver{}))
	return c
}

// orDefault sets a zero config field to its default.
func orDefault[T comparable](field *T, def T) {
	var zero T
	if *field == zero {
		*field = def
	}
}

// Validate reports every unusable field, after defaults are applied.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	for _, d := range []struct {
		name string
		d    time.Duration
	}{{"order ttl", c.OrderTTL}, {"hold timeout", c.HoldTimeout}, {"repair interval", c.RepairInterval},
		{"release timeout", c.ReleaseTimeout}} {
		if d.d <= 0 {
			errs = append(errs, fmt.Errorf("%s: must be positive", d.name))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("usecase config: %w", err)
	}
	return nil
}

// Observer receives what the use cases do, for metrics (internal/metrics
// implements it; cmd wires it). Its methods are called on request paths:
// they must be cheap, never block, and be safe for concurrent use.
type Observer interface {
	// OrderStatus: an order moved into o.Status after its creation.
	OrderStatus(o engine.Order)
	// PaymentOutcome: a payment webhook event was handled.
	PaymentOutcome(outcome engine.PaymentOutcome)
}

// NopObserver observes nothing.
type NopObserver struct{}

var _ Observer = NopObserver{}

// OrderStatus does nothing.
func (NopObserver) OrderStatus(engine.Order) {}

// PaymentOutcome does nothing.
func (NopObserver) PaymentOutcome(engine.PaymentOutcome) {}
