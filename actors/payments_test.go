package actors_test

import (
	"context"
	"crypto/rand"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/flashstock/flashstock/actors"
	"github.com/flashstock/flashstock/engine"
)

// Tests of applying payment events: validation, errors, and the release of
// a failed payment's units through the SKU actors.

var (
	_ actors.PaymentStore = (*fakePaymentStore)(nil)
	_ actors.OrderStore   = unusedOrderStore{}
)

// fakePaymentStore calls ApplyPaymentFunc and counts the calls.
type fakePaymentStore struct {
	ApplyPaymentFunc func(ctx context.Context, ev engine.PaymentEvent) (engine.PaymentOutcome, engine.Order, []engine.Hold, error)
	calls            int // the tests call from one goroutine
}

func (s *fakePaymentStore) ApplyPayment(ctx context.Context, ev engine.PaymentEvent) (engine.PaymentOutcome, engine.Order, []engine.Hold, error) {
	s.calls++
	return s.ApplyPaymentFunc(ctx, ev)
}

// unusedOrderStore is the order coordinator's store where payments need
// none of it.
type unusedOrderStore struct{}

func (unusedOrderStore) TransitionOrder(context.Context, engine.ID, func(engine.Order) (engine.Order, error)) (engine.Order, []engine.Hold, error) {
	return engine.Order{}, nil, errNotScripted
}
func (unusedOrderStore) Order(context.Context, engine.ID) (engine.Order, error) {
	return engine.Order{}, errNotScripted
}
func (unusedOrderStore) ListOrders(context.Context, engine.OrderQuery) ([]engine.Order, error) {
	return nil, errNotScripted
}

// newPayments builds the payment applier over an inventory of product p
// kept in skus.
func newPayments(t *testing.T, skus *gatedStore, store actors.PaymentStore) *actors.Payments {
	t.Helper()
	orders, err := actors.NewOrders(newInventory(t, skus, actors.Config{}), unusedOrderStore{}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	p, err := actors.NewPayments(orders, store, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func paymentEvent(t *testing.T, result engine.PaymentResult) engine.PaymentEvent {
	t.Helper()
	ref, err := engine.NewReference(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return engine.PaymentEvent{EventID: "evt_1", Reference: ref, Result: result, Amount: 100, WebhookID: "msg_1",
		Body: []byte(`{}`), ReceivedAt: time.Now()}
}

// releases returns the orders released by the SKU store's commits.
func releases(s *gatedStore) []engine.ID {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []engine.ID
	for _, c := range s.commits {
		for _, r := range c.Releases {
			ids = append(ids, r.OrderID)
		}
	}
	return ids
}

// An invalid event is refused before the store sees it.
func TestApplyPaymentValidatesFirst(t *testing.T) {
	t.Parallel()
	store := &fakePaymentStore{}
	p := newPayments(t, &gatedStore{product: testProduct(t, 5)}, store)
	ev := paymentEvent(t, engine.PaymentSucceeded)
	ev.Reference = ""
	if _, err := p.ApplyPayment(testCtx(t), ev); !errors.Is(err, engine.ErrInvalid) {
		t.Errorf("invalid event = %v, want ErrInvalid", err)
	}
	if store.calls != 0 {
		t.Errorf("store called %d times for an invalid event", store.calls)
	}
}

// The store's outcome and errors pass through; without holds nothing is
// released.
func TestApplyPaymentPassesOutcomesAndErrors(t *testing.T) {
	t.Parallel()
	skus := &gatedStore{product: testProduct(t, 5)}
	order := engine.Order{ID: newID(t), Status: engine.StatusConfirmed}
	store := &fakePaymentStore{ApplyPaymentFunc: func(context.Context, engine.PaymentEvent) (engine.PaymentOutcome, engine.Order, []engine.Hold, error) {
		return engine.OutcomeApplied, order, nil, nil
	}}
	p := newPayments(t, skus, store)
	if out, err := p.ApplyPayment(testCtx(t), paymentEvent(t, engine.PaymentSucceeded)); err != nil || out != engine.OutcomeApplied {
		t.Errorf("ApplyPayment = %s, %v; want applied", out, err)
	}
	if got := releases(skus); len(got) != 0 {
		t.Errorf("released %v without holds", got)
	}

	store.ApplyPaymentFunc = func(context.Context, engine.PaymentEvent) (engine.PaymentOutcome, engine.Order, []engine.Hold, error) {
		return "", engine.Order{}, nil, engine.ErrUnavailable
	}
	if _, err := p.ApplyPayment(testCtx(t), paymentEvent(t, engine.PaymentSucceeded)); !errors.Is(err, engine.ErrUnavailable) {
		t.Errorf("ApplyPayment with the store down = %v, want its error", err)
	}
}

// A failed payment's returning holds are released through the SKU actor
// before ApplyPayment returns.
func TestApplyPaymentReleasesReturnedHolds(t *testing.T) {
	t.Parallel()
	product := testProduct(t, 5)
	skus := &gatedStore{product: product}
	order := engine.Order{ID: newID(t), Status: engine.StatusFailed}
	store := &fakePaymentStore{ApplyPaymentFunc: func(context.Context, engine.PaymentEvent) (engine.PaymentOutcome, engine.Order, []engine.Hold, error) {
		return engine.OutcomeApplied, order, []engine.Hold{{OrderID: order.ID, ProductID: product.ID, Quantity: 2,
			Kind: engine.HoldReturning, CreatedAt: time.Now()}}, nil
	}}
	p := newPayments(t, skus, store)
	out, err := p.ApplyPayment(testCtx(t), paymentEvent(t, engine.PaymentDeclined))
	if err != nil || out != engine.OutcomeApplied {
		t.Fatalf("ApplyPayment = %s, %v; want applied", out, err)
	}
	if got := releases(skus); !slices.Equal(got, []engine.ID{order.ID}) {
		t.Errorf("released orders %v, want the failed order %s once", got, order.ID)
	}
}
