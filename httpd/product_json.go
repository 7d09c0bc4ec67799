package httpd

import (
	"encoding/json"
	"time"

	"github.com/flashstock/flashstock/engine"
)

// Wire forms of products. Requests decode strictly (call.decode: no unknown
// fields, no trailing data, type errors name the field) into jsonField
// members, which tell an absent member from an explicit null; the methods
// below turn a decoded request into an engine value or a validation error
// that names every bad field. Nothing is written before that succeeds.

// jsonField is one member of a request object: whether it was present,
// whether it was null, and its value otherwise.
type jsonField[T any] struct {
	set  bool
	null bool
	v    T
}

// UnmarshalJSON records presence; encoding/json adds the member's name to
// a type error it returns.
func (f *jsonField[T]) UnmarshalJSON(b []byte) error {
	f.set = true
	if string(b) == "null" {
		f.null = true
		return nil
	}
	return json.Unmarshal(b, &f.v)
}

// ptr returns nil when the member was absent, else a pointer to its value.
// Callers check nullness first.
func (f jsonField[T]) ptr() *T {
	if !f.set {
		return nil
	}
	v := f.v
	return &v
}

// fieldChecks collects structural errors (missing, null, empty) in request
// order before the engine validates the values.
type fieldChecks struct{ ve engine.ValidationError }

func (fc *fieldChecks) add(field, message string) {
	fc.ve.Fields = append(fc.ve.Fields, engine.FieldError{Field: field, Message: message})
}

// present reports a null member; with required, also an absent one.
func present[T any](fc *fieldChecks, name string, f jsonField[T], required bool) {
	switch {
	case required && !f.set:
		fc.add(name, "is required")
	case f.null:
		fc.add(name, "must not be null")
	}
}

// merge returns the collected errors plus those of err for fields not yet
// named; err must be nil or an engine validation error.
func (fc *fieldChecks) merge(err error) error {
	if ve, ok := err.(*engine.ValidationError); ok {
		named := make(map[string]bool, len(fc.ve.Fields))
		for _, f := range fc.ve.Fields {
			named[f.Field] = true
		}
		for _, f := range ve.Fields {
			if !named[f.Field] {
				fc.ve.Fields = append(fc.ve.Fields, f)
			}
		}
	} else if err != nil {
		return err
	}
	if len(fc.ve.Fields) == 0 {
		return nil
	}
	ve := fc.ve
	return &ve
}

// productCreateRequest is the body of POST /products/.
type productCreateRequest struct {
	SKU               jsonField[string] `json:"sku"`
	Name              jsonField[string] `json:"name"`
	Price             jsonField[int64]  `json:"price"`
	Stock             jsonField[int64]  `json:"stock"`
	Currency          jsonField[string] `json:"currency"`
	IsActive          jsonField[bool]   `json:"is_active"`
	LowStockThreshold jsonField[int64]  `json:"low_stock_threshold"`
}

// product validates the request into a new product with the given id and
// creation time, reporting every bad field at once.
func (r productCreateRequest) product(id engine.ID, now time.Time) (engine.Product, error) {
	var fc fieldChecks
	present(&fc, "sku", r.SKU, true)
	present(&fc, "name", r.Name, true)
	present(&fc, "price", r.Price, true)
	present(&fc, "stock", r.Stock, true)
	present(&fc, "currency", r.Currency, false)
	present(&fc, "is_active", r.IsActive, false)
	present(&fc, "low_stock_threshold", r.LowStockThreshold, false)
	if r.Currency.set && !r.Currency.null && r.Currency.v == "" { // "" would mean the default
		fc.add("currency", "must be a 3-letter ISO-4217 code")
	}
	draft := engine.ProductDraft{
		SKU: r.SKU.v, Name: r.Name.v, Price: r.Price.v, Stock: r.Stock.v, Currency: r.Currency.v,
		IsActive: r.IsActive.ptr(), LowStockThreshold: r.LowStockThreshold.ptr(),
	}
	p, err := engine.NewProduct(draft, id, now)
	if err := fc.merge(err); err != nil {
		return engine.Product{}, err
	}
	return p, nil
}

// productPatchRequest is the body of PATCH /products/{id}: any subset of the
// create fields, none null.
type productPatchRequest productCreateRequest

// patch returns the engine patch; the values themselves are validated by
// Product.Apply against the stored product.
func (r productPatchRequest) patch() (engine.ProductPatch, error) {
	var fc fieldChecks
	present(&fc, "sku", r.SKU, false)
	present(&fc, "name", r.Name, false)
	present(&fc, "price", r.Price, false)
	present(&fc, "stock", r.Stock, false)
	present(&fc, "currency", r.Currency, false)
	present(&fc, "is_active", r.IsActive, false)
	present(&fc, "low_stock_threshold", r.LowStockThreshold, false)
	pp := engine.ProductPatch{
		SKU: r.SKU.ptr(), Name: r.Name.ptr(), Price: r.Price.ptr(), Stock: r.Stock.ptr(),
		Currency: r.Currency.ptr(), IsActive: r.IsActive.ptr(), LowStockThreshold: r.LowStockThreshold.ptr(),
	}
	if pp.IsEmpty() { // checked here so an empty patch is 400 even for an unknown id
		fc.add("body", "must change at least one field")
	}
	if err := fc.merge(nil); err != nil {
		return engine.ProductPatch{}, err
	}
	return pp, nil
}

// restockRequest is the body of POST /products/{id}/restock.
type restockRequest struct {
	Quantity jsonField[int64] `json:"quantity"`
}

// quantity returns the requested quantity; its range is checked by
// Product.Restock.
func (r restockRequest) quantity() (int64, error) {
	var fc fieldChecks
	present(&fc, "quantity", r.Quantity, true)
	if err := fc.merge(nil); err != nil {
		return 0, err
	}
	return r.Quantity.v, nil
}

// productJSON is a product as clients see it. Times are UTC RFC 3339.
type productJSON struct {
	ID                engine.ID `json:"id"`
	SKU               string    `json:"sku"`
	Name              string    `json:"name"`
	Price             int64     `json:"price"`
	Currency          string    `json:"currency"`
	Stock             int64     `json:"stock"`
	IsActive          bool      `json:"is_active"`
	LowStockThreshold int64     `json:"low_stock_threshold"`
	CreatedAt         time.Time `json:"created_at"`
	UpdatedAt         time.Time `json:"updated_at"`
}

func newProductJSON(p engine.Product) productJSON {
	return productJSON{
		ID: p.ID, SKU: p.SKU, Name: p.Name, Price: p.Price.Amount, Currency: string(p.Price.Currency),
		Stock: p.Stock, IsActive: p.IsActive, LowStockThreshold: p.LowStockThreshold,
		CreatedAt: p.CreatedAt.UTC(), UpdatedAt: p.UpdatedAt.UTC(),
	}
}

// productPageJSON is one page of GET /products/; NextCursor is null on the
// last page.
type productPageJSON struct {
	Items      []productJSON `json:"items"`
	NextCursor *string       `json:"next_cursor"`
}
