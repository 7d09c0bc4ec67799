package httpd

import (
	"testing"

	"github.com/flashstock/flashstock/engine"
)

// Fuzz targets for the order request decoders: whatever the bytes, the
// outcome is valid engine input or a client error naming a field, never a
// panic or a 500.

func FuzzDecodeOrderCreate(f *testing.F) {
	for _, s := range []string{
		`{"items":[{"product_id":"01900000-0000-7000-8001-000000000000","quantity":1}]}`,
		`{"items":[{"product_id":"01900000-0000-7000-8001-000000000000","quantity":9999},{"product_id":"01900000-0000-7000-8001-000000000000","quantity":2}]}`,
		`{"items":[{"product_id":"x","quantity":0,"extra":1}]}`, `{"items":[1,null,[]]}`, `{"items":null}`,
		`{"items":[]}`, `{"items":[{"quantity":"1"}]}`, `{"items":[{"":0}]}`, `[]`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req orderCreateRequest
		err := decodeJSON(body, &req)
		var items []engine.ItemRequest
		if err == nil {
			items, err = req.items(engine.DefaultLimits())
		}
		if err != nil {
			wantProductClientError(t, err)
			return
		}
		seen := map[engine.ID]bool{}
		for _, it := range items {
			if it.ProductID.IsZero() || it.Quantity < 1 || it.Quantity > engine.ItemQuantityMax || seen[it.ProductID] {
				t.Fatalf("decoded items %+v break the limits", items)
			}
			seen[it.ProductID] = true
		}
		if len(items) == 0 || len(items) > engine.ItemsPerOrderMax {
			t.Fatalf("%d items decoded", len(items))
		}
	})
}

func FuzzDecodeOrderPatch(f *testing.F) {
	for _, s := range []string{`{"status":"processing"}`, `{"status":null}`, `{"status":"nope"}`, `{}`, `{"status":1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req orderPatchRequest
		err := decodeJSON(body, &req)
		var st engine.Status
		if err == nil {
			st, err = req.status()
		}
		if err != nil {
			wantProductClientError(t, err)
			return
		}
		if _, perr := engine.ParseStatus(string(st)); perr != nil {
			t.Fatalf("decoded status %q is not a status", st)
		}
	})
}
