package engine

import (
	"time"
	"unicode/utf8"
)

// LowStockThresholdDefault applies when a product is created without one.
const LowStockThresholdDefault int64 = 10

// Product is a sellable item. Stock is owned by the product's SKU actor once
// the inventory core runs; everything else is catalogue data.
type Product struct {
	ID                ID
	SKU               string
	Name              string
	Price             Money
	Stock             int64
	IsActive          bool
	LowStockThreshold int64
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

// ProductDraft is the input for creating a product. Nil pointers take defaults.
type ProductDraft struct {
	SKU               string
	Name              string
	Price             int64
	Currency          string // empty = CurrencyDefault
	Stock             int64
	IsActive          *bool // nil = true
	LowStockThreshold *int64
}

// NewProduct validates d and builds the product it describes.
func NewProduct(d ProductDraft, id ID, now time.Time) (Product, error) {
	p := Product{
		ID: id, SKU: d.SKU, Name: d.Name, Stock: d.Stock, IsActive: true,
		LowStockThreshold: LowStockThresholdDefault, CreatedAt: now, UpdatedAt: now,
		Price: Money{Amount: d.Price, Currency: CurrencyDefault},
	}
	var v validator
	if d.Currency != "" {
		c, err := ParseCurrency(d.Currency)
		v.check(err == nil, "currency", "must be a 3-letter ISO-4217 code")
		p.Price.Currency = c
	}
	if d.IsActive != nil {
		p.IsActive = *d.IsActive
	}
	if d.LowStockThreshold != nil {
		p.LowStockThreshold = *d.LowStockThreshold
	}
	checkNewName(&v, d.Name)
	p.validate(&v)
	if err := v.err(); err != nil {
		return Product{}, err
	}
	return p, nil
}

// ProductPatch changes some catalogue fields of a product; nil = unchanged.
type ProductPatch struct {
	SKU               *string
	Name              *string
	Price             *int64
	Currency          *string
	Stock             *int64
	IsActive          *bool
	LowStockThreshold *int64
}

// IsEmpty reports whether the patch changes nothing.
func (pp ProductPatch) IsEmpty() bool {
	return pp.SKU == nil && pp.Name == nil && pp.Price == nil && pp.Currency == nil &&
		pp.Stock == nil && pp.IsActive == nil && pp.LowStockThreshold == nil
}

// Apply returns p with the patch applied and validated; p is unchanged.
func (p Product) Apply(pp ProductPatch, now time.Time) (Product, error) {
	var v validator
	v.check(!pp.IsEmpty(), "body", "must change at least one field")
	set(&p.SKU, pp.SKU)
	set(&p.Name, pp.Name)
	set(&p.Price.Amount, pp.Price)
	set(&p.Stock, pp.Stock)
	set(&p.IsActive, pp.IsActive)
	set(&p.LowStockThreshold, pp.LowStockThreshold)
	if pp.Currency != nil {
		c, err := ParseCurrency(*pp.Currency)
		v.check(err == nil, "currency", "must be a 3-letter ISO-4217 code")
		p.Price.Currency = c
	}
	if pp.Name != nil {
		checkNewName(&v, *pp.Name)
	}
	p.validate(&v)
	if err := v.err(); err != nil {
		return Product{}, err
	}
	p.UpdatedAt = now
	return p, nil
}

// Restock returns p with quantity units added.
func (p Product) Restock(quantity int64, now time.Time) (Product, error) {
	if quantity < 1 || quantity > RestockQuantityMax {
		return Product{}, Invalid("quantity", "must be between 1 and 1000000")
	}
	if p.Stock > StockMax-quantity {
		return Product{}, Invalid("quantity", "would raise stock above 1000000000")
	}
	p.Stock += quantity
	p.UpdatedAt = now
	return p, nil
}

// Validate checks the product's invariants; persist calls it after loading.
func (p Product) Validate() error {
	var v validator
	p.validate(&v)
	return v.err()
}

func (p Product) validate(v *validator) {
	v.check(validSKU(p.SKU), "sku", "must be 1 to 64 characters of letters, digits and ._-")
	if msg := checkName(p.Name); msg != "" {
		v.add("name", msg)
	}
	v.check(p.Price.Amount >= 0 && p.Price.Amount <= PriceMax, "price", "must be between 0 and 100000000000")
	v.check(p.Stock >= 0 && p.Stock <= StockMax, "stock", "must be between 0 and 1000000000")
	v.check(p.LowStockThreshold >= 0 && p.LowStockThreshold <= StockMax,
		"low_stock_threshold", "must be between 0 and 1000000000")
}

// checkName is the rule every stored name meets: 1 to NameRunesMax
// characters of text PostgreSQL can hold.
func checkName(name string) string {
	if n := utf8.RuneCountInString(name); n < 1 || n > NameRunesMax {
		return "must be 1 to 255 characters"
	}
	return CheckText(name, NameBytesMax)
}

// checkNewName adds the rule for a name being set to checkName's: one line,
// no control characters. It reports nothing checkName (through validate)
// reports, and names stored before the rule existed still load.
func checkNewName(v *validator, name string) {
	if checkName(name) == "" && CheckLine(name, NameBytesMax) != "" {
		v.add("name", "must not contain control characters")
	}
}

// IsLowStock reports whether stock is at or below the product's threshold.
func (p Product) IsLowStock() bool { return p.Stock <= p.LowStockThreshold }

func validSKU(s string) bool {
	if len(s) == 0 || len(s) > SKUBytesMax {
		return false
	}
	for _, c := range []byte(s) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '.' || c == '_' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}

func set[T any](dst *T, src *T) {
	if src != nil {
		*dst = *src
	}
}
