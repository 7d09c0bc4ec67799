package engine_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"testing"

	"github.com/flashstock/flashstock/engine"
)

var referenceRE = regexp.MustCompile(`^ORD-[0-9A-F]{12}$`)

func TestNewReference(t *testing.T) {
	ref, err := engine.NewReference(bytes.NewReader([]byte{0x00, 0xff, 0x1a, 0x2b, 0xc3, 0xd4, 0x99}))
	if err != nil || ref != "ORD-00FF1A2BC3D4" {
		t.Fatalf("NewReference = %q, %v; want ORD-00FF1A2BC3D4", ref, err)
	}
	r := testRand(5)
	seen := make(map[string]bool)
	for range 1000 {
		ref, err := engine.NewReference(r)
		if err != nil || !referenceRE.MatchString(ref) {
			t.Fatalf("NewReference = %q, %v", ref, err)
		}
		if parsed, err := engine.ParseReference(ref); err != nil || parsed != ref {
			t.Fatalf("ParseReference(%q) = %q, %v", ref, parsed, err)
		}
		if seen[ref] {
			t.Fatalf("duplicate reference %s from 48 random bits", ref)
		}
		seen[ref] = true
	}
	for name, src := range map[string]io.Reader{"failing": failingReader{}, "short": bytes.NewReader(make([]byte, 5))} {
		if ref, err := engine.NewReference(src); err == nil || ref != "" {
			t.Errorf("%s reader: NewReference = %q, %v; want an error", name, ref, err)
		}
	}
}

func TestParseReferenceRejects(t *testing.T) {
	for _, s := range []string{
		"", "ORD-", "ORD-0123456789A", "ORD-0123456789ABC", "ord-0123456789AB", "ORD-0123456789ab",
		"ORD_0123456789AB", "XYZ-0123456789AB", "ORD-0123456789AG", " ORD-0123456789A", "ORD-0123456789A ",
		"ORD-0123-456789A", "0123456789ABCDEF", "ORD-０123456789", "ORD-+123456789AB", "ORD-\x00123456789AB",
	} {
		got, err := engine.ParseReference(s)
		if !errors.Is(err, engine.ErrInvalid) || got != "" {
			t.Errorf("ParseReference(%q) = %q, %v; want ErrInvalid", s, got, err)
			continue
		}
		if fs := fieldErrors(t, err); len(fs) != 1 || fs[0].Field != "reference" {
			t.Errorf("ParseReference(%q) fields = %v", s, fs)
		}
	}
}

func line(id byte, qty, price int64) engine.OrderItem {
	return engine.OrderItem{ProductID: engine.ID{id}, ProductName: fmt.Sprint("p", id), Quantity: qty,
		UnitPrice: usd(price), Subtotal: usd(qty * price)}
}

func TestOrderValidate(t *testing.T) {
	eur := func(n int64) engine.Money { return engine.Money{Amount: n, Currency: "EUR"} }
	tests := []struct {
		name  string
		items []engine.OrderItem
		total engine.Money
		field string // "" = valid
	}{
		{"one line", []engine.OrderItem{line(1, 2, 1999)}, usd(3998), ""},
		{"three lines", []engine.OrderItem{line(1, 2, 1999), line(2, 1, 1), line(3, 10_000, 0)}, usd(3999), ""},
		{"free order", []engine.OrderItem{line(1, 1, 0)}, usd(0), ""},
		{"largest line", []engine.OrderItem{line(1, engine.ItemQuantityMax, engine.PriceMax)}, usd(engine.ItemQuantityMax * engine.PriceMax), ""},
		{"no items", nil, usd(0), "items"},
		{"zero quantity", []engine.OrderItem{line(1, 0, 1999)}, usd(0), "items"},
		{"negative quantity", []engine.OrderItem{line(1, -1, 1999)}, usd(-1999), "items"},
		{"subtotal off by one", []engine.OrderItem{{ProductID: engine.ID{1}, Quantity: 2, UnitPrice: usd(5), Subtotal: usd(11)}}, usd(11), "items"},
		{"subtotal in another currency", []engine.OrderItem{{ProductID: engine.ID{1}, Quantity: 2, UnitPrice: usd(5), Subtotal: eur(10)}}, usd(10), "items"},
		{"negative price", []engine.OrderItem{line(1, 1, -5)}, usd(-5), "items"},
		{"line overflows", []engine.OrderItem{{ProductID: engine.ID{1}, Quantity: 2, UnitPrice: usd(1 << 62), Subtotal: usd(-1 << 63)}}, usd(-1 << 63), "items"},
		{"total overflows", []engine.OrderItem{line(1, 1, 1<<62), line(2, 1, 1<<62)}, usd(-1 << 63), "amount"},
		{"total too small", []engine.OrderItem{line(1, 2, 1999), line(2, 1, 1)}, usd(3998), "total"},
		{"total too big", []engine.OrderItem{line(1, 2, 1999)}, usd(3999), "total"},
		{"total in another currency", []engine.OrderItem{line(1, 2, 1999)}, eur(3998), "currency"},
		{"lines in two currencies", []engine.OrderItem{line(1, 1, 5), {ProductID: engine.ID{2}, Quantity: 1, UnitPrice: eur(5), Subtotal: eur(5)}}, usd(10), "currency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := sampleOrder(engine.StatusPending)
			o.Items, o.Total = tt.items, tt.total
			err := o.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v", err)
				}
				return
			}
			if fs := fieldErrors(t, err); len(fs) != 1 || fs[0].Field != tt.field {
				t.Errorf("fields = %v, want one for %s", fs, tt.field)
			}
		})
	}
}

func TestStockError(t *testing.T) {
	se := &engine.StockError{ProductID: engine.ID{0xab}, Available: 2, Requested: 5}
	want := "insufficient stock for product ab000000-0000-0000-0000-000000000000: 2 available, 5 requested"
	if se.Error() != want {
		t.Errorf("Error() = %q, want %q", se.Error(), want)
	}
	err := fmt.Errorf("place order: %w", se)
	if !errors.Is(err, engine.ErrInsufficientStock) {
		t.Error("wrapped StockError does not match ErrInsufficientStock")
	}
	var got *engine.StockError
	if !errors.As(err, &got) || *got != *se {
		t.Errorf("errors.As = %+v", got)
	}
	for _, other := range []error{engine.ErrInvalid, engine.ErrConflict, engine.ErrNotFound} {
		if errors.Is(err, other) {
			t.Errorf("StockError matches %v", other)
		}
	}
}

func TestLimits(t *testing.T) {
	if l := engine.DefaultLimits(); l != (engine.Limits{ItemsPerOrderMax: 100, ItemQuantityMax: 10_000}) || l.Validate() != nil {
		t.Errorf("DefaultLimits() = %+v, Validate %v", l, l.Validate())
	}
	if err := (engine.Limits{ItemsPerOrderMax: 1, ItemQuantityMax: 1}).Validate(); err != nil {
		t.Errorf("smallest limits: %v", err)
	}
	for _, tt := range []struct {
		l      engine.Limits
		fields []string
	}{
		{engine.Limits{ItemsPerOrderMax: 101, ItemQuantityMax: 1}, []string{"items_per_order_max"}},
		{engine.Limits{ItemsPerOrderMax: -1, ItemQuantityMax: 1}, []string{"items_per_order_max"}},
		{engine.Limits{ItemsPerOrderMax: 1, ItemQuantityMax: 10_001}, []string{"item_quantity_max"}},
		{engine.Limits{ItemsPerOrderMax: 1, ItemQuantityMax: -1}, []string{"item_quantity_max"}},
		{engine.Limits{ItemsPerOrderMax: 1000, ItemQuantityMax: 1 << 62}, []string{"items_per_order_max", "item_quantity_max"}},
	} {
		if got := fieldNames(fieldErrors(t, tt.l.Validate())); !slices.Equal(got, tt.fields) {
			t.Errorf("%+v: fields %v, want %v", tt.l, got, tt.fields)
		}
	}
}

func TestPageLimit(t *testing.T) {
	for in, want := range map[int]int{0: engine.PageLimitDefault, 1: 1, 20: 20, 100: 100} {
		if got, err := engine.PageLimit(in); err != nil || got != want {
			t.Errorf("PageLimit(%d) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []int{-1, 101, 1 << 40} {
		if got, err := engine.PageLimit(in); !errors.Is(err, engine.ErrInvalid) || got != 0 {
			t.Errorf("PageLimit(%d) = %d, %v; want ErrInvalid", in, got, err)
		}
	}
}

func req(id byte, qty int64) engine.ItemRequest {
	return engine.ItemRequest{ProductID: engine.ID{id}, Quantity: qty}
}

// distinct returns n requests for n different products, one unit each.
func distinct(n int) []engine.ItemRequest {
	items := make([]engine.ItemRequest, n)
	for i := range items {
		items[i] = engine.ItemRequest{ProductID: engine.ID{byte(i >> 8), byte(i), 1}, Quantity: 1}
	}
	return items
}

func TestMergeItems(t *testing.T) {
	def := engine.DefaultLimits()
	small := engine.Limits{ItemsPerOrderMax: 2, ItemQuantityMax: 5}
	tests := []struct {
		name   string
		items  []engine.ItemRequest
		limits engine.Limits
		want   []engine.ItemRequest
		field  string // "" = success
	}{
		{"one line", []engine.ItemRequest{req(1, 3)}, def, []engine.ItemRequest{req(1, 3)}, ""},
		{"distinct lines keep order", []engine.ItemRequest{req(3, 1), req(1, 2), req(2, 3)}, def,
			[]engine.ItemRequest{req(3, 1), req(1, 2), req(2, 3)}, ""},
		{"duplicates merged, first-seen order", []engine.ItemRequest{req(2, 1), req(1, 2), req(2, 3), req(3, 4), req(1, 5)}, def,
			[]engine.ItemRequest{req(2, 4), req(1, 7), req(3, 4)}, ""},
		{"largest quantity", []engine.ItemRequest{req(1, engine.ItemQuantityMax)}, def, []engine.ItemRequest{req(1, engine.ItemQuantityMax)}, ""},
		{"merged up to the limit", []engine.ItemRequest{req(1, 3), req(1, 2)}, small, []engine.ItemRequest{req(1, 5)}, ""},
		{"100 distinct products", distinct(100), def, distinct(100), ""},
		{"more lines than products", append(distinct(2), distinct(2)...), small,
			[]engine.ItemRequest{{ProductID: engine.ID{0, 0, 1}, Quantity: 2}, {ProductID: engine.ID{0, 1, 1}, Quantity: 2}}, ""},
		{"nil", nil, def, nil, "items"},
		{"empty", []engine.ItemRequest{}, def, nil, "items"},
		{"zero product id", []engine.ItemRequest{req(1, 1), {Quantity: 1}}, def, nil, "items[1].product_id"},
		{"zero quantity", []engine.ItemRequest{req(1, 0)}, def, nil, "items[0].quantity"},
		{"negative quantity", []engine.ItemRequest{req(1, 1), req(2, -1)}, def, nil, "items[1].quantity"},
		{"quantity above max", []engine.ItemRequest{req(1, engine.ItemQuantityMax+1)}, def, nil, "items[0].quantity"},
		{"quantity above custom max", []engine.ItemRequest{req(1, 6)}, small, nil, "items[0].quantity"},
		{"merged quantity above max", []engine.ItemRequest{req(1, 3), req(2, 1), req(1, 3)}, small, nil, "items[2].quantity"},
		{"merged quantity above hard max", []engine.ItemRequest{req(1, engine.ItemQuantityMax), req(1, 1)}, def, nil, "items[1].quantity"},
		{"101 distinct products", distinct(101), def, nil, "items"},
		{"3 distinct with a limit of 2", []engine.ItemRequest{req(1, 1), req(2, 1), req(3, 1)}, small, nil, "items"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			input := slices.Clone(tt.items)
			got, err := engine.MergeItems(tt.items, tt.limits)
			if !slices.Equal(tt.items, input) {
				t.Errorf("input changed to %v", tt.items)
			}
			if tt.field == "" {
				if err != nil || !slices.Equal(got, tt.want) {
					t.Fatalf("MergeItems = %v, %v; want %v", got, err, tt.want)
				}
				return
			}
			if got != nil {
				t.Errorf("result %v returned with an error", got)
			}
			if fs := fieldErrors(t, err); len(fs) != 1 || fs[0].Field != tt.field {
				t.Errorf("fields = %v, want one for %s", fs, tt.field)
			}
		})
	}
}

// TestMergeItemsLimitDefaults: Limits documents that zero fields take the hard
// maximum, and the hard maxima can never be raised.
func TestMergeItemsLimitDefaults(t *testing.T) {
	for _, l := range []engine.Limits{{}, {ItemsPerOrderMax: 1 << 30, ItemQuantityMax: 1 << 62}} {
		if got, err := engine.MergeItems(distinct(engine.ItemsPerOrderMax), l); err != nil || len(got) != engine.ItemsPerOrderMax {
			t.Errorf("%+v: 100 distinct = %d lines, %v", l, len(got), err)
		}
		if _, err := engine.MergeItems(distinct(engine.ItemsPerOrderMax+1), l); !errors.Is(err, engine.ErrInvalid) {
			t.Errorf("%+v: 101 distinct accepted: %v", l, err)
		}
		if got, err := engine.MergeItems([]engine.ItemRequest{req(1, engine.ItemQuantityMax)}, l); err != nil || got[0].Quantity != engine.ItemQuantityMax {
			t.Errorf("%+v: largest quantity = %v, %v", l, got, err)
		}
		if _, err := engine.MergeItems([]engine.ItemRequest{req(1, engine.ItemQuantityMax+1)}, l); !errors.Is(err, engine.ErrInvalid) {
			t.Errorf("%+v: quantity above the hard max accepted: %v", l, err)
		}
	}
	// Without the hard cap, two huge lines would wrap around to a negative total.
	huge := engine.Limits{ItemsPerOrderMax: 100, ItemQuantityMax: 1<<63 - 1}
	got, err := engine.MergeItems([]engine.ItemRequest{req(1, 1<<62), req(1, 1<<62)}, huge)
	if !errors.Is(err, engine.ErrInvalid) {
		t.Errorf("huge limits: MergeItems = %v, %v; want ErrInvalid", got, err)
	}
}
