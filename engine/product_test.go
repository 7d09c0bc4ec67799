package engine_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flashstock/flashstock/engine"
)

var (
	productID = engine.ID{0x01, 0x92, 0, 0, 0, 0, 0x70, 0, 0x80, 0, 0, 0, 0, 0, 0, 1}
	created   = time.Date(2025, 5, 1, 9, 0, 0, 0, time.UTC)
	later     = created.Add(time.Hour)
)

func ptr[T any](v T) *T { return &v }

func validDraft() engine.ProductDraft {
	return engine.ProductDraft{SKU: "TSHIRT-RED.L_1", Name: "Red T-shirt, L", Price: 1999, Stock: 50}
}

func validProduct(t *testing.T) engine.Product {
	t.Helper()
	p, err := engine.NewProduct(validDraft(), productID, created)
	if err != nil {
		t.Fatalf("NewProduct: %v", err)
	}
	return p
}

func TestNewProductDefaults(t *testing.T) {
	p := validProduct(t)
	want := engine.Product{
		ID: productID, SKU: "TSHIRT-RED.L_1", Name: "Red T-shirt, L",
		Price: engine.Money{Amount: 1999, Currency: engine.CurrencyDefault}, Stock: 50, IsActive: true,
		LowStockThreshold: engine.LowStockThresholdDefault, CreatedAt: created, UpdatedAt: created,
	}
	if p != want {
		t.Fatalf("NewProduct = %+v\nwant %+v", p, want)
	}
	if engine.LowStockThresholdDefault != 10 {
		t.Errorf("LowStockThresholdDefault = %d", engine.LowStockThresholdDefault)
	}

	d := validDraft()
	d.Currency, d.IsActive, d.LowStockThreshold = "EUR", ptr(false), ptr(int64(0))
	p, err := engine.NewProduct(d, productID, created)
	if err != nil || p.Price.Currency != "EUR" || p.IsActive || p.LowStockThreshold != 0 {
		t.Fatalf("explicit fields not taken: %+v, %v", p, err)
	}
}

func TestNewProductBounds(t *testing.T) {
	valid := map[string]func(*engine.ProductDraft){
		"64-byte sku":             func(d *engine.ProductDraft) { d.SKU = strings.Repeat("S", 64) },
		"1-byte sku":              func(d *engine.ProductDraft) { d.SKU = "x" },
		"sku punctuation":         func(d *engine.ProductDraft) { d.SKU = "._-" },
		"255-rune name":           func(d *engine.ProductDraft) { d.Name = strings.Repeat("é", 255) },
		"1-rune name":             func(d *engine.ProductDraft) { d.Name = "x" },
		"free price":              func(d *engine.ProductDraft) { d.Price = 0 },
		"max price":               func(d *engine.ProductDraft) { d.Price = engine.PriceMax },
		"no stock":                func(d *engine.ProductDraft) { d.Stock = 0 },
		"max stock":               func(d *engine.ProductDraft) { d.Stock = engine.StockMax },
		"max low-stock threshold": func(d *engine.ProductDraft) { d.LowStockThreshold = ptr(engine.StockMax) },
	}
	for name, edit := range valid {
		d := validDraft()
		edit(&d)
		if _, err := engine.NewProduct(d, productID, created); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestNewProductValidation(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(*engine.ProductDraft)
		fields []string
	}{
		{"empty sku", func(d *engine.ProductDraft) { d.SKU = "" }, []string{"sku"}},
		{"65-byte sku", func(d *engine.ProductDraft) { d.SKU = strings.Repeat("S", 65) }, []string{"sku"}},
		{"space in sku", func(d *engine.ProductDraft) { d.SKU = "RED SHIRT" }, []string{"sku"}},
		{"slash in sku", func(d *engine.ProductDraft) { d.SKU = "a/b" }, []string{"sku"}},
		{"non-ASCII sku", func(d *engine.ProductDraft) { d.SKU = "ÄRMEL" }, []string{"sku"}},
		{"empty name", func(d *engine.ProductDraft) { d.Name = "" }, []string{"name"}},
		{"256-rune name", func(d *engine.ProductDraft) { d.Name = strings.Repeat("é", 256) }, []string{"name"}},
		{"invalid UTF-8 name", func(d *engine.ProductDraft) { d.Name = "bad \xff name" }, []string{"name"}},
		{"negative price", func(d *engine.ProductDraft) { d.Price = -1 }, []string{"price"}},
		{"price above max", func(d *engine.ProductDraft) { d.Price = engine.PriceMax + 1 }, []string{"price"}},
		{"lower-case currency", func(d *engine.ProductDraft) { d.Currency = "usd" }, []string{"currency"}},
		{"short currency", func(d *engine.ProductDraft) { d.Currency = "US" }, []string{"currency"}},
		{"negative stock", func(d *engine.ProductDraft) { d.Stock = -1 }, []string{"stock"}},
		{"stock above max", func(d *engine.ProductDraft) { d.Stock = engine.StockMax + 1 }, []string{"stock"}},
		{"negative threshold", func(d *engine.ProductDraft) { d.LowStockThreshold = ptr(int64(-1)) }, []string{"low_stock_threshold"}},
		{"threshold above max", func(d *engine.ProductDraft) { d.LowStockThreshold = ptr(engine.StockMax + 1) }, []string{"low_stock_threshold"}},
		{"everything wrong", func(d *engine.ProductDraft) {
			*d = engine.ProductDraft{Price: -1, Currency: "$", Stock: -1, LowStockThreshold: ptr(int64(-1))}
		}, []string{"currency", "sku", "name", "price", "stock", "low_stock_threshold"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := validDraft()
			tt.edit(&d)
			p, err := engine.NewProduct(d, productID, created)
			if got := fieldNames(fieldErrors(t, err)); !slices.Equal(got, tt.fields) {
				t.Errorf("fields = %v, want %v", got, tt.fields)
			}
			if p != (engine.Product{}) {
				t.Errorf("product %+v returned with an error", p)
			}
		})
	}
}

func TestProductApply(t *testing.T) {
	tests := []struct {
		name  string
		patch engine.ProductPatch
		edit  func(*engine.Product) // the expected change
	}{
		{"sku", engine.ProductPatch{SKU: ptr("NEW-SKU")}, func(p *engine.Product) { p.SKU = "NEW-SKU" }},
		{"name", engine.ProductPatch{Name: ptr("Blue")}, func(p *engine.Product) { p.Name = "Blue" }},
		{"price", engine.ProductPatch{Price: ptr(int64(0))}, func(p *engine.Product) { p.Price.Amount = 0 }},
		{"currency", engine.ProductPatch{Currency: ptr("EUR")}, func(p *engine.Product) { p.Price.Currency = "EUR" }},
		{"stock", engine.ProductPatch{Stock: ptr(int64(7))}, func(p *engine.Product) { p.Stock = 7 }},
		{"deactivate", engine.ProductPatch{IsActive: ptr(false)}, func(p *engine.Product) { p.IsActive = false }},
		{"same value still counts", engine.ProductPatch{IsActive: ptr(true)}, func(*engine.Product) {}},
		{"threshold", engine.ProductPatch{LowStockThreshold: ptr(int64(3))}, func(p *engine.Product) { p.LowStockThreshold = 3 }},
		{"several", engine.ProductPatch{Name: ptr("X"), Price: ptr(int64(5)), Stock: ptr(int64(0))}, func(p *engine.Product) {
			p.Name, p.Price.Amount, p.Stock = "X", 5, 0
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := validProduct(t)
			orig := p
			got, err := p.Apply(tt.patch, later)
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			want := orig
			tt.edit(&want)
			want.UpdatedAt = later
			if got != want {
				t.Errorf("Apply = %+v\nwant %+v", got, want)
			}
			if p != orig {
				t.Errorf("receiver changed to %+v", p)
			}
		})
	}
}

func TestProductApplyRejects(t *testing.T) {
	tests := []struct {
		name   string
		patch  engine.ProductPatch
		fields []string
	}{
		{"empty patch", engine.ProductPatch{}, []string{"body"}},
		{"empty sku", engine.ProductPatch{SKU: ptr("")}, []string{"sku"}},
		{"long name", engine.ProductPatch{Name: ptr(strings.Repeat("n", 256))}, []string{"name"}},
		{"negative price", engine.ProductPatch{Price: ptr(int64(-1))}, []string{"price"}},
		{"empty currency", engine.ProductPatch{Currency: ptr("")}, []string{"currency"}},
		{"bad currency", engine.ProductPatch{Currency: ptr("eur")}, []string{"currency"}},
		{"stock above max", engine.ProductPatch{Stock: ptr(engine.StockMax + 1)}, []string{"stock"}},
		{"negative threshold", engine.ProductPatch{LowStockThreshold: ptr(int64(-1))}, []string{"low_stock_threshold"}},
		{"two bad fields", engine.ProductPatch{SKU: ptr("a b"), Price: ptr(engine.PriceMax + 1)}, []string{"sku", "price"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := validProduct(t)
			orig := p
			got, err := p.Apply(tt.patch, later)
			if names := fieldNames(fieldErrors(t, err)); !slices.Equal(names, tt.fields) {
				t.Errorf("fields = %v, want %v", names, tt.fields)
			}
			if got != (engine.Product{}) || p != orig {
				t.Errorf("Apply returned %+v and left %+v; want zero product and receiver unchanged", got, p)
			}
		})
	}
	if !(engine.ProductPatch{}).IsEmpty() || (engine.ProductPatch{Stock: ptr(int64(0))}).IsEmpty() {
		t.Error("IsEmpty is wrong")
	}
}

func TestProductRestock(t *testing.T) {
	tests := []struct {
		name      string
		stock     int64
		quantity  int64
		wantStock int64 // -1 = error
	}{
		{"one unit", 50, 1, 51},
		{"largest restock", 50, engine.RestockQuantityMax, 50 + engine.RestockQuantityMax},
		{"from empty", 0, 10, 10},
		{"up to StockMax exactly", engine.StockMax - engine.RestockQuantityMax, engine.RestockQuantityMax, engine.StockMax},
		{"one unit to StockMax", engine.StockMax - 1, 1, engine.StockMax},
		{"zero", 50, 0, -1},
		{"negative", 50, -1, -1},
		{"above restock max", 50, engine.RestockQuantityMax + 1, -1},
		{"past StockMax by one", engine.StockMax - engine.RestockQuantityMax + 1, engine.RestockQuantityMax, -1},
		{"at StockMax already", engine.StockMax, 1, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := validProduct(t)
			p.Stock = tt.stock
			orig := p
			got, err := p.Restock(tt.quantity, later)
			if p != orig {
				t.Errorf("receiver changed to %+v", p)
			}
			if tt.wantStock < 0 {
				if fs := fieldErrors(t, err); len(fs) != 1 || fs[0].Field != "quantity" {
					t.Errorf("fields = %v, want one for quantity", fs)
				}
				if got != (engine.Product{}) {
					t.Errorf("product %+v returned with an error", got)
				}
				return
			}
			want := orig
			want.Stock, want.UpdatedAt = tt.wantStock, later
			if err != nil || got != want {
				t.Errorf("Restock = %+v, %v; want %+v", got, err, want)
			}
		})
	}
}

func TestProductIsLowStock(t *testing.T) {
	for _, tt := range []struct {
		stock, threshold int64
		want             bool
	}{
		{9, 10, true}, {10, 10, true}, {11, 10, false}, {0, 0, true}, {1, 0, false},
		{engine.StockMax, engine.StockMax, true},
	} {
		p := engine.Product{Stock: tt.stock, LowStockThreshold: tt.threshold}
		if got := p.IsLowStock(); got != tt.want {
			t.Errorf("stock %d, threshold %d: IsLowStock = %v", tt.stock, tt.threshold, got)
		}
	}
}

func TestProductValidate(t *testing.T) {
	p := validProduct(t)
	if err := p.Validate(); err != nil {
		t.Fatalf("valid product: %v", err)
	}
	p.Stock, p.Name = -1, ""
	if got := fieldNames(fieldErrors(t, p.Validate())); !slices.Equal(got, []string{"name", "stock"}) {
		t.Errorf("fields = %v, want name and stock", got)
	}
}
