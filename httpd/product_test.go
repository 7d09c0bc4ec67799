package httpd

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/flashstock/flashstock/engine"
)

// productFixture is a test server with an admin's and a plain user's access
// token.
type productFixture struct {
	*testServer
	admin, user string
}

func newProductFixture(t *testing.T, opts ...func(*Config, *Deps)) productFixture {
	t.Helper()
	ts := newTestServer(t, opts...)
	_, admin := ts.account(t, "admin", true)
	_, user := ts.account(t, "buyer", false)
	return productFixture{testServer: ts, admin: admin, user: user}
}

// withListCache plugs c in as the list cache.
func withListCache(c ListCache) func(*Config, *Deps) {
	return func(_ *Config, d *Deps) { d.Cache = c }
}

// create adds a product through the API as the admin.
func (f productFixture) create(t *testing.T, body map[string]any) productJSON {
	t.Helper()
	status, _, resp := f.do("POST", "/products/", body, authHeader(f.admin)...)
	if status != fasthttp.StatusCreated {
		t.Fatalf("create %v: status %d: %s", body, status, resp)
	}
	var p productJSON
	mustJSON(t, resp, &p)
	return p
}

// list fetches one page of the public list.
func (f productFixture) list(t *testing.T, query string) productPageJSON {
	t.Helper()
	status, _, body := f.do("GET", "/products/"+query, nil)
	if status != fasthttp.StatusOK {
		t.Fatalf("list %q: status %d: %s", query, status, body)
	}
	var pg productPageJSON
	mustJSON(t, body, &pg)
	return pg
}

func productBody(sku string) map[string]any {
	return map[string]any{"sku": sku, "name": "Product " + sku, "price": 1250, "stock": 10}
}

// storedProducts counts the products in the store, to prove failed requests
// wrote nothing.
func storedProducts(ts *testServer) int {
	ts.store.mu.Lock()
	defer ts.store.mu.Unlock()
	return len(ts.store.products)
}

// problemFields lists the field names of a validation problem, sorted.
func problemFields(p problem) []string {
	var out []string
	for _, e := range p.Errors {
		out = append(out, e.Field)
	}
	slices.Sort(out)
	return out
}

func TestProductListPaginatesActiveProducts(t *testing.T) {
	f := newProductFixture(t)
	var want []engine.ID
	for i := range 6 {
		body := productBody(fmt.Sprintf("SKU-%d", i))
		if i == 3 {
			body["is_active"] = false
		}
		if p := f.create(t, body); p.IsActive {
			want = append(want, p.ID)
		}
	}
	slices.SortFunc(want, func(a, b engine.ID) int { return slices.Compare(a[:], b[:]) })

	var got []engine.ID
	var sizes []int
	query := "?limit=2"
	for range 10 { // bounded: 3 pages expected
		pg := f.list(t, query)
		sizes = append(sizes, len(pg.Items))
		for _, p := range pg.Items {
			got = append(got, p.ID)
		}
		if pg.NextCursor == nil {
			break
		}
		query = "?limit=2&cursor=" + *pg.NextCursor
	}
	if !slices.Equal(sizes, []int{2, 2, 1}) || !slices.Equal(got, want) {
		t.Fatalf("pages of sizes %v with ids %v, want sizes [2 2 1] with the active ids %v", sizes, got, want)
	}
	if pg := f.list(t, ""); len(pg.Items) != 5 || pg.NextCursor != nil {
		t.Errorf("default page: %d items, next_cursor %v; want all 5 and null", len(pg.Items), pg.NextCursor)
	}
	if pg := f.list(t, "?limit=5"); len(pg.Items) != 5 || pg.NextCursor != nil {
		t.Errorf("exactly-full page: next_cursor %v, want null (no empty last page)", pg.NextCursor)
	}
	status, _, body := f.do("GET", "/products?limit=3", nil) // trailing-slash twin
	var pg productPageJSON
	if mustJSON(t, body, &pg); status != fasthttp.StatusOK || len(pg.Items) != 3 {
		t.Errorf("GET /products?limit=3: %d %s", status, body)
	}
}

func TestProductListEmptyIsEmptyArray(t *testing.T) {
	f := newProductFixture(t)
	if _, _, body := f.do("GET", "/products/", nil); string(body) != `{"items":[],"next_cursor":null}` {
		t.Errorf("empty list body = %s", body)
	}
}

func TestProductListRejectsBadParams(t *testing.T) {
	f := newProductFixture(t)
	for _, tc := range []struct{ query, field string }{
		{"?limit=0", "limit"}, {"?limit=-1", "limit"}, {"?limit=101", "limit"}, {"?limit=abc", "limit"},
		{"?limit=", "limit"}, {"?limit=99999999999999999999", "limit"}, {"?limit=1.5", "limit"},
		{"?cursor=!!!", "cursor"}, {"?cursor=AAAA", "cursor"},
		{"?cursor=" + encodeCursor(engine.NilID), "cursor"},
		{"?cursor=AZBpcG4lL3mSgAAAAAAAAA%3D%3D", "cursor"}, // padded form of a valid cursor
		{"?cursor=AZBpcG4lL3mSgAAAAAAAAB", "cursor"},       // non-canonical trailing bits
	} {
		status, hdr, body := f.do("GET", "/products/"+tc.query, nil)
		p := wantProblem(t, status, hdr, body, fasthttp.StatusBadRequest, "validation_failed")
		if fields := problemFields(p); !slices.Equal(fields, []string{tc.field}) {
			t.Errorf("%s: fields %v, want [%s]", tc.query, fields, tc.field)
		}
	}
	if status, _, body := f.do("GET", "/products/?cursor=AZBpcG4lL3mSgAAAAAAAAA", nil); status != fasthttp.StatusOK {
		t.Errorf("canonical cursor: status %d: %s", status, body)
	}
}

func TestProductListETag(t *testing.T) {
	f := newProductFixture(t)
	f.create(t, productBody("A"))
	status, hdr, body := f.do("GET", "/products/", nil)
	tag := headerValue(hdr, "ETag")
	if status != fasthttp.StatusOK || len(tag) < 3 || tag[0] != '"' || headerValue(hdr, "Cache-Control") != listCacheControl {
		t.Fatalf("status %d, ETag %q, Cache-Control %q", status, tag, headerValue(hdr, "Cache-Control"))
	}
	for _, inm := range []string{tag, "W/" + tag, `"nope", ` + tag, "*", `"x",W/` + tag} {
		status, hdr, body := f.do("GET", "/products/", nil, "If-None-Match", inm)
		if status != fasthttp.StatusNotModified || len(body) != 0 || headerValue(hdr, "ETag") != tag ||
			headerValue(hdr, headerRequestID) == "" {
			t.Errorf("If-None-Match %s: status %d, body %q, ETag %q; want 304, empty, same tag, a request id",
				inm, status, body, headerValue(hdr, "ETag"))
		}
	}
	if status, _, again := f.do("GET", "/products/", nil, "If-None-Match", `"nope"`); status != fasthttp.StatusOK || string(again) != string(body) {
		t.Errorf("non-matching If-None-Match: status %d", status)
	}
	f.create(t, productBody("B"))
	status, hdr, _ = f.do("GET", "/products/", nil, "If-None-Match", tag)
	if status != fasthttp.StatusOK || headerValue(hdr, "ETag") == tag {
		t.Errorf("after a write: status %d, ETag %q; want 200 and a new tag", status, headerValue(hdr, "ETag"))
	}
}

func TestProductDetail(t *testing.T) {
	f := newProductFixture(t)
	p := f.create(t, map[string]any{"sku": "SKU.1", "name": "Mug", "price": 999, "stock": 7, "currency": "EUR",
		"low_stock_threshold": 2})
	status, hdr, body := f.do("GET", "/products/"+p.ID.String(), nil)
	if status != fasthttp.StatusOK || headerValue(hdr, "Cache-Control") != detailCacheControl {
		t.Fatalf("status %d, Cache-Control %q: %s", status, headerValue(hdr, "Cache-Control"), body)
	}
	var raw map[string]any
	mustJSON(t, body, &raw)
	want := map[string]any{"id": p.ID.String(), "sku": "SKU.1", "name": "Mug", "price": 999.0, "currency": "EUR",
		"stock": 7.0, "is_active": true, "low_stock_threshold": 2.0}
	for k, v := range want {
		if raw[k] != v {
			t.Errorf("%s = %v, want %v", k, raw[k], v)
		}
	}
	for _, k := range []string{"created_at", "updated_at"} {
		s, _ := raw[k].(string)
		if ts, err := time.Parse(time.RFC3339Nano, s); err != nil || ts.Location() != time.UTC || s[len(s)-1] != 'Z' {
			t.Errorf("%s = %q: want RFC 3339 UTC (%v)", k, s, err)
		}
	}
	if len(raw) != len(want)+2 {
		t.Errorf("fields %v: want exactly the contract's ten", raw)
	}
	for _, path := range []string{"/products/nope", "/products/123", "/products/" + engine.NilID.String()} {
		status, hdr, body := f.do("GET", path, nil)
		wantProblem(t, status, hdr, body, fasthttp.StatusNotFound, "not_found")
	}
}

func TestProductDetailHidesInactiveFromNonAdmins(t *testing.T) {
	f := newProductFixture(t)
	body := productBody("HIDDEN")
	body["is_active"] = false
	path := "/products/" + f.create(t, body).ID.String()
	for name, headers := range map[string][]string{
		"anonymous": nil, "buyer": authHeader(f.user), "bad token": authHeader("x.y.z"),
	} {
		status, hdr, body := f.do("GET", path, nil, headers...)
		if status != fasthttp.StatusNotFound {
			t.Errorf("%s: status %d, want 404", name, status)
			continue
		}
		wantProblem(t, status, hdr, body, fasthttp.StatusNotFound, "not_found")
	}
	if status, _, body := f.do("GET", path+"/", nil, authHeader(f.admin)...); status != fasthttp.StatusOK {
		t.Errorf("admin: status %d: %s", status, body)
	}
}

func TestProductCreate(t *testing.T) {
	f := newProductFixture(t)
	p := f.create(t, productBody("NEW-1"))
	if p.Currency != "USD" || !p.IsActive || p.LowStockThreshold != engine.LowStockThresholdDefault ||
		p.Price != 1250 || p.Stock != 10 || p.ID.IsZero() || !p.CreatedAt.Equal(p.UpdatedAt) {
		t.Errorf("created with defaults: %+v", p)
	}
	status, hdr, body := f.do("POST", "/products/", productBody("NEW-1"), authHeader(f.admin)...)
	wantProblem(t, status, hdr, body, fasthttp.StatusConflict, "conflict")
	// Authorization comes before decoding: a bad body does not reveal itself.
	for _, tc := range []struct {
		headers []string
		status  int
		code    string
	}{
		{nil, fasthttp.StatusUnauthorized, "unauthorized"},
		{authHeader(f.user), fasthttp.StatusForbidden, "forbidden"},
	} {
		for _, b := range []any{productBody("NEW-2"), "{not json"} {
			status, hdr, body := f.do("POST", "/products/", b, tc.headers...)
			wantProblem(t, status, hdr, body, tc.status, tc.code)
		}
	}
	if n := storedProducts(f.testServer); n != 1 {
		t.Errorf("%d products stored, want 1", n)
	}
}

// invalidCreates are bodies POST /products/ must refuse with the named
// fields (nil fields: malformed_json).
var invalidCreates = []struct {
	name, body string
	fields     []string
}{
	{"empty object", `{}`, []string{"sku", "name", "price", "stock"}},
	{"missing price", `{"sku":"A","name":"n","stock":1}`, []string{"price"}},
	{"null required", `{"sku":null,"name":"n","price":1,"stock":null}`, []string{"sku", "stock"}},
	{"null optional", `{"sku":"A","name":"n","price":1,"stock":1,"currency":null}`, []string{"currency"}},
	{"empty strings", `{"sku":"","name":"","price":1,"stock":1,"currency":""}`, []string{"sku", "name", "currency"}},
	{"bad sku", `{"sku":"has space","name":"n","price":1,"stock":1}`, []string{"sku"}},
	{"long name", `{"sku":"A","name":"` + repeat("x", 256) + `","price":1,"stock":1}`, []string{"name"}},
	{"negatives", `{"sku":"A","name":"n","price":-1,"stock":-1,"low_stock_threshold":-1}`, []string{"price", "stock", "low_stock_threshold"}},
	{"price above max", `{"sku":"A","name":"n","price":100000000001,"stock":1}`, []string{"price"}},
	{"huge number", `{"sku":"A","name":"n","price":1e30,"stock":1}`, []string{"price"}},
	{"int64 overflow", `{"sku":"A","name":"n","price":9223372036854775808,"stock":1}`, []string{"price"}},
	{"fraction", `{"sku":"A","name":"n","price":12.5,"stock":1}`, []string{"price"}},
	{"string number", `{"sku":"A","name":"n","price":"12","stock":1}`, []string{"price"}},
	{"wrong bool", `{"sku":"A","name":"n","price":1,"stock":1,"is_active":"yes"}`, []string{"is_active"}},
	{"lower-case currency", `{"sku":"A","name":"n","price":1,"stock":1,"currency":"usd"}`, []string{"currency"}},
	{"unknown field", `{"sku":"A","name":"n","price":1,"stock":1,"colour":"red"}`, []string{"colour"}},
	{"not an object", `[1,2]`, nil},
	{"trailing data", `{"sku":"A","name":"n","price":1,"stock":1} {}`, nil},
	{"malformed", `{"sku":`, nil},
	{"empty body", ``, nil},
}

func repeat(s string, n int) string { return string(slices.Repeat([]byte(s), n)) }

func TestProductCreateRejectsInvalidBodies(t *testing.T) {
	f := newProductFixture(t)
	for _, tc := range invalidCreates {
		t.Run(tc.name, func(t *testing.T) {
			status, hdr, body := f.do("POST", "/products/", tc.body, authHeader(f.admin)...)
			if tc.fields == nil {
				wantProblem(t, status, hdr, body, fasthttp.StatusBadRequest, "malformed_json")
				return
			}
			p := wantProblem(t, status, hdr, body, fasthttp.StatusBadRequest, "validation_failed")
			if got := problemFields(p); !slices.Equal(got, slices.Sorted(slices.Values(tc.fields))) {
				t.Errorf("fields %v, want %v (%s)", got, tc.fields, body)
			}
		})
	}
	if n := storedProducts(f.testServer); n != 0 {
		t.Errorf("%d products stored after invalid requests, want 0", n)
	}
}

func TestProductPatch(t *testing.T) {
	f := newProductFixture(t)
	p := f.create(t, productBody("P-1"))
	f.create(t, productBody("TAKEN"))
	path := "/products/" + p.ID.String()
	status, _, body := f.do("PATCH", path, map[string]any{"name": "Renamed", "price": 1, "currency": "GBP"}, authHeader(f.admin)...)
	var got productJSON
	if mustJSON(t, body, &got); status != fasthttp.StatusOK || got.Name != "Renamed" || got.Price != 1 ||
		got.Currency != "GBP" || got.SKU != "P-1" || got.UpdatedAt.Before(p.UpdatedAt) || !got.CreatedAt.Equal(p.CreatedAt) {
		t.Fatalf("patch: %d %s", status, body)
	}
	for _, tc := range []struct {
		name, body string
		fields     []string
	}{
		{"empty", `{}`, []string{"body"}},
		{"null", `{"name":null}`, []string{"name"}},
		{"negative price", `{"price":-5}`, []string{"price"}},
		{"bad currency", `{"currency":""}`, []string{"currency"}},
		{"empty name", `{"name":""}`, []string{"name"}},
		{"huge stock", `{"stock":1e100}`, []string{"stock"}},
		{"unknown field", `{"id":"x"}`, []string{"id"}},
	} {
		status, hdr, body := f.do("PATCH", path, tc.body, authHeader(f.admin)...)
		pr := wantProblem(t, status, hdr, body, fasthttp.StatusBadRequest, "validation_failed")
		if fields := problemFields(pr); !slices.Equal(fields, tc.fields) {
			t.Errorf("%s: fields %v, want %v", tc.name, fields, tc.fields)
		}
	}
	status, hdr, body := f.do("PATCH", path, map[string]any{"sku": "TAKEN"}, authHeader(f.admin)...)
	wantProblem(t, status, hdr, body, fasthttp.StatusConflict, "conflict")
	if now := f.getProduct(t, p.ID); now.Name != "Renamed" || now.Price != 1 || now.SKU != "P-1" {
		t.Errorf("failed patches changed the product: %+v", now)
	}
	f.wantAdminOnly(t, "PATCH", path, map[string]any{"name": "x"})
	for _, bad := range []string{"/products/not-a-uuid", "/products/" + engine.NilID.String()} {
		status, hdr, body := f.do("PATCH", bad, map[string]any{"name": "x"}, authHeader(f.admin)...)
		wantProblem(t, status, hdr, body, fasthttp.StatusNotFound, "not_found")
	}
	// Deactivating takes the product out of the list at once.
	f.do("PATCH", path, map[string]any{"is_active": false}, authHeader(f.admin)...)
	for _, it := range f.list(t, "").Items {
		if it.ID == p.ID {
			t.Errorf("deactivated product still listed")
		}
	}
}

func TestProductRestock(t *testing.T) {
	f := newProductFixture(t)
	p := f.create(t, productBody("R-1"))
	path := "/products/" + p.ID.String() + "/restock"
	status, _, body := f.do("POST", path, map[string]any{"quantity": 5}, authHeader(f.admin)...)
	var got productJSON
	if mustJSON(t, body, &got); status != fasthttp.StatusOK || got.Stock != 15 {
		t.Fatalf("restock: %d %s", status, body)
	}
	if _, err := f.store.UpdateProduct(context.Background(), p.ID, func(q engine.Product) (engine.Product, error) {
		q.Stock = engine.StockMax - 1
		return q, nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{`{"quantity":0}`, `{"quantity":-1}`, `{"quantity":1000001}`, `{"quantity":2}`,
		`{"quantity":1e30}`, `{"quantity":"5"}`, `{"quantity":null}`, `{}`, `{"quantity":1,"note":"x"}`} {
		status, hdr, body := f.do("POST", path, b, authHeader(f.admin)...)
		wantProblem(t, status, hdr, body, fasthttp.StatusBadRequest, "validation_failed")
	}
	if now := f.getProduct(t, p.ID); now.Stock != engine.StockMax-1 {
		t.Errorf("stock after refused restocks = %d, want %d", now.Stock, engine.StockMax-1)
	}
	f.wantAdminOnly(t, "POST", path, map[string]any{"quantity": 1})
	status, hdr, body := f.do("POST", "/products/"+engine.NilID.String()+"/restock", map[string]any{"quantity": 1}, authHeader(f.admin)...)
	wantProblem(t, status, hdr, body, fasthttp.StatusNotFound, "not_found")
}

// getProduct reads a product through the API as the admin.
func (f productFixture) getProduct(t *testing.T, id engine.ID) productJSON {
	t.Helper()
	status, _, body := f.do("GET", "/products/"+id.String(), nil, authHeader(f.admin)...)
	if status != fasthttp.StatusOK {
		t.Fatalf("get %s: %d %s", id, status, body)
	}
	var p productJSON
	mustJSON(t, body, &p)
	return p
}

// wantAdminOnly checks that a write is 401 anonymously and 403 for a buyer.
func (f productFixture) wantAdminOnly(t *testing.T, method, path string, body any) {
	t.Helper()
	status, hdr, resp := f.do(method, path, body)
	wantProblem(t, status, hdr, resp, fasthttp.StatusUnauthorized, "unauthorized")
	status, hdr, resp = f.do(method, path, body, authHeader(f.user)...)
	wantProblem(t, status, hdr, resp, fasthttp.StatusForbidden, "forbidden")
}

func TestProductStoreFailures(t *testing.T) {
	down := fmt.Errorf("db: %w", engine.ErrUnavailable)
	fake := &productsFake{
		ListProductsFunc: func(context.Context, engine.ID, int) ([]engine.Product, error) { return nil, errors.New("boom") },
		ProductFunc:      func(context.Context, engine.ID) (engine.Product, error) { return engine.Product{}, down },
	}
	ts := newTestServer(t, func(_ *Config, d *Deps) { d.Products = fake })
	status, hdr, body := ts.do("GET", "/products/", nil)
	if p := wantProblem(t, status, hdr, body, fasthttp.StatusInternalServerError, "internal"); p.Detail == "boom" {
		t.Errorf("internal error leaked: %s", body)
	}
	status, hdr, body = ts.do("GET", "/products/"+engine.ID{1}.String(), nil)
	wantProblem(t, status, hdr, body, fasthttp.StatusServiceUnavailable, "unavailable")
}
