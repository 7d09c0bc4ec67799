package engine_test

import (
	"errors"
	"testing"
	"time"

	"github.com/flashstock/flashstock/engine"
)

func TestNewOrder(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	mk := func(id byte, price int64, currency string, active bool) engine.Product {
		p, err := engine.NewProduct(engine.ProductDraft{SKU: "S", Name: "N", Price: price, Currency: currency,
			Stock: 10, IsActive: &active}, engine.ID{id}, now)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	a, b := mk(2, 250, "EUR", true), mk(1, 1000, "EUR", true)
	draft := engine.OrderDraft{ID: engine.ID{9}, Reference: "ORD-0123456789AB", UserID: engine.ID{8},
		Lines: []engine.OrderLine{{Product: a, Quantity: 3}, {Product: b, Quantity: 1}}, Now: now, TTL: time.Minute}
	o, err := engine.NewOrder(draft)
	if err != nil {
		t.Fatal(err)
	}
	if o.Total != (engine.Money{Amount: 1750, Currency: "EUR"}) || o.Status != engine.StatusPending ||
		o.PaymentStatus != engine.PaymentPending || !o.ExpiresAt.Equal(now.Add(time.Minute)) {
		t.Errorf("order = %+v", o)
	}
	if o.Items[0].ProductID != b.ID || o.Items[1].Subtotal.Amount != 750 || o.Units(a.ID) != 3 {
		t.Errorf("items = %+v, want product-id order with snapshotted prices", o.Items)
	}
	bad := func(name string, change func(d *engine.OrderDraft)) {
		d := draft
		d.Lines = append([]engine.OrderLine(nil), draft.Lines...)
		change(&d)
		if _, err := engine.NewOrder(d); !errors.Is(err, engine.ErrInvalid) {
			t.Errorf("%s: NewOrder = %v, want ErrInvalid", name, err)
		}
	}
	bad("no lines", func(d *engine.OrderDraft) { d.Lines = nil })
	bad("no id", func(d *engine.OrderDraft) { d.ID = engine.NilID })
	bad("bad reference", func(d *engine.OrderDraft) { d.Reference = "ORD-xyz" })
	bad("two currencies", func(d *engine.OrderDraft) { d.Lines[1].Product = mk(1, 1000, "USD", true) })
	bad("inactive product", func(d *engine.OrderDraft) { d.Lines[0].Product = mk(2, 250, "EUR", false) })
	bad("zero quantity", func(d *engine.OrderDraft) { d.Lines[0].Quantity = 0 })
	bad("same product twice", func(d *engine.OrderDraft) { d.Lines[1].Product = a })
}
