package httpd

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
	"golang.org/x/crypto/bcrypt"

	"github.com/flashstock/flashstock/engine"
)

// Shared test doubles and the in-memory test server for every httpd test.

var (
	_ Users       = (*memStore)(nil)
	_ Products    = (*memStore)(nil)
	_ Users       = (*usersFake)(nil)
	_ Products    = (*productsFake)(nil)
	_ Orders      = (*ordersFake)(nil)
	_ Payments    = (*paymentsFake)(nil)
	_ DeadLetters = (*deadLettersFake)(nil)
	_ Observer    = (*observerFake)(nil)
	_ Actors      = (*actorsFake)(nil)
)

// memStore is a correct in-memory Users and Products: unique usernames and
// SKUs, copies in and out, safe for concurrent use. All fields guarded by mu.
type memStore struct {
	mu       sync.Mutex
	users    map[engine.ID]engine.User
	products map[engine.ID]engine.Product
}

func newMemStore() *memStore {
	return &memStore{users: map[engine.ID]engine.User{}, products: map[engine.ID]engine.Product{}}
}

func (m *memStore) CreateUser(_ context.Context, u engine.User) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.users[u.ID]; ok {
		return fmt.Errorf("user id %s: %w", u.ID, engine.ErrConflict)
	}
	for _, other := range m.users {
		if other.Username == u.Username {
			return fmt.Errorf("username %q: %w", u.Username, engine.ErrConflict)
		}
	}
	u.PasswordHash = slices.Clone(u.PasswordHash)
	m.users[u.ID] = u
	return nil
}

func (m *memStore) UserByUsername(_ context.Context, username string) (engine.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, u := range m.users {
		if u.Username == username {
			u.PasswordHash = slices.Clone(u.PasswordHash)
			return u, nil
		}
	}
	return engine.User{}, fmt.Errorf("user %q: %w", username, engine.ErrNotFound)
}

func (m *memStore) UserByID(_ context.Context, id engine.ID) (engine.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.users[id]
	if !ok {
		return engine.User{}, fmt.Errorf("user %s: %w", id, engine.ErrNotFound)
	}
	u.PasswordHash = slices.Clone(u.PasswordHash)
	return u, nil
}

// deleteUser removes an account (no API does; tests use it).
func (m *memStore) deleteUser(id engine.ID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.users, id)
}

// setAdmin changes an account's admin flag (no API does; tests use it).
func (m *memStore) setAdmin(id engine.ID, admin bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u := m.users[id]
	u.IsAdmin = admin
	m.users[id] = u
}

func (m *memStore) CreateProduct(_ context.Context, p engine.Product) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.products[p.ID]; ok {
		return fmt.Errorf("product id %s: %w", p.ID, engine.ErrConflict)
	}
	if m.skuTakenLocked(p.SKU, p.ID) {
		return fmt.Errorf("sku %q: %w", p.SKU, engine.ErrConflict)
	}
	m.products[p.ID] = p
	return nil
}

func (m *memStore) Product(_ context.Context, id engine.ID) (engine.Product, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.products[id]
	if !ok {
		return engine.Product{}, fmt.Errorf("product %s: %w", id, engine.ErrNotFound)
	}
	return p, nil
}

func (m *memStore) ListProducts(_ context.Context, after engine.ID, limit int) ([]engine.Product, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []engine.Product
	for _, p := range m.products {
		if p.IsActive && bytes.Compare(p.ID[:], after[:]) > 0 {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b engine.Product) int { return bytes.Compare(a.ID[:], b.ID[:]) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (m *memStore) UpdateProduct(_ context.Context, id engine.ID, change func(engine.Product) (engine.Product, error)) (engine.Product, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, ok := m.products[id]
	if !ok {
		return engine.Product{}, fmt.Errorf("product %s: %w", id, engine.ErrNotFound)
	}
	next, err := change(cur)
	if err != nil {
		return engine.Product{}, err
	}
	if m.skuTakenLocked(next.SKU, id) {
		return engine.Product{}, fmt.Errorf("sku %q: %w", next.SKU, engine.ErrConflict)
	}
	next.ID = id
	m.products[id] = next
	return next, nil
}

// skuTakenLocked reports whether a product other than self has sku; mu held.
func (m *memStore) skuTakenLocked(sku string, self engine.ID) bool {
	for _, p := range m.products {
		if p.SKU == sku && p.ID != self {
			return true
		}
	}
	return false
}

// usersFake is a Users whose behaviour each test sets; a method whose func is
// nil fails with errFakeUnset.
type usersFake struct {
	CreateUserFunc     func(ctx context.Context, u engine.User) error
	UserByUsernameFunc func(ctx context.Context, username string) (engine.User, error)
	UserByIDFunc       func(ctx context.Context, id engine.ID) (engine.User, error)
}

var errFakeUnset = errors.New("fake: method not set by the test")

func (f *usersFake) CreateUser(ctx context.Context, u engine.User) error {
	if f.CreateUserFunc == nil {
		return errFakeUnset
	}
	return f.CreateUserFunc(ctx, u)
}

func (f *usersFake) UserByUsername(ctx context.Context, username string) (engine.User, error) {
	if f.UserByUsernameFunc == nil {
		return engine.User{}, errFakeUnset
	}
	return f.UserByUsernameFunc(ctx, username)
}

func (f *usersFake) UserByID(ctx context.Context, id engine.ID) (engine.User, error) {
	if f.UserByIDFunc == nil {
		return engine.User{}, errFakeUnset
	}
	return f.UserByIDFunc(ctx, id)
}

// productsFake is a Products whose behaviour each test sets; a method whose
// func is nil fails with errFakeUnset.
type productsFake struct {
	CreateProductFunc func(ctx context.Context, p engine.Product) error
	ProductFunc       func(ctx context.Context, id engine.ID) (engine.Product, error)
	ListProductsFunc  func(ctx context.Context, after engine.ID, limit int) ([]engine.Product, error)
	UpdateProductFunc func(ctx context.Context, id engine.ID, change func(engine.Product) (engine.Product, error)) (engine.Product, error)
}

func (f *productsFake) CreateProduct(ctx context.Context, p engine.Product) error {
	if f.CreateProductFunc == nil {
		return errFakeUnset
	}
	return f.CreateProductFunc(ctx, p)
}

func (f *productsFake) Product(ctx context.Context, id engine.ID) (engine.Product, error) {
	if f.ProductFunc == nil {
		return engine.Product{}, errFakeUnset
	}
	return f.ProductFunc(ctx, id)
}

func (f *productsFake) ListProducts(ctx context.Context, after engine.ID, limit int) ([]engine.Product, error) {
	if f.ListProductsFunc == nil {
		return nil, errFakeUnset
	}
	return f.ListProductsFunc(ctx, after, limit)
}

func (f *productsFake) UpdateProduct(ctx context.Context, id engine.ID, change func(engine.Product) (engine.Product, error)) (engine.Product, error) {
	if f.UpdateProductFunc == nil {
		return engine.Product{}, errFakeUnset
	}
	return f.UpdateProductFunc(ctx, id, change)
}

// testSecret is the JWT secret of every test server (32 bytes).
var testSecret = []byte("flashstock-test-secret-32-bytes!")

// testServer is a Server served over an in-memory listener.
type testServer struct {
	t      *testing.T
	srv    *Server
	cfg    Config    // as passed to New (before defaults)
	store  *memStore // Users and Products unless an option replaced them
	client *fasthttp.HostClient
}

// newTestServer starts a server backed by a fresh memStore; opts may change
// the config or the deps (e.g. swap in a usersFake) before New. It stops
// when the test ends.
func newTestServer(t *testing.T, opts ...func(*Config, *Deps)) *testServer {
	t.Helper()
	store := newMemStore()
	cfg := Config{JWTSecret: testSecret, BcryptCost: bcrypt.MinCost}
	deps := Deps{Users: store, Products: store, Orders: &ordersFake{}, Log: zerolog.Nop()}
	for _, opt := range opts {
		opt(&cfg, &deps)
	}
	srv, err := New(cfg, deps)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ln := fasthttputil.NewInmemoryListener()
	serveUntilCleanup(t, srv, ln)
	client := &fasthttp.HostClient{
		Addr: "flashstock.test",
		Dial: func(string) (net.Conn, error) { return ln.Dial() },
	}
	t.Cleanup(client.CloseIdleConnections) // runs before the server's shutdown
	return &testServer{t: t, srv: srv, cfg: cfg, store: store, client: client}
}

// serveUntilCleanup serves ln until the test ends, then shuts srv down and
// checks that both went cleanly.
func serveUntilCleanup(t *testing.T, srv *Server, ln net.Listener) {
	t.Helper()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
}

// do sends one request. body is sent as is when it is a string or []byte,
// as JSON otherwise, and not at all when nil. headers are name, value pairs.
// It returns the status, the raw response header (see headerValue) and the
// body. A transport failure fails the test and returns status 0.
func (ts *testServer) do(method, path string, body any, headers ...string) (status int, hdr, respBody []byte) {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(method)
	req.SetRequestURI("http://flashstock.test" + path)
	switch b := body.(type) {
	case nil:
	case []byte:
		req.SetBody(b)
	case string:
		req.SetBodyString(b)
	default:
		encoded, err := json.Marshal(b)
		if err != nil {
			ts.t.Errorf("%s %s: encode body: %v", method, path, err)
			return 0, nil, nil
		}
		req.SetBody(encoded)
	}
	if body != nil {
		req.Header.SetContentType("application/json")
	}
	if len(headers)%2 != 0 {
		ts.t.Errorf("%s %s: headers must be name, value pairs", method, path)
		return 0, nil, nil
	}
	for i := 0; i < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	if err := ts.client.DoTimeout(req, resp, 10*time.Second); err != nil {
		ts.t.Errorf("%s %s: %v", method, path, err)
		return 0, nil, nil
	}
	return resp.StatusCode(), slices.Clone(resp.Header.Header()), slices.Clone(resp.Body())
}

// headerValue returns the first value of the named header in a raw response
// header from do, or "".
func headerValue(hdr []byte, name string) string {
	for _, line := range bytes.Split(hdr, []byte("\r\n"))[1:] {
		k, v, ok := bytes.Cut(line, []byte(":"))
		if ok && bytes.EqualFold(bytes.TrimSpace(k), []byte(name)) {
			return string(bytes.TrimSpace(v))
		}
	}
	return ""
}

// authHeader returns the header pair that authenticates with an access token.
func authHeader(token string) []string { return []string{"Authorization", "Bearer " + token} }

// account stores a user with the given admin flag directly (the API never
// makes admins), logs in through the API and returns the user and an access
// token. The password is "pw-" + username + "-secret".
func (ts *testServer) account(t *testing.T, username string, admin bool) (engine.User, string) {
	t.Helper()
	pw := "pw-" + username + "-secret"
	hash, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	id, err := engine.NewID(time.Now(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	u := engine.User{ID: id, Username: username, IsAdmin: admin, PasswordHash: hash, CreatedAt: time.Now()}
	if err := ts.store.CreateUser(context.Background(), u); err != nil {
		t.Fatalf("create %s: %v", username, err)
	}
	status, _, body := ts.do("POST", "/auth/jwt/create/", map[string]string{"username": username, "password": pw})
	if status != fasthttp.StatusOK {
		t.Fatalf("login %s: status %d: %s", username, status, body)
	}
	var pair struct{ Access string }
	mustJSON(t, body, &pair)
	return u, pair.Access
}

// mustJSON decodes body into v or fails the test.
func mustJSON(t *testing.T, body []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("decode %q: %v", body, err)
	}
}

// wantProblem checks that a response is an application/problem+json with the
// given status and code, carrying a request id, and returns the problem.
func wantProblem(t *testing.T, status int, hdr, body []byte, wantStatus int, wantCode string) problem {
	t.Helper()
	if status != wantStatus {
		t.Fatalf("status = %d, want %d; body %s", status, wantStatus, body)
	}
	if ct := headerValue(hdr, "Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type = %q, want application/problem+json", ct)
	}
	var p problem
	mustJSON(t, body, &p)
	if p.Code != wantCode || p.Status != wantStatus {
		t.Errorf("problem code/status = %q/%d, want %q/%d; body %s", p.Code, p.Status, wantCode, wantStatus, body)
	}
	if p.RequestID == "" || p.RequestID != headerValue(hdr, headerRequestID) {
		t.Errorf("request_id = %q, X-Request-ID = %q: want equal and non-empty", p.RequestID, headerValue(hdr, headerRequestID))
	}
	return p
}

// ordersFake is an Orders whose behaviour each test sets; a method whose
// func is nil fails with errFakeUnset.
type ordersFake struct {
	PlaceOrderFunc      func(ctx context.Context, cmd engine.PlaceOrder) (engine.Order, error)
	OrderFunc           func(ctx context.Context, id engine.ID) (engine.Order, error)
	ListOrdersFunc      func(ctx context.Context, q engine.OrderQuery) ([]engine.Order, error)
	TransitionOrderFunc func(ctx context.Context, cmd engine.TransitionOrder) (engine.Order, error)
}

func (f *ordersFake) PlaceOrder(ctx context.Context, cmd engine.PlaceOrder) (engine.Order, error) {
	if f.PlaceOrderFunc == nil {
		return engine.Order{}, errFakeUnset
	}
	return f.PlaceOrderFunc(ctx, cmd)
}

func (f *ordersFake) Order(ctx context.Context, id engine.ID) (engine.Order, error) {
	if f.OrderFunc == nil {
		return engine.Order{}, errFakeUnset
	}
	return f.OrderFunc(ctx, id)
}

func (f *ordersFake) ListOrders(ctx context.Context, q engine.OrderQuery) ([]engine.Order, error) {
	if f.ListOrdersFunc == nil {
		return nil, errFakeUnset
	}
	return f.ListOrdersFunc(ctx, q)
}

func (f *ordersFake) TransitionOrder(ctx context.Context, cmd engine.TransitionOrder) (engine.Order, error) {
	if f.TransitionOrderFunc == nil {
		return engine.Order{}, errFakeUnset
	}
	return f.TransitionOrderFunc(ctx, cmd)
}

// paymentsFake is a Payments whose behaviour each test sets; a method whose
// func is nil fails with errFakeUnset.
type paymentsFake struct {
	ApplyPaymentFunc func(ctx context.Context, ev engine.PaymentEvent) (engine.PaymentOutcome, error)
}

func (f *paymentsFake) ApplyPayment(ctx context.Context, ev engine.PaymentEvent) (engine.PaymentOutcome, error) {
	if f.ApplyPaymentFunc == nil {
		return "", errFakeUnset
	}
	return f.ApplyPaymentFunc(ctx, ev)
}

// deadLettersFake is a DeadLetters whose behaviour each test sets; a method
// whose func is nil fails with errFakeUnset.
type deadLettersFake struct {
	DeadLettersFunc      func(ctx context.Context, q engine.DeadLetterQuery) ([]engine.DeadLetter, error)
	RetryDeadLetterFunc  func(ctx context.Context, id engine.ID, by string) (engine.DeadLetter, error)
	RetryDeadLettersFunc func(ctx context.Context, by string, max int) (engine.RetrySummary, error)
}

func (f *deadLettersFake) DeadLetters(ctx context.Context, q engine.DeadLetterQuery) ([]engine.DeadLetter, error) {
	if f.DeadLettersFunc == nil {
		return nil, errFakeUnset
	}
	return f.DeadLettersFunc(ctx, q)
}

func (f *deadLettersFake) RetryDeadLetter(ctx context.Context, id engine.ID, by string) (engine.DeadLetter, error) {
	if f.RetryDeadLetterFunc == nil {
		return engine.DeadLetter{}, errFakeUnset
	}
	return f.RetryDeadLetterFunc(ctx, id, by)
}

func (f *deadLettersFake) RetryDeadLetters(ctx context.Context, by string, max int) (engine.RetrySummary, error) {
	if f.RetryDeadLettersFunc == nil {
		return engine.RetrySummary{}, errFakeUnset
	}
	return f.RetryDeadLettersFunc(ctx, by, max)
}

// observerFake is an Observer whose behaviour each test sets; a method whose
// func is nil does nothing (an observer has nothing to fail with).
type observerFake struct {
	RequestFunc     func(route, method string, status int, took time.Duration)
	OrderPlacedFunc func(result string, took time.Duration, total engine.Money)
}

func (f *observerFake) Request(route, method string, status int, took time.Duration) {
	if f.RequestFunc != nil {
		f.RequestFunc(route, method, status, took)
	}
}

func (f *observerFake) OrderPlaced(result string, took time.Duration, total engine.Money) {
	if f.OrderPlacedFunc != nil {
		f.OrderPlacedFunc(result, took, total)
	}
}

// actorsFake is an Actors whose behaviour each test sets; a method whose
// func is nil fails with errFakeUnset.
type actorsFake struct {
	ActorStatsFunc func(ctx context.Context) (engine.ActorStats, error)
}

func (f *actorsFake) ActorStats(ctx context.Context) (engine.ActorStats, error) {
	if f.ActorStatsFunc == nil {
		return engine.ActorStats{}, errFakeUnset
	}
	return f.ActorStatsFunc(ctx)
}
