package httpd

import (
	"errors"
	"testing"
	"time"

	"github.com/flashstock/flashstock/engine"
)

// Fuzz targets for the product request decoders: whatever the bytes, the
// outcome is a valid engine value or a client error (malformed_json or
// validation_failed naming at least one field), never a panic or a 500.

var productSeeds = []string{
	`{"sku":"A-1","name":"Mug","price":1250,"stock":10}`,
	`{"sku":"A-1","name":"Mug","price":1250,"stock":10,"currency":"EUR","is_active":false,"low_stock_threshold":3}`,
	`{"sku":null,"name":"","price":-1,"stock":1e30,"currency":""}`,
	`{"price":9223372036854775808}`, `{"quantity":1000001}`, `{"quantity":"1"}`, `{}`, `[]`, `null`, `{"x":1}`,
	`{"name":"\ud800"}`, `{"sku":"A","sku":null}`, ``,
	`{"":0}`, // once gave a field error with an empty field name
}

func wantProductClientError(t *testing.T, err error) {
	t.Helper()
	switch k := classify(err); k.code {
	case "malformed_json":
	case "validation_failed":
		var ve *engine.ValidationError
		if !errors.As(err, &ve) || len(ve.Fields) == 0 {
			t.Fatalf("validation error without fields: %v", err)
		}
		for _, f := range ve.Fields {
			if f.Field == "" || f.Message == "" {
				t.Fatalf("empty field error in %v", err)
			}
		}
	default:
		t.Fatalf("decoder error classified as %s: %v", k.code, err)
	}
}

func FuzzDecodeProductCreate(f *testing.F) {
	for _, s := range productSeeds {
		f.Add([]byte(s))
	}
	id := engine.ID{0x01, 0x90, 0, 0, 0, 0, 0x70, 0, 0x80, 1}
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		var req productCreateRequest
		err := decodeJSON(body, &req)
		var p engine.Product
		if err == nil {
			p, err = req.product(id, now)
		}
		if err != nil {
			wantProductClientError(t, err)
			return
		}
		if vErr := p.Validate(); vErr != nil || p.ID != id || !p.CreatedAt.Equal(now) {
			t.Fatalf("accepted an invalid product %+v: %v", p, vErr)
		}
		if !req.SKU.set || !req.Name.set || !req.Price.set || !req.Stock.set {
			t.Fatalf("accepted a body without a required field: %s", body)
		}
	})
}

func FuzzDecodeProductPatch(f *testing.F) {
	for _, s := range productSeeds {
		f.Add([]byte(s))
	}
	base, err := engine.NewProduct(engine.ProductDraft{SKU: "BASE", Name: "Base", Price: 1, Stock: 5},
		engine.ID{1}, time.Unix(0, 0))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req productPatchRequest
		err := decodeJSON(body, &req)
		var pp engine.ProductPatch
		if err == nil {
			pp, err = req.patch()
		}
		if err == nil {
			if pp.IsEmpty() {
				t.Fatalf("accepted an empty patch: %s", body)
			}
			var p engine.Product
			if p, err = base.Apply(pp, time.Unix(1, 0)); err == nil && p.Validate() != nil {
				t.Fatalf("patch produced an invalid product %+v", p)
			}
		}
		if err != nil {
			wantProductClientError(t, err)
		}

		var rr restockRequest
		err = decodeJSON(body, &rr)
		var q int64
		if err == nil {
			q, err = rr.quantity()
		}
		if err == nil {
			_, err = base.Restock(q, time.Unix(1, 0))
		}
		if err != nil {
			wantProductClientError(t, err)
		}
	})
}
