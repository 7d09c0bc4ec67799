package usecase_test

import (
	"context"
	"crypto/rand"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/flashstock/flashstock/engine"
	"github.com/flashstock/flashstock/usecase"
)

// Hand-written fakes of the use cases' ports: each method calls its
// XxxFunc field (unset: errNotScripted, or nothing for a method without
// an error), and fakeStock records every call in order.

var (
	_ usecase.Stock          = (*fakeStock)(nil)
	_ usecase.LiveProducts   = (*fakeLive)(nil)
	_ usecase.CatalogueStore = (*fakeCatalogueStore)(nil)
	_ usecase.OrderStore     = (*fakeOrderStore)(nil)
	_ usecase.HoldStore      = (*fakeHoldStore)(nil)
	_ usecase.PaymentStore   = (*fakePaymentStore)(nil)
	_ usecase.Observer       = (*recordingObserver)(nil)
)

var errNotScripted = errors.New("fake: call not scripted")

// stockCall is one call of fakeStock.
type stockCall struct {
	method   string // "PlaceOrder", "Reserve", "Unreserve", "CommitReserved", "Release", "UpdateProduct"
	order    engine.ID
	product  engine.ID // NilID for CommitReserved
	quantity int64     // Reserve only
}

// fakeStock is a Stock. Fields guarded by mu.
type fakeStock struct {
	PlaceOrderFunc     func(ctx context.Context, cmd engine.PlaceOrder) (engine.Order, error)
	ReserveFunc        func(ctx context.Context, orderID, productID engine.ID, quantity int64) (engine.Product, error)
	UnreserveFunc      func(orderID, productID engine.ID)
	CommitReservedFunc func(ctx context.Context, order engine.Order) (engine.Order, error)
	ReleaseFunc        func(ctx context.Context, orderID, productID engine.ID) error
	UpdateProductFunc  func(ctx context.Context, id engine.ID, change func(engine.Product) (engine.Product, error)) (engine.Product, error)

	mu    sync.Mutex
	calls []stockCall
}

func (s *fakeStock) record(c stockCall) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, c)
}

// called returns the calls of method, in order.
func (s *fakeStock) called(method string) []stockCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []stockCall
	for _, c := range s.calls {
		if c.method == method {
			out = append(out, c)
		}
	}
	return out
}

func (s *fakeStock) PlaceOrder(ctx context.Context, cmd engine.PlaceOrder) (engine.Order, error) {
	s.record(stockCall{method: "PlaceOrder", order: cmd.OrderID, product: cmd.Items[0].ProductID})
	if s.PlaceOrderFunc == nil {
		return engine.Order{}, errNotScripted
	}
	return s.PlaceOrderFunc(ctx, cmd)
}

func (s *fakeStock) Reserve(ctx context.Context, orderID, productID engine.ID, quantity int64) (engine.Product, error) {
	s.record(stockCall{method: "Reserve", order: orderID, product: productID, quantity: quantity})
	if s.ReserveFunc == nil {
		return engine.Product{}, errNotScripted
	}
	return s.ReserveFunc(ctx, orderID, productID, quantity)
}

func (s *fakeStock) Unreserve(orderID, productID engine.ID) {
	s.record(stockCall{method: "Unreserve", order: orderID, product: productID})
	if s.UnreserveFunc != nil {
		s.UnreserveFunc(orderID, productID)
	}
}

func (s *fakeStock) CommitReserved(ctx context.Context, order engine.Order) (engine.Order, error) {
	s.record(stockCall{method: "CommitReserved", order: order.ID})
	if s.CommitReservedFunc == nil {
		return engine.Order{}, errNotScripted
	}
	return s.CommitReservedFunc(ctx, order)
}

func (s *fakeStock) Release(ctx context.Context, orderID, productID engine.ID) error {
	s.record(stockCall{method: "Release", order: orderID, product: productID})
	if s.ReleaseFunc == nil {
		return errNotScripted
	}
	return s.ReleaseFunc(ctx, orderID, productID)
}

func (s *fakeStock) UpdateProduct(ctx context.Context, id engine.ID, change func(engine.Product) (engine.Product, error)) (engine.Product, error) {
	s.record(stockCall{method: "UpdateProduct", product: id})
	if s.UpdateProductFunc == nil {
		return engine.Product{}, errNotScripted
	}
	return s.UpdateProductFunc(ctx, id, change)
}

// fakeLive is a LiveProducts.
type fakeLive struct {
	ProductFunc           func(id engine.ID) (engine.Product, bool)
	StockEvictedSinceFunc func(t time.Time) bool
}

func (l *fakeLive) Product(id engine.ID) (engine.Product, bool) {
	if l.ProductFunc == nil {
		return engine.Product{}, false
	}
	return l.ProductFunc(id)
}

func (l *fakeLive) StockEvictedSince(t time.Time) bool {
	if l.StockEvictedSinceFunc == nil {
		return false
	}
	return l.StockEvictedSinceFunc(t)
}

// fakeCatalogueStore is a CatalogueStore.
type fakeCatalogueStore struct {
	CreateProductFunc func(ctx context.Context, p engine.Product) error
	ProductFunc       func(ctx context.Context, id engine.ID) (engine.Product, error)
	ListProductsFunc  func(ctx context.Context, after engine.ID, limit int) ([]engine.Product, error)
}

func (s *fakeCatalogueStore) CreateProduct(ctx context.Context, p engine.Product) error {
	if s.CreateProductFunc == nil {
		return errNotScripted
	}
	return s.CreateProductFunc(ctx, p)
}

func (s *fakeCatalogueStore) Product(ctx context.Context, id engine.ID) (engine.Product, error) {
	if s.ProductFunc == nil {
		return engine.Product{}, errNotScripted
	}
	return s.ProductFunc(ctx, id)
}

func (s *fakeCatalogueStore) ListProducts(ctx context.Context, after engine.ID, limit int) ([]engine.Product, error) {
	if s.ListProductsFunc == nil {
		return nil, errNotScripted
	}
	return s.ListProductsFunc(ctx, after, limit)
}

// fakeOrderStore is an OrderStore.
type fakeOrderStore struct {
	TransitionOrderFunc func(ctx context.Context, id engine.ID, change func(engine.Order) (engine.Order, error)) (engine.Order, []engine.Hold, error)
	OrderFunc           func(ctx context.Context, id engine.ID) (engine.Order, error)
	ListOrdersFunc      func(ctx context.Context, q engine.OrderQuery) ([]engine.Order, error)
}

func (s *fakeOrderStore) TransitionOrder(ctx context.Context, id engine.ID, change func(engine.Order) (engine.Order, error)) (engine.Order, []engine.Hold, error) {
	if s.TransitionOrderFunc == nil {
		return engine.Order{}, nil, errNotScripted
	}
	return s.TransitionOrderFunc(ctx, id, change)
}

func (s *fakeOrderStore) Order(ctx context.Context, id engine.ID) (engine.Order, error) {
	if s.OrderFunc == nil {
		return engine.Order{}, errNotScripted
	}
	return s.OrderFunc(ctx, id)
}

func (s *fakeOrderStore) ListOrders(ctx context.Context, q engine.OrderQuery) ([]engine.Order, error) {
	if s.ListOrdersFunc == nil {
		return nil, errNotScripted
	}
	return s.ListOrdersFunc(ctx, q)
}

// fakeHoldStore is a HoldStore.
type fakeHoldStore struct {
	StaleHoldsFunc func(ctx context.Context, assemblingBefore, returningBefore time.Time, max int) ([]engine.Hold, error)
}

func (s *fakeHoldStore) StaleHolds(ctx context.Context, assemblingBefore, returningBefore time.Time, max int) ([]engine.Hold, error) {
	if s.StaleHoldsFunc == nil {
		return nil, errNotScripted
	}
	return s.StaleHoldsFunc(ctx, assemblingBefore, returningBefore, max)
}

// recordingObserver records what it observes. Fields guarded by mu.
type recordingObserver struct {
	mu       sync.Mutex
	statuses []engine.Status
	outcomes []engine.PaymentOutcome
}

func (o *recordingObserver) OrderStatus(ord engine.Order) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.statuses = append(o.statuses, ord.Status)
}

func (o *recordingObserver) PaymentOutcome(out engine.PaymentOutcome) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.outcomes = append(o.outcomes, out)
}

func (o *recordingObserver) seen() ([]engine.Status, []engine.PaymentOutcome) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.statuses), slices.Clone(o.outcomes)
}

// testCtx is the deadline of one call in a test.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func newID(t *testing.T) engine.ID {
	t.Helper()
	id, err := engine.NewID(time.Now(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// testProduct is an active product with the given stock, at 1.00.
func testProduct(t *testing.T, stock int64) engine.Product {
	t.Helper()
	p, err := engine.NewProduct(engine.ProductDraft{SKU: "SKU-" + newID(t).String()[:8], Name: "Product", Price: 100, Stock: stock},
		newID(t), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return p
}
