package bench

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/flashstock/flashstock/engine"
	"github.com/flashstock/flashstock/persist"
)

// fakeAuditor is a hand-written Auditor whose answers a test sets.
type fakeAuditor struct {
	AuditStockFunc         func(ids []engine.ID) ([]persist.StockAudit, error)
	OrdersForProductsFunc  func(ids []engine.ID) (int64, error)
	ExistingOrdersFunc     func(ids []engine.ID) (int64, error)
	OrdersWithoutItemsFunc func(since time.Time) (int64, error)
}

var _ Auditor = (*fakeAuditor)(nil)

func (f *fakeAuditor) AuditStock(_ context.Context, ids []engine.ID) ([]persist.StockAudit, error) {
	return f.AuditStockFunc(ids)
}

func (f *fakeAuditor) OrdersForProducts(_ context.Context, ids []engine.ID) (int64, error) {
	return f.OrdersForProductsFunc(ids)
}

func (f *fakeAuditor) ExistingOrders(_ context.Context, ids []engine.ID) (int64, error) {
	return f.ExistingOrdersFunc(ids)
}

func (f *fakeAuditor) OrdersWithoutItems(_ context.Context, since time.Time) (int64, error) {
	return f.OrdersWithoutItemsFunc(since)
}

const (
	productA = "0196b3c4-0000-7000-8000-00000000000a"
	orderOne = "0196b3c4-0000-7000-8000-000000000001"
	orderTwo = "0196b3c4-0000-7000-8000-000000000002"
)

// honest answers like a database that matches a run which sold 2 of 10
// units in the two orders answered 201.
func honest() *fakeAuditor {
	a, _ := engine.ParseID(productA)
	return &fakeAuditor{
		AuditStockFunc: func([]engine.ID) ([]persist.StockAudit, error) {
			return []persist.StockAudit{{ProductID: a, Stock: 8, Sold: 2, Orders: 2}}, nil
		},
		OrdersForProductsFunc:  func([]engine.ID) (int64, error) { return 2, nil },
		ExistingOrdersFunc:     func(ids []engine.ID) (int64, error) { return int64(len(ids)), nil },
		OrdersWithoutItemsFunc: func(time.Time) (int64, error) { return 0, nil },
	}
}

func TestAudit(t *testing.T) {
	a, _ := engine.ParseID(productA)
	x := expectation{products: []Product{{ID: productA, Stock: 10}}, orderIDs: []string{orderOne, orderTwo}}
	tests := []struct {
		name   string
		break_ func(f *fakeAuditor, x *expectation)
		want   string // in a problem; "" = the audit passes
	}{
		{"honest", func(*fakeAuditor, *expectation) {}, ""},
		{"oversold", func(f *fakeAuditor, _ *expectation) {
			f.AuditStockFunc = func([]engine.ID) ([]persist.StockAudit, error) {
				return []persist.StockAudit{{ProductID: a, Stock: 8, Sold: 3}}, nil
			}
		}, "!= initial 10"},
		{"lost order", func(f *fakeAuditor, _ *expectation) {
			f.OrdersForProductsFunc = func([]engine.ID) (int64, error) { return 1, nil }
		}, "2 orders answered 201, 1 stored"},
		{"answered id missing", func(f *fakeAuditor, _ *expectation) {
			f.ExistingOrdersFunc = func(ids []engine.ID) (int64, error) { return int64(len(ids)) - 1, nil }
		}, "1 of 2 answered order ids are not stored"},
		{"id answered twice", func(_ *fakeAuditor, x *expectation) {
			x.orderIDs = []string{orderOne, orderOne}
		}, "answered twice"},
		{"no id", func(_ *fakeAuditor, x *expectation) { x.orderIDs = []string{orderOne, ""} }, "no valid order id"},
		{"empty order", func(f *fakeAuditor, _ *expectation) {
			f.OrdersWithoutItemsFunc = func(time.Time) (int64, error) { return 1, nil }
		}, "1 orders without items"},
		{"negative stock", func(f *fakeAuditor, _ *expectation) {
			f.AuditStockFunc = func([]engine.ID) ([]persist.StockAudit, error) {
				return []persist.StockAudit{{ProductID: a, Stock: -1, Sold: 11}}, nil
			}
		}, "negative stock"},
		{"product gone", func(f *fakeAuditor, _ *expectation) {
			f.AuditStockFunc = func([]engine.ID) ([]persist.StockAudit, error) { return nil, nil }
		}, "1 products created, 0 found"},
		{"not sold out", func(_ *fakeAuditor, x *expectation) { x.soldOut = true }, "sell-out of 10 ended with 2 sold"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, x := honest(), x
			tt.break_(f, &x)
			res, err := audit(context.Background(), f, x)
			if err != nil {
				t.Fatal(err)
			}
			if !res.Checked || res.OK != (tt.want == "") {
				t.Fatalf("checked %v ok %v, problems %q", res.Checked, res.OK, res.Problems)
			}
			if tt.want != "" && !strings.Contains(strings.Join(res.Problems, "\n"), tt.want) {
				t.Fatalf("problems %q do not mention %q", res.Problems, tt.want)
			}
		})
	}
}

// TestAuditWaitsForHolds: units held just after a run are returned by the
// server shortly after; the audit reads again until they are.
func TestAuditWaitsForHolds(t *testing.T) {
	a, _ := engine.ParseID(productA)
	f, reads := honest(), 0
	f.AuditStockFunc = func([]engine.ID) ([]persist.StockAudit, error) {
		reads++
		if reads < 3 {
			return []persist.StockAudit{{ProductID: a, Stock: 7, Sold: 2, Held: 1}}, nil
		}
		return []persist.StockAudit{{ProductID: a, Stock: 8, Sold: 2}}, nil
	}
	x := expectation{products: []Product{{ID: productA, Stock: 10}}, orderIDs: []string{orderOne, orderTwo}}
	res, err := audit(context.Background(), f, x)
	if err != nil || !res.OK || reads != 3 {
		t.Fatalf("ok %v after %d reads (err %v, problems %q); want ok after 3", res.OK, reads, err, res.Problems)
	}
}
