package persist_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/flashstock/flashstock/engine"
	"github.com/flashstock/flashstock/persist"
)

// orderAt stores an order of one line created at `at` (its id made then),
// paid or pending.
func orderAt(t *testing.T, s *persist.Store, user engine.ID, at time.Time, p engine.Product, quantity int64, paid bool) {
	t.Helper()
	id, err := engine.NewID(at, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := engine.NewReference(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	o, err := engine.NewOrder(engine.OrderDraft{ID: id, Reference: ref, UserID: user,
		Lines: []engine.OrderLine{{Product: p, Quantity: quantity}}, Now: at, TTL: engine.OrderTTLDefault})
	if err != nil {
		t.Fatal(err)
	}
	if paid {
		if o, err = o.Transition(engine.StatusConfirmed, engine.TriggerPayment, "", at); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.CommitStock(t.Context(), engine.StockCommit{Orders: []engine.Order{o}}); err != nil {
		t.Fatal(err)
	}
}

func TestSalesReport(t *testing.T) {
	t.Parallel()
	s, url := newStore(t)
	conn, ctx := rawConn(t, url), t.Context()
	user := orderUser(t, s, "buyer")
	day := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	a, b, d := createProduct(t, s, "A", 100, true), createProduct(t, s, "B", 100, true), createProduct(t, s, "D", 100, true)
	e, gone := createProduct(t, s, "E", 100, true), createProduct(t, s, "GONE", 100, true)
	usd, err := engine.NewProduct(engine.ProductDraft{SKU: "C", Name: "Product C", Price: 999, Currency: "USD", Stock: 100}, newID(t), now())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateProduct(ctx, usd); err != nil {
		t.Fatal(err)
	}

	orderAt(t, s, user, day.Add(-time.Millisecond), a, 9, true) // the day before
	orderAt(t, s, user, day, a, 2, true)
	orderAt(t, s, user, day.Add(time.Hour), a, 1, true)
	orderAt(t, s, user, day.Add(2*time.Hour), b, 4, true)
	orderAt(t, s, user, day.Add(3*time.Hour), d, 3, true)
	orderAt(t, s, user, day.Add(4*time.Hour), usd, 1, true)
	orderAt(t, s, user, day.Add(5*time.Hour), a, 7, false) // not paid
	orderAt(t, s, user, day.Add(6*time.Hour), e, 1, true)
	orderAt(t, s, user, day.Add(24*time.Hour-time.Millisecond), gone, 1, true) // the day's last millisecond
	orderAt(t, s, user, day.Add(24*time.Hour), b, 9, true)                     // the day after
	// A product removed after the sale is reported with the item's name.
	if _, err := conn.Exec(ctx, "DELETE FROM products WHERE id = $1", [16]byte(gone.ID)); err != nil {
		t.Fatal(err)
	}

	got, err := s.SalesReport(ctx, day)
	if err != nil {
		t.Fatalf("SalesReport: %v", err)
	}
	eur := func(n int64) engine.Money { return engine.Money{Amount: n, Currency: "EUR"} }
	sales := func(p engine.Product, sku string, units int64) engine.ProductSales {
		return engine.ProductSales{ProductID: p.ID, SKU: sku, Name: p.Name, Units: units,
			Revenue: engine.Money{Amount: units * p.Price.Amount, Currency: p.Price.Currency}}
	}
	// B sold 4, A and D 3 each (by id), then C, E and GONE 1 each (by id): five listed.
	top := []engine.ProductSales{sales(b, "B", 4), sales(a, "A", 3), sales(d, "D", 3)}
	if bytes.Compare(d.ID[:], a.ID[:]) < 0 {
		top[1], top[2] = top[2], top[1]
	}
	ones := []engine.ProductSales{sales(usd, "C", 1), sales(e, "E", 1), sales(gone, "", 1)}
	for i := range ones {
		for j := i + 1; j < len(ones); j++ {
			if bytes.Compare(ones[j].ProductID[:], ones[i].ProductID[:]) < 0 {
				ones[i], ones[j] = ones[j], ones[i]
			}
		}
	}
	top = append(top, ones[:2]...)
	want := engine.SalesReport{Day: day, Orders: 8, PaidOrders: 7,
		Revenue:     []engine.Money{eur(1250 * (2 + 1 + 4 + 3 + 1 + 1)), {Amount: 999, Currency: "USD"}},
		TopProducts: top}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("SalesReport =\n%+v\nwant\n%+v", got, want)
	}

	empty, err := s.SalesReport(ctx, day.Add(-48*time.Hour))
	if err != nil || empty.Orders != 0 || len(empty.Revenue) != 0 || len(empty.TopProducts) != 0 {
		t.Errorf("report of an empty day = %+v, %v", empty, err)
	}
	if _, err := s.SalesReport(ctx, day.Add(time.Hour)); !errors.Is(err, engine.ErrInvalid) {
		t.Errorf("report not at midnight = %v, want ErrInvalid", err)
	}
}

func TestSaveSalesReport(t *testing.T) {
	t.Parallel()
	s, url := newStore(t)
	conn, ctx := rawConn(t, url), t.Context()
	day := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	pid := newID(t)
	r := engine.SalesReport{Day: day, Orders: 3, PaidOrders: 2, Revenue: []engine.Money{{Amount: 2500, Currency: "EUR"}},
		TopProducts: []engine.ProductSales{{ProductID: pid, SKU: "A", Name: "Product A", Units: 2,
			Revenue: engine.Money{Amount: 2500, Currency: "EUR"}}}}
	m := engine.ReportMail(r, "admin@example.com")
	if err := s.SaveSalesReport(ctx, r, m, now()); err != nil {
		t.Fatalf("SaveSalesReport: %v", err)
	}
	r.Orders = 4
	if err := s.SaveSalesReport(ctx, r, m, now()); err != nil {
		t.Fatalf("SaveSalesReport again: %v", err)
	}
	var n, orders int64
	var revenue, top string
	if err := conn.QueryRow(ctx, "SELECT count(*) OVER (), orders, revenue::text, top_products::text FROM sales_reports WHERE day = '2026-03-10'").
		Scan(&n, &orders, &revenue, &top); err != nil || n != 1 || orders != 4 {
		t.Fatalf("stored report = %d rows, %d orders, %v", n, orders, err)
	}
	wantTop := `[{"sku": "A", "name": "Product A", "units": 2, "revenue": {"amount": 2500, "currency": "EUR"}, "product_id": "` + pid.String() + `"}]`
	if revenue != `[{"amount": 2500, "currency": "EUR"}]` || top != wantTop {
		t.Errorf("stored JSON = %s, %s", revenue, top)
	}
	if got := outboxRows(t, conn); len(got) != 1 || got[0].Key != "daily_report:2026-03-10" {
		t.Errorf("outbox = %+v, want the report mail once", got)
	}
	if err := s.SaveSalesReport(ctx, r, engine.Mail{}, now()); !errors.Is(err, engine.ErrInvalid) {
		t.Errorf("SaveSalesReport(invalid mail) = %v, want ErrInvalid", err)
	}
}
