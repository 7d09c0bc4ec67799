package bench_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"github.com/flashstock/flashstock/bench"
	"github.com/flashstock/flashstock/engine"
	"github.com/flashstock/flashstock/internal/testenv"
	"github.com/flashstock/flashstock/persist"
)

var testSecret = []byte("bench-baseline-test-secret-0123456789")

// world is a migrated database and a Redis, with one buyer.
type world struct {
	store *persist.Store
	redis *persist.Redis
	user  engine.ID
	token string // the buyer's access token
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := t.Context()
	store, err := persist.Open(ctx, persist.Config{DatabaseURL: testenv.PostgresURL(t), MaxConns: 8})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(store.Close)
	if _, err := persist.Migrate(ctx, store, nil); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	url, prefix := testenv.RedisURL(t)
	rdb, err := persist.OpenRedis(ctx, persist.RedisConfig{URL: url, Prefix: prefix})
	if err != nil {
		t.Fatalf("OpenRedis: %v", err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	user := engine.User{ID: newID(t), Username: "buyer", PasswordHash: []byte("$2a$04$hash"), CreatedAt: time.Now()}
	if err := store.CreateUser(ctx, user); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	w := &world{store: store, redis: rdb, user: user.ID}
	w.token = w.mint(t, testSecret, "access", time.Hour)
	return w
}

func newID(t *testing.T) engine.ID {
	t.Helper()
	id, err := engine.NewID(time.Now(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// mint signs a token with flashstock's claim names.
func (w *world) mint(t *testing.T, secret []byte, kind string, ttl time.Duration) string {
	t.Helper()
	var jti [16]byte
	_, _ = rand.Read(jti[:])
	now := time.Now()
	claims := jwt.MapClaims{"user_id": w.user.String(), "sub": w.user.String(), "token_type": kind,
		"jti": hex.EncodeToString(jti[:]), "iat": now.Unix(), "exp": now.Add(ttl).Unix()}
	if kind == "access" {
		claims["is_admin"] = false
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (w *world) product(t *testing.T, sku string, stock int64) engine.Product {
	t.Helper()
	p, err := engine.NewProduct(engine.ProductDraft{SKU: sku, Name: "Product " + sku, Price: 1250,
		Currency: "EUR", Stock: stock}, newID(t), time.Now().UTC().Truncate(time.Microsecond))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.store.CreateProduct(t.Context(), p); err != nil {
		t.Fatalf("CreateProduct: %v", err)
	}
	return p
}

// logBuffer collects log lines written concurrently.
type logBuffer struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// deps are the baseline's dependencies on w; log receives its errors.
func (w *world) deps(log *logBuffer) bench.BaselineDeps {
	return bench.BaselineDeps{Orders: w.store, Products: w.store, Locks: w.redis, JWTSecret: testSecret,
		Log: zerolog.New(log)}
}

// serve serves h in memory and returns a client for it.
func serve(t *testing.T, h fasthttp.RequestHandler) *fasthttp.Client {
	t.Helper()
	ln := fasthttputil.NewInmemoryListener()
	srv := &fasthttp.Server{Handler: h}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		_ = srv.Shutdown()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return &fasthttp.Client{Dial: func(string) (net.Conn, error) { return ln.Dial() }}
}

// answer is one HTTP answer.
type answer struct {
	status      int
	contentType string
	body        []byte
}

func do(t *testing.T, c *fasthttp.Client, method, path, auth, body string) answer {
	t.Helper()
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://baseline" + path)
	req.Header.SetMethod(method)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if body != "" {
		req.Header.SetContentType("application/json")
		req.SetBodyString(body)
	}
	if err := c.DoTimeout(req, resp, 30*time.Second); err != nil {
		t.Errorf("%s %s: %v", method, path, err)
		return answer{}
	}
	return answer{resp.StatusCode(), string(resp.Header.ContentType()), bytes.Clone(resp.Body())}
}

// problemOf decodes a problem+json answer.
type problemJSON struct {
	Status    int    `json:"status"`
	Code      string `json:"code"`
	Detail    string `json:"detail"`
	ProductID string `json:"product_id"`
	Available *int64 `json:"available"`
	Requested *int64 `json:"requested"`
	Errors    []struct {
		Field string `json:"field"`
	} `json:"errors"`
}

func problemOf(t *testing.T, a answer) problemJSON {
	t.Helper()
	var p problemJSON
	if a.contentType != "application/problem+json" || json.Unmarshal(a.body, &p) != nil || p.Status != a.status {
		t.Errorf("answer %d %s %s is not a problem+json of its status", a.status, a.contentType, a.body)
	}
	return p
}

func orderBody(items ...any) string {
	lines := make([]map[string]any, 0, len(items)/2)
	for i := 0; i+1 < len(items); i += 2 {
		lines = append(lines, map[string]any{"product_id": items[i], "quantity": items[i+1]})
	}
	b, _ := json.Marshal(map[string]any{"items": lines})
	return string(b)
}

var stores = []string{bench.TargetNaive, bench.TargetRedisLock}

func TestBaselineOrderCreated(t *testing.T) {
	t.Parallel()
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			a, b := w.product(t, "A", 10), w.product(t, "B", 10)
			var log logBuffer
			h, err := bench.NewBaseline(kind, w.deps(&log))
			if err != nil {
				t.Fatal(err)
			}
			c := serve(t, h)
			got := do(t, c, "POST", "/orders/", "JWT "+w.token,
				orderBody(b.ID.String(), 1, a.ID.String(), 2, b.ID.String(), 1))
			if got.status != fasthttp.StatusCreated || got.contentType != "application/json" {
				t.Fatalf("POST /orders/ = %d %s %s; want 201 application/json", got.status, got.contentType, got.body)
			}
			if !bytes.HasPrefix(got.body, []byte(`{"id":"`)) { // the bench client finds the id there
				t.Errorf("the order body does not start with its id: %s", got.body)
			}
			checkOrderJSON(t, w, got.body, []engine.Product{a, b}, []int64{2, 2})

			// Without the trailing slash and with a Bearer token.
			got = do(t, c, "POST", "/orders", "Bearer "+w.token, orderBody(a.ID.String(), 1))
			if got.status != fasthttp.StatusCreated {
				t.Fatalf("POST /orders (Bearer) = %d %s; want 201", got.status, got.body)
			}
			if log.String() != "" {
				t.Errorf("logged on success: %s", log.String())
			}
		})
	}
}

// checkOrderJSON checks an order answer field by field against the
// products ordered (in id order) and the stored order.
func checkOrderJSON(t *testing.T, w *world, body []byte, ps []engine.Product, qs []int64) {
	t.Helper()
	var o struct {
		ID            engine.ID `json:"id"`
		Reference     string    `json:"reference"`
		UserID        engine.ID `json:"user_id"`
		Status        string    `json:"status"`
		PaymentStatus string    `json:"payment_status"`
		Total         int64     `json:"total"`
		Currency      string    `json:"currency"`
		Items         []struct {
			ProductID   engine.ID `json:"product_id"`
			ProductName string    `json:"product_name"`
			Quantity    int64     `json:"quantity"`
			UnitPrice   int64     `json:"unit_price"`
			Subtotal    int64     `json:"subtotal"`
		} `json:"items"`
		CreatedAt    time.Time `json:"created_at"`
		UpdatedAt    time.Time `json:"updated_at"`
		ExpiresAt    time.Time `json:"expires_at"`
		CancelReason *string   `json:"cancel_reason"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&o); err != nil {
		t.Fatalf("order JSON %s: %v", body, err)
	}
	if ps[0].ID.String() > ps[1].ID.String() {
		ps[0], ps[1] = ps[1], ps[0]
		qs[0], qs[1] = qs[1], qs[0]
	}
	var total int64
	for i, p := range ps {
		it := o.Items[i]
		if it.ProductID != p.ID || it.ProductName != p.Name || it.Quantity != qs[i] ||
			it.UnitPrice != p.Price.Amount || it.Subtotal != qs[i]*p.Price.Amount {
			t.Errorf("item %d = %+v; want %d of %s at %d", i, it, qs[i], p.ID, p.Price.Amount)
		}
		total += qs[i] * p.Price.Amount
	}
	if !regexp.MustCompile(`^ORD-[0-9A-F]{12}$`).MatchString(o.Reference) || o.UserID != w.user ||
		o.Status != "pending" || o.PaymentStatus != "pending" || o.Total != total || o.Currency != "EUR" ||
		len(o.Items) != len(ps) || o.CancelReason == nil || *o.CancelReason != "" ||
		!o.UpdatedAt.Equal(o.CreatedAt) || o.ExpiresAt.Sub(o.CreatedAt) != engine.OrderTTLDefault ||
		time.Since(o.CreatedAt) > time.Minute {
		t.Errorf("order JSON %s is not the pending order asked for", body)
	}
	stored, err := w.store.Order(context.Background(), o.ID)
	if err != nil || stored.Reference != o.Reference || stored.Total.Amount != o.Total ||
		!stored.CreatedAt.Equal(o.CreatedAt) || !stored.ExpiresAt.Equal(o.ExpiresAt) {
		t.Errorf("stored order = %+v, %v; the answer said %s", stored, err, body)
	}
}

func TestBaselineRefusals(t *testing.T) {
	t.Parallel()
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			p := w.product(t, "A", 3)
			var log logBuffer
			h, err := bench.NewBaseline(kind, w.deps(&log))
			if err != nil {
				t.Fatal(err)
			}
			c := serve(t, h)
			jwtAuth, good := "JWT "+w.token, orderBody(p.ID.String(), 1)
			tests := []struct {
				name, method, path, auth, body string
				status                         int
				code                           string
				field                          string // of the first field error, if any
			}{
				{"no token", "POST", "/orders/", "", good, 401, "unauthorized", ""},
				{"other scheme", "POST", "/orders/", "Token " + w.token, good, 401, "unauthorized", ""},
				{"garbage token", "POST", "/orders/", "JWT abc.def.ghi", good, 401, "unauthorized", ""},
				{"other secret", "POST", "/orders/", "JWT " + w.mint(t, []byte("another-secret-0123456789abcdef"), "access", time.Hour), good, 401, "unauthorized", ""},
				{"refresh token", "POST", "/orders/", "JWT " + w.mint(t, testSecret, "refresh", time.Hour), good, 401, "unauthorized", ""},
				{"expired token", "POST", "/orders/", "JWT " + w.mint(t, testSecret, "access", -time.Minute), good, 401, "unauthorized", ""},
				{"malformed JSON", "POST", "/orders/", jwtAuth, `{"items": [`, 400, "malformed_json", ""},
				{"wrong type", "POST", "/orders/", jwtAuth, `{"items": [{"product_id": "x", "quantity": "2"}]}`, 400, "validation_failed", "items.quantity"},
				{"no items", "POST", "/orders/", jwtAuth, `{"items": []}`, 400, "validation_failed", "items"},
				{"empty object", "POST", "/orders/", jwtAuth, `{}`, 400, "validation_failed", "items"},
				{"bad product id", "POST", "/orders/", jwtAuth, orderBody("nope", 1), 400, "validation_failed", "items[0].product_id"},
				{"zero quantity", "POST", "/orders/", jwtAuth, orderBody(p.ID.String(), 0), 400, "validation_failed", "items[0].quantity"},
				{"unknown product", "POST", "/orders/", jwtAuth, orderBody(newID(t).String(), 1), 400, "validation_failed", "items"},
				{"too large", "POST", "/orders/", jwtAuth, `{"items": [], "pad": "` + strings.Repeat("x", 70_000) + `"}`, 413, "payload_too_large", ""},
				{"wrong method", "GET", "/orders/", jwtAuth, "", 405, "method_not_allowed", ""},
				{"no route", "GET", "/products/", jwtAuth, "", 404, "not_found", ""},
			}
			for _, tt := range tests {
				got := do(t, c, tt.method, tt.path, tt.auth, tt.body)
				pr := problemOf(t, got)
				if got.status != tt.status || pr.Code != tt.code {
					t.Errorf("%s: %d %s; want %d %s", tt.name, got.status, got.body, tt.status, tt.code)
				}
				if tt.field != "" && (len(pr.Errors) == 0 || pr.Errors[0].Field != tt.field) {
					t.Errorf("%s: field errors %s; want %s first", tt.name, got.body, tt.field)
				}
			}

			got := do(t, c, "POST", "/orders/", jwtAuth, orderBody(p.ID.String(), 4))
			pr := problemOf(t, got)
			if got.status != 400 || pr.Code != "insufficient_stock" || pr.ProductID != p.ID.String() ||
				pr.Available == nil || *pr.Available != 3 || pr.Requested == nil || *pr.Requested != 4 {
				t.Errorf("too many units: %d %s; want 400 insufficient_stock, 3 available, 4 requested", got.status, got.body)
			}
			if got := do(t, c, "GET", "/healthz", "", ""); got.status != 200 {
				t.Errorf("GET /healthz = %d %s; want 200", got.status, got.body)
			}
			if log.String() != "" {
				t.Errorf("logged client errors: %s", log.String())
			}
		})
	}
}

// TestBaselineSellOut: 100 buyers over 16 connections race for 20 units;
// exactly 20 get an order, the others insufficient_stock, and the database
// agrees.
func TestBaselineSellOut(t *testing.T) {
	t.Parallel()
	const stock, buyers, conns = 20, 100, 16
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			p := w.product(t, "HOT", stock)
			var log logBuffer
			h, err := bench.NewBaseline(kind, w.deps(&log))
			if err != nil {
				t.Fatal(err)
			}
			c := serve(t, h)
			body := orderBody(p.ID.String(), 1)

			var mu sync.Mutex // guards ids and answers
			var ids []engine.ID
			answers := map[string]int{}
			jobs := make(chan struct{})
			var wg sync.WaitGroup
			for range conns {
				wg.Go(func() {
					for range jobs {
						got := do(t, c, "POST", "/orders/", "JWT "+w.token, body)
						var o struct {
							ID   engine.ID `json:"id"`
							Code string    `json:"code"`
						}
						_ = json.Unmarshal(got.body, &o)
						mu.Lock()
						answers[strings.TrimSpace(fasthttp.StatusMessage(got.status)+" "+o.Code)]++
						if got.status == fasthttp.StatusCreated {
							ids = append(ids, o.ID)
						}
						mu.Unlock()
					}
				})
			}
			for range buyers {
				jobs <- struct{}{}
			}
			close(jobs)
			wg.Wait()
			want := map[string]int{"Created": stock, "Bad Request insufficient_stock": buyers - stock}
			if !reflect.DeepEqual(answers, want) {
				t.Fatalf("answers %v; want %v", answers, want)
			}

			ctx := t.Context()
			audits, err := w.store.AuditStock(ctx, []engine.ID{p.ID})
			if err != nil || len(audits) != 1 || audits[0].Stock != 0 || audits[0].Sold != stock || audits[0].Held != 0 {
				t.Errorf("AuditStock = %+v, %v; want stock 0, sold %d", audits, err, stock)
			}
			if n, err := w.store.ExistingOrders(ctx, ids); err != nil || n != stock {
				t.Errorf("ExistingOrders(answered ids) = %d, %v; want %d", n, err, stock)
			}
			if n, err := w.store.OrdersForProducts(ctx, []engine.ID{p.ID}); err != nil || n != stock {
				t.Errorf("OrdersForProducts = %d, %v; want %d", n, err, stock)
			}
			if log.String() != "" {
				t.Errorf("logged: %s", log.String())
			}
		})
	}
}

// fakeLocks hands out the Locker its MutexFunc returns.
type fakeLocks struct {
	MutexFunc func(name string) persist.Locker
}

var _ bench.BaselineLocks = fakeLocks{}

func (f fakeLocks) Mutex(name string) persist.Locker { return f.MutexFunc(name) }

// fakeLocker is a persist.Locker whose answers the test chooses.
type fakeLocker struct {
	LockFunc   func(ctx context.Context) error
	UnlockFunc func(ctx context.Context) error
}

var _ persist.Locker = fakeLocker{}

func (f fakeLocker) Lock(ctx context.Context) error   { return f.LockFunc(ctx) }
func (f fakeLocker) Unlock(ctx context.Context) error { return f.UnlockFunc(ctx) }

// A lock that times out is 503 overloaded; a failed unlock after the
// order was written is logged, and the order still answered 201.
func TestBaselineRedisLockFailures(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	p := w.product(t, "A", 5)
	var log logBuffer
	var lockErr error
	var names []string
	deps := w.deps(&log)
	deps.Locks = fakeLocks{MutexFunc: func(name string) persist.Locker {
		names = append(names, name) // requests are sent one at a time
		return fakeLocker{
			LockFunc:   func(context.Context) error { return lockErr },
			UnlockFunc: func(context.Context) error { return errors.New("redis: lost the lock") },
		}
	}}
	h, err := bench.NewBaseline(bench.TargetRedisLock, deps)
	if err != nil {
		t.Fatal(err)
	}
	c := serve(t, h)

	lockErr = engine.ErrOverloaded
	got := do(t, c, "POST", "/orders/", "JWT "+w.token, orderBody(p.ID.String(), 1))
	if pr := problemOf(t, got); got.status != 503 || pr.Code != "overloaded" {
		t.Errorf("lock timeout: %d %s; want 503 overloaded", got.status, got.body)
	}
	if !reflect.DeepEqual(names, []string{"product:" + p.ID.String()}) {
		t.Errorf("locks taken %q; want the product's", names)
	}
	if log.String() != "" {
		t.Errorf("logged a lock that was never taken: %s", log.String())
	}

	lockErr = nil
	got = do(t, c, "POST", "/orders/", "JWT "+w.token, orderBody(p.ID.String(), 1))
	if got.status != fasthttp.StatusCreated {
		t.Errorf("order with a failing unlock: %d %s; want 201", got.status, got.body)
	}
	if !strings.Contains(log.String(), "lost the lock") {
		t.Errorf("the failed unlock was not logged: %q", log.String())
	}
}

func TestBaselineCeiling(t *testing.T) {
	t.Parallel()
	h, err := bench.NewBaseline(bench.TargetCeiling, bench.BaselineDeps{})
	if err != nil {
		t.Fatal(err)
	}
	c := serve(t, h)
	for _, r := range []struct{ method, path, body string }{
		{"POST", "/orders/", `{"items":[]}`}, {"GET", "/healthz", ""}, {"GET", "/anything", ""},
	} {
		got := do(t, c, r.method, r.path, "", r.body)
		if got.status != 200 || got.contentType != "application/json" || string(got.body) != `{"status":"ok"}` {
			t.Errorf("%s %s = %d %s %s; want 200 {\"status\":\"ok\"}", r.method, r.path, got.status, got.contentType, got.body)
		}
	}
}

func TestNewBaselineRefusesIncompleteDeps(t *testing.T) {
	t.Parallel()
	full := bench.BaselineDeps{Orders: &persist.Store{}, Products: &persist.Store{}, Locks: &persist.Redis{},
		JWTSecret: testSecret}
	tests := []struct {
		kind   string
		change func(*bench.BaselineDeps)
		ok     bool
	}{
		{bench.TargetNaive, func(*bench.BaselineDeps) {}, true},
		{bench.TargetRedisLock, func(*bench.BaselineDeps) {}, true},
		{bench.TargetNaive, func(d *bench.BaselineDeps) { d.Locks = nil }, true},
		{bench.TargetNaive, func(d *bench.BaselineDeps) { d.Orders = nil }, false},
		{bench.TargetNaive, func(d *bench.BaselineDeps) { d.Products = nil }, false},
		{bench.TargetNaive, func(d *bench.BaselineDeps) { d.JWTSecret = nil }, false},
		{bench.TargetRedisLock, func(d *bench.BaselineDeps) { d.Locks = nil }, false},
		{bench.TargetFlashstock, func(*bench.BaselineDeps) {}, false},
		{"bogus", func(*bench.BaselineDeps) {}, false},
	}
	for _, tt := range tests {
		d := full
		tt.change(&d)
		h, err := bench.NewBaseline(tt.kind, d)
		if (err == nil) != tt.ok || (h != nil) != tt.ok {
			t.Errorf("NewBaseline(%s) = %v; want ok=%v", tt.kind, err, tt.ok)
		}
	}
}

// TestBaselineProductDetail: the baselines serve GET /products/{id} as
// flashstock does, from one read of the row: the catalog scenario's reads.
func TestBaselineProductDetail(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	p := w.product(t, "READ", 7)
	hidden := w.product(t, "HIDDEN", 3)
	if _, err := w.store.UpdateProduct(t.Context(), hidden.ID, func(cur engine.Product) (engine.Product, error) {
		cur.IsActive = false
		return cur, nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			var log logBuffer
			h, err := bench.NewBaseline(kind, w.deps(&log))
			if err != nil {
				t.Fatal(err)
			}
			c := serve(t, h)
			got := do(t, c, "GET", "/products/"+p.ID.String(), "", "")
			var j struct {
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
			dec := json.NewDecoder(bytes.NewReader(got.body))
			dec.DisallowUnknownFields()
			if got.status != 200 || got.contentType != "application/json" || dec.Decode(&j) != nil {
				t.Fatalf("GET /products/{id} = %d %s %s; want 200 and the product's JSON", got.status, got.contentType, got.body)
			}
			if j.ID != p.ID || j.SKU != "READ" || j.Name != p.Name || j.Price != 1250 || j.Currency != "EUR" ||
				j.Stock != 7 || !j.IsActive || j.LowStockThreshold != p.LowStockThreshold ||
				!j.CreatedAt.Equal(p.CreatedAt) || !j.UpdatedAt.Equal(p.UpdatedAt) {
				t.Errorf("product JSON %s, want %+v", got.body, p)
			}
			for _, path := range []string{"/products/" + hidden.ID.String(), "/products/" + newID(t).String(),
				"/products/not-a-uuid", "/products/"} {
				if a := do(t, c, "GET", path, "", ""); a.status != 404 || problemOf(t, a).Code != "not_found" {
					t.Errorf("GET %s = %d %s; want 404 not_found", path, a.status, a.body)
				}
			}
			if a := do(t, c, "DELETE", "/products/"+p.ID.String(), "", ""); a.status != 405 {
				t.Errorf("DELETE /products/{id} = %d; want 405", a.status)
			}
			if log.String() != "" {
				t.Errorf("logged: %s", log.String())
			}
		})
	}
}
