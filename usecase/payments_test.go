package usecase_test

import (
	"context"
	"crypto/rand"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/flashstock/flashstock/engine"
	"github.com/flashstock/flashstock/usecase"
)

// Tests of applying payment events: validation, errors, and the release of
// a failed payment's units through Stock.

// fakePaymentStore calls ApplyPaymentFunc and counts the calls.
type fakePaymentStore struct {
	ApplyPaymentFunc func(ctx context.Context, ev engine.PaymentEvent) (engine.PaymentOutcome, engine.Order, []engine.Hold, error)
	calls            int // the tests call from one goroutine
}

func (s *fakePaymentStore) ApplyPayment(ctx context.Context, ev engine.PaymentEvent) (engine.PaymentOutcome, engine.Order, []engine.Hold, error) {
	s.calls++
	return s.ApplyPaymentFunc(ctx, ev)
}

// newPayments builds the payment applier over stock.
func newPayments(t *testing.T, stock *fakeStock, store usecase.PaymentStore, obs usecase.Observer) *usecase.Payments {
	t.Helper()
	p, err := usecase.NewPayments(stock, store, usecase.Config{Observer: obs}, zerolog.Nop())
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

// An invalid event is refused before the store sees it.
func TestApplyPaymentValidatesFirst(t *testing.T) {
	t.Parallel()
	store := &fakePaymentStore{}
	p := newPayments(t, &fakeStock{}, store, nil)
	ev := paymentEvent(t, engine.PaymentSucceeded)
	ev.Reference = ""
	if _, err := p.ApplyPayment(testCtx(t), ev); !errors.Is(err, engine.ErrInvalid) {
		t.Errorf("invalid event = %v, want ErrInvalid", err)
	}
	if store.calls != 0 {
		t.Errorf("store called %d times for an invalid event", store.calls)
	}
}

// The store's outcome and errors pass through, observed; without holds
// nothing is released.
func TestApplyPaymentPassesOutcomesAndErrors(t *testing.T) {
	t.Parallel()
	stock := &fakeStock{}
	obs := &recordingObserver{}
	order := engine.Order{ID: newID(t), Status: engine.StatusConfirmed}
	store := &fakePaymentStore{ApplyPaymentFunc: func(context.Context, engine.PaymentEvent) (engine.PaymentOutcome, engine.Order, []engine.Hold, error) {
		return engine.OutcomeApplied, order, nil, nil
	}}
	p := newPayments(t, stock, store, obs)
	if out, err := p.ApplyPayment(testCtx(t), paymentEvent(t, engine.PaymentSucceeded)); err != nil || out != engine.OutcomeApplied {
		t.Errorf("ApplyPayment = %s, %v; want applied", out, err)
	}
	if got := stock.called("Release"); len(got) != 0 {
		t.Errorf("released %v without holds", got)
	}
	if statuses, outcomes := obs.seen(); !slices.Equal(statuses, []engine.Status{engine.StatusConfirmed}) ||
		!slices.Equal(outcomes, []engine.PaymentOutcome{engine.OutcomeApplied}) {
		t.Errorf("observed statuses %v and outcomes %v, want the confirmed order once, applied", statuses, outcomes)
	}

	store.ApplyPaymentFunc = func(context.Context, engine.PaymentEvent) (engine.PaymentOutcome, engine.Order, []engine.Hold, error) {
		return "", engine.Order{}, nil, engine.ErrUnavailable
	}
	if _, err := p.ApplyPayment(testCtx(t), paymentEvent(t, engine.PaymentSucceeded)); !errors.Is(err, engine.ErrUnavailable) {
		t.Errorf("ApplyPayment with the store down = %v, want its error", err)
	}
}

// A failed payment's returning holds are released through Stock before
// ApplyPayment returns, one release per hold; a failed release is left to
// the repair loop.
func TestApplyPaymentReleasesReturnedHolds(t *testing.T) {
	t.Parallel()
	a, b := testProduct(t, 5), testProduct(t, 5)
	stock := &fakeStock{ReleaseFunc: func(_ context.Context, _, product engine.ID) error {
		if product == b.ID {
			return engine.ErrUnavailable
		}
		return nil
	}}
	order := engine.Order{ID: newID(t), Status: engine.StatusFailed}
	store := &fakePaymentStore{ApplyPaymentFunc: func(context.Context, engine.PaymentEvent) (engine.PaymentOutcome, engine.Order, []engine.Hold, error) {
		return engine.OutcomeApplied, order, []engine.Hold{
			{OrderID: order.ID, ProductID: a.ID, Quantity: 2, Kind: engine.HoldReturning, CreatedAt: time.Now()},
			{OrderID: order.ID, ProductID: b.ID, Quantity: 1, Kind: engine.HoldReturning, CreatedAt: time.Now()}}, nil
	}}
	p := newPayments(t, stock, store, nil)
	out, err := p.ApplyPayment(testCtx(t), paymentEvent(t, engine.PaymentDeclined))
	if err != nil || out != engine.OutcomeApplied {
		t.Fatalf("ApplyPayment = %s, %v; want applied", out, err)
	}
	released := map[engine.ID]engine.ID{}
	for _, c := range stock.called("Release") {
		released[c.product] = c.order
	}
	if len(released) != 2 || released[a.ID] != order.ID || released[b.ID] != order.ID || len(stock.called("Release")) != 2 {
		t.Errorf("releases %v, want the failed order %s once on each of its two products", stock.called("Release"), order.ID)
	}
}
