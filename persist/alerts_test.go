package persist_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/flashstock/flashstock/engine"
)

func TestRecordLowStock(t *testing.T) {
	t.Parallel()
	s, url := newStore(t)
	conn, ctx := rawConn(t, url), t.Context()
	t0 := now()
	low, plenty := createProduct(t, s, "LOW", 5, true), createProduct(t, s, "PLENTY", 50, true)
	createProduct(t, s, "IDLE", 3, false) // inactive: never alerted
	setStock := func(p engine.Product, stock int64) {
		t.Helper()
		if _, err := conn.Exec(ctx, "UPDATE products SET stock = $2 WHERE id = $1", [16]byte(p.ID), stock); err != nil {
			t.Fatal(err)
		}
	}
	record := func(at time.Time, admin string, wantSKUs []string, wantForgotten int) {
		t.Helper()
		alerted, forgotten, err := s.RecordLowStock(ctx, at, admin, 100)
		skus := []string{}
		for _, p := range alerted {
			skus = append(skus, p.SKU)
		}
		if err != nil || !reflect.DeepEqual(skus, wantSKUs) || forgotten != wantForgotten {
			t.Fatalf("RecordLowStock = %v, %d, %v; want %v, %d", skus, forgotten, err, wantSKUs, wantForgotten)
		}
	}
	lowMails := func() []string {
		t.Helper()
		var keys []string
		for _, m := range outboxRows(t, conn) {
			if m.Kind == string(engine.MailLowStock) && m.To == "admin@example.com" {
				keys = append(keys, m.Key)
			}
		}
		return keys
	}

	record(t0, "admin@example.com", []string{"LOW"}, 0)
	low.Stock = 5
	if got, want := lowMails(), []string{engine.LowStockMail(low, t0, "").Key}; !reflect.DeepEqual(got, want) {
		t.Errorf("low-stock mails = %v, want %v", got, want)
	}
	record(t0.Add(time.Minute), "admin@example.com", []string{}, 0) // once per crossing
	setStock(low, 50)
	record(t0.Add(2*time.Minute), "admin@example.com", []string{}, 1) // back above: re-armed
	setStock(low, 2)
	record(t0.Add(3*time.Minute), "admin@example.com", []string{"LOW"}, 0) // crossed again
	if got := lowMails(); len(got) != 2 {
		t.Errorf("low-stock mails = %v, want one per crossing", got)
	}
	setStock(plenty, 1)
	record(t0.Add(4*time.Minute), "", []string{"PLENTY"}, 0) // recorded without an address, no mail
	if got := lowMails(); len(got) != 2 {
		t.Errorf("low-stock mails = %v, want none added without an address", got)
	}
	var stock, threshold int64
	if err := conn.QueryRow(ctx, "SELECT stock, threshold FROM low_stock_alerts WHERE product_id = $1",
		[16]byte(plenty.ID)).Scan(&stock, &threshold); err != nil || stock != 1 || threshold != 10 {
		t.Errorf("alert row = %d, %d, %v", stock, threshold, err)
	}
	if g, err := s.Gauges(ctx); err != nil || g.LowStockProducts != 2 {
		t.Errorf("Gauges = %+v, %v; want 2 low-stock products", g, err)
	}
	if _, _, err := s.RecordLowStock(ctx, t0, "", 0); !errors.Is(err, engine.ErrInvalid) {
		t.Errorf("max 0 = %v, want ErrInvalid", err)
	}
}

func TestExpiredOrders(t *testing.T) {
	t.Parallel()
	s, url := newStore(t)
	conn, ctx := rawConn(t, url), t.Context()
	t0 := now()
	user := orderUser(t, s, "buyer")
	p := createProduct(t, s, "HOT", 10, true)
	var orders []engine.Order
	for _, expires := range []time.Duration{-time.Minute, -3 * time.Minute, time.Minute, -5 * time.Minute} {
		o := placeOrder(t, s, user, engine.OrderLine{Product: p, Quantity: 1})
		if _, err := conn.Exec(ctx, "UPDATE orders SET expires_at = $2 WHERE id = $1", [16]byte(o.ID), t0.Add(expires)); err != nil {
			t.Fatal(err)
		}
		orders = append(orders, o)
	}
	// The one past its deadline longest is cancelled already.
	if _, err := conn.Exec(ctx, "UPDATE orders SET status = 'cancelled' WHERE id = $1", [16]byte(orders[3].ID)); err != nil {
		t.Fatal(err)
	}
	if ids, err := s.ExpiredOrders(ctx, t0, 10); err != nil || !reflect.DeepEqual(ids, []engine.ID{orders[1].ID, orders[0].ID}) {
		t.Errorf("ExpiredOrders = %v, %v; want the two pending ones past due, oldest first", ids, err)
	}
	if ids, err := s.ExpiredOrders(ctx, t0, 1); err != nil || !reflect.DeepEqual(ids, []engine.ID{orders[1].ID}) {
		t.Errorf("ExpiredOrders(max 1) = %v, %v", ids, err)
	}
	if g, err := s.Gauges(ctx); err != nil || g.PendingOrders != 3 {
		t.Errorf("Gauges = %+v, %v; want 3 pending orders", g, err)
	}
	if _, err := s.ExpiredOrders(ctx, t0, 0); !errors.Is(err, engine.ErrInvalid) {
		t.Errorf("max 0 = %v, want ErrInvalid", err)
	}
}
