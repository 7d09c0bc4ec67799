package httpd

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/valyala/fasthttp"

	"github.com/flashstock/flashstock/engine"
)

// Strings PostgreSQL cannot store (NUL, invalid UTF-8) and other hostile
// text, at every entry point: each is refused at the edge, 400
// validation_failed naming the field (401 for credentials and tokens, 404 for
// a path id), and none reaches a store. The stores here refuse such text as
// PostgreSQL does, with an error no sentinel matches, so a string that got
// through would answer 500.

// errPGText is what PostgreSQL answers for text its text type cannot hold.
var errPGText = errors.New(`ERROR: invalid byte sequence for encoding "UTF8": 0x00 (SQLSTATE 22021)`)

// pgText returns errPGText if any of ss is text PostgreSQL refuses.
func pgText(ss ...string) error {
	for _, s := range ss {
		if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
			return errPGText
		}
	}
	return nil
}

// pgStore is a memStore whose writes and username lookups refuse what
// PostgreSQL refuses; it counts the lookups by username.
type pgStore struct {
	*memStore
	byUsername atomic.Int32
}

func (s *pgStore) CreateUser(ctx context.Context, u engine.User) error {
	if err := pgText(u.Username, u.Email); err != nil {
		return err
	}
	return s.memStore.CreateUser(ctx, u)
}

func (s *pgStore) UserByUsername(ctx context.Context, username string) (engine.User, error) {
	s.byUsername.Add(1)
	if err := pgText(username); err != nil {
		return engine.User{}, err
	}
	return s.memStore.UserByUsername(ctx, username)
}

func (s *pgStore) CreateProduct(ctx context.Context, p engine.Product) error {
	if err := pgText(p.SKU, p.Name, string(p.Price.Currency)); err != nil {
		return err
	}
	return s.memStore.CreateProduct(ctx, p)
}

func (s *pgStore) UpdateProduct(ctx context.Context, id engine.ID, change func(engine.Product) (engine.Product, error)) (engine.Product, error) {
	return s.memStore.UpdateProduct(ctx, id, func(p engine.Product) (engine.Product, error) {
		next, err := change(p)
		if err == nil {
			err = pgText(next.SKU, next.Name, string(next.Price.Currency))
		}
		return next, err
	})
}

// pgIdempotency is a memIdempotency that refuses keys PostgreSQL would.
type pgIdempotency struct{ *memIdempotency }

func (m pgIdempotency) BeginIdempotent(ctx context.Context, c engine.IdempotencyClaim) (engine.IdempotencyState, error) {
	if err := pgText(c.Key); err != nil {
		return engine.IdempotencyState{}, err
	}
	return m.memIdempotency.BeginIdempotent(ctx, c)
}

// textFixture is a server whose every port refuses unstorable text, with a
// buyer, an admin, one product and webhooks on.
type textFixture struct {
	*testServer
	pg                   *pgStore
	product              engine.Product
	buyerAuth, adminAuth []string
	placed               atomic.Int32
}

func newTextFixture(t *testing.T) *textFixture {
	t.Helper()
	f := &textFixture{}
	orders := &ordersFake{
		PlaceOrderFunc: func(_ context.Context, cmd engine.PlaceOrder) (engine.Order, error) {
			f.placed.Add(1)
			return placedOrder(cmd), nil
		},
		ListOrdersFunc: func(context.Context, engine.OrderQuery) ([]engine.Order, error) { return nil, nil },
		TransitionOrderFunc: func(_ context.Context, cmd engine.TransitionOrder) (engine.Order, error) {
			return storedOrder(cmd.OrderID, cmd.UserID, cmd.To), nil
		},
	}
	payments := &paymentsFake{ApplyPaymentFunc: func(_ context.Context, ev engine.PaymentEvent) (engine.PaymentOutcome, error) {
		if err := pgText(ev.EventID, ev.Reference, ev.WebhookID); err != nil {
			return "", err
		}
		return engine.OutcomeOrderNotFound, nil
	}}
	dead := &deadLettersFake{DeadLettersFunc: func(context.Context, engine.DeadLetterQuery) ([]engine.DeadLetter, error) {
		return nil, nil
	}}
	f.testServer = newTestServer(t, func(c *Config, d *Deps) {
		f.pg = &pgStore{memStore: d.Users.(*memStore)}
		d.Users, d.Products, d.Orders = f.pg, f.pg, orders
		d.Idempotency = pgIdempotency{newMemIdempotency()}
		c.WebhookSecret, d.Payments, d.DeadLetters = testWebhookSecret, payments, dead
	})
	_, token := f.account(t, "buyer", false)
	f.buyerAuth = authHeader(token)
	_, token = f.account(t, "admin", true)
	f.adminAuth = authHeader(token)
	p, err := engine.NewProduct(engine.ProductDraft{SKU: "TEXT-1", Name: "Text", Price: 100, Stock: 5}, orderProductA, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := f.store.CreateProduct(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	f.product = p
	f.pg.byUsername.Store(0) // the logins above
	return f
}

// textCase is one request carrying hostile text and the answer it must get.
type textCase struct {
	name    string
	method  string
	path    string
	body    string
	headers []string
	status  int
	code    string
	field   string // the field a 400 must name; "" for other statuses
}

func (f *textFixture) check(t *testing.T, tc textCase) {
	t.Helper()
	var body any
	if tc.body != "" {
		body = tc.body
	}
	status, hdr, resp := f.do(tc.method, tc.path, body, tc.headers...)
	p := wantProblem(t, status, hdr, resp, tc.status, tc.code)
	if tc.field == "" {
		return
	}
	for _, e := range p.Errors {
		if e.Field == tc.field {
			return
		}
	}
	t.Errorf("%s: the problem does not name %q: %s", tc.name, tc.field, resp)
}

func TestUnstorableTextRefusedAtEveryEntryPoint(t *testing.T) {
	t.Parallel()
	f := newTextFixture(t)
	product := "/products/" + f.product.ID.String()
	order := "/orders/" + orderID(1).String()
	reg := func(username, password, email string) string {
		return `{"username":"` + username + `","password":"` + password + `","email":"` + email + `"}`
	}
	login := func(username, password string) string {
		return `{"username":"` + username + `","password":"` + password + `"}`
	}
	bad, badAuth := fasthttp.StatusBadRequest, fasthttp.StatusUnauthorized
	cases := []textCase{
		// Registration: username, e-mail, password.
		{"register NUL username", "POST", "/auth/users/", reg(`al\u0000ice`, "good-pass-1", ""), nil, bad, "validation_failed", "username"},
		{"register control username", "POST", "/auth/users/", reg(`al\u001bice`, "good-pass-1", ""), nil, bad, "validation_failed", "username"},
		{"register long username", "POST", "/auth/users/", reg(strings.Repeat("u", 151), "good-pass-1", ""), nil, bad, "validation_failed", "username"},
		{"register NUL password", "POST", "/auth/users/", reg("alice", `pass\u0000word`, ""), nil, bad, "validation_failed", "password"},
		{"register NUL e-mail", "POST", "/auth/users/", reg("alice", "good-pass-1", `a\u0000@example.com`), nil, bad, "validation_failed", "email"},
		{"register control e-mail", "POST", "/auth/users/", reg("alice", "good-pass-1", `\"a\tb\"@example.com`), nil, bad, "validation_failed", "email"},
		{"register invalid UTF-8 username", "POST", "/auth/users/", reg("al\xffice", "good-pass-1", ""), nil, bad, "validation_failed", "username"},
		// Login: an impossible username is an unknown user.
		{"login NUL username", "POST", "/auth/jwt/create/", login(`al\u0000ice`, "whatever-pw"), nil, badAuth, "unauthorized", ""},
		{"login invalid UTF-8 username", "POST", "/auth/jwt/create/", login("al\xffice", "whatever-pw"), nil, badAuth, "unauthorized", ""},
		{"login control username", "POST", "/auth/jwt/create/", login(`al\u007fice`, "whatever-pw"), nil, badAuth, "unauthorized", ""},
		{"login huge username", "POST", "/auth/jwt/create/", login(strings.Repeat("a", 10000), "whatever-pw"), nil, badAuth, "unauthorized", ""},
		// Tokens never reach a store as text.
		{"refresh NUL token", "POST", "/auth/jwt/refresh/", `{"refresh":"a\u0000b"}`, nil, badAuth, "unauthorized", ""},
		{"verify NUL token", "POST", "/auth/jwt/verify/", `{"token":"\u0000"}`, nil, badAuth, "unauthorized", ""},
		{"bearer with invalid UTF-8", "GET", "/auth/users/me/", "", []string{"Authorization", "Bearer \xff\xfe"}, badAuth, "unauthorized", ""},
		// Products: every text field, on create and on PATCH.
		{"create NUL name", "POST", "/products/", `{"sku":"S-1","name":"Red\u0000","price":1,"stock":1}`, f.adminAuth, bad, "validation_failed", "name"},
		{"create control name", "POST", "/products/", `{"sku":"S-1","name":"Red\u0007","price":1,"stock":1}`, f.adminAuth, bad, "validation_failed", "name"},
		{"create newline name", "POST", "/products/", `{"sku":"S-1","name":"Red\nT","price":1,"stock":1}`, f.adminAuth, bad, "validation_failed", "name"},
		{"create NUL sku", "POST", "/products/", `{"sku":"S\u0000","name":"Red","price":1,"stock":1}`, f.adminAuth, bad, "validation_failed", "sku"},
		{"create NUL currency", "POST", "/products/", `{"sku":"S-1","name":"Red","price":1,"stock":1,"currency":"E\u0000R"}`, f.adminAuth, bad, "validation_failed", "currency"},
		{"patch NUL name", "PATCH", product, `{"name":"\u0000"}`, f.adminAuth, bad, "validation_failed", "name"},
		{"patch control name", "PATCH", product, `{"name":"a\u0085b"}`, f.adminAuth, bad, "validation_failed", "name"},
		{"patch NUL sku", "PATCH", product, `{"sku":"a\u0000"}`, f.adminAuth, bad, "validation_failed", "sku"},
		{"patch invalid UTF-8 currency", "PATCH", product, "{\"currency\":\"E\xffR\"}", f.adminAuth, bad, "validation_failed", "currency"},
		{"product list NUL cursor", "GET", "/products/?cursor=%00", "", nil, bad, "validation_failed", "cursor"},
		{"product NUL path id", "GET", "/products/%00", "", nil, fasthttp.StatusNotFound, "not_found", ""},
		// Orders: items, the key, query parameters, path ids, the status.
		{"order NUL product id", "POST", "/orders/", `{"items":[{"product_id":"\u0000","quantity":1}]}`, f.buyerAuth, bad, "validation_failed", "items[0].product_id"},
		{"order invalid UTF-8 key", "POST", "/orders/", orderBody(orderLine(orderProductA, 1)),
			with(f.buyerAuth, headerIdempotencyKey, "k\xff"), bad, "validation_failed", headerIdempotencyKey},
		{"order long key", "POST", "/orders/", orderBody(orderLine(orderProductA, 1)),
			with(f.buyerAuth, headerIdempotencyKey, strings.Repeat("k", 256)), bad, "validation_failed", headerIdempotencyKey},
		{"orders NUL status", "GET", "/orders/?status=%00", "", f.buyerAuth, bad, "validation_failed", "status"},
		{"orders invalid UTF-8 status", "GET", "/orders/?status=%FF", "", f.buyerAuth, bad, "validation_failed", "status"},
		{"orders NUL cursor", "GET", "/orders/?cursor=%00%FF", "", f.buyerAuth, bad, "validation_failed", "cursor"},
		{"order NUL path id", "GET", "/orders/a%00b", "", f.buyerAuth, fasthttp.StatusNotFound, "not_found", ""},
		{"order patch NUL status", "PATCH", order, `{"status":"\u0000"}`, f.adminAuth, bad, "validation_failed", "status"},
		// Dead letters: query parameters.
		{"dead letters NUL status", "GET", "/admin/dead-letters?status=%00", "", f.adminAuth, bad, "validation_failed", "status"},
		{"dead letters NUL cursor", "GET", "/admin/dead-letters?cursor=%00", "", f.adminAuth, bad, "validation_failed", "cursor"},
	}
	// The webhook: its fields and its id, under good signatures.
	for _, w := range []struct{ name, id, body, field string }{
		{"webhook NUL event_id", "msg_1", `{"event_id":"e\u0000","reference":"ORD-0123456789AB","status":"success","amount":1}`, "event_id"},
		{"webhook NUL reference", "msg_2", `{"event_id":"e2","reference":"ORD-\u0000","status":"success","amount":1}`, "reference"},
		{"webhook non-ASCII reference", "msg_3", `{"event_id":"e3","reference":"ORD-é","status":"success","amount":1}`, "reference"},
		{"webhook NUL status", "msg_4", `{"event_id":"e4","reference":"ORD-0123456789AB","status":"\u0000","amount":1}`, "status"},
		{"webhook invalid UTF-8 id", "msg\xff", `{"event_id":"e5","reference":"ORD-0123456789AB","status":"success","amount":1}`, standardwebhooks.HeaderWebhookID},
	} {
		cases = append(cases, textCase{w.name, "POST", webhookPath, w.body, signed(t, testWebhookSecret, w.id, time.Now(), w.body),
			bad, "validation_failed", w.field})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { f.check(t, tc) })
	}
	if n := f.pg.byUsername.Load(); n != 0 {
		t.Errorf("logins with impossible usernames asked the store %d times, want never", n)
	}
	if n := f.placed.Load(); n != 0 {
		t.Errorf("%d orders placed from refused requests", n)
	}
	p, err := f.store.Product(context.Background(), f.product.ID)
	if err != nil || p != f.product {
		t.Errorf("product after refused patches = %+v, %v; want it unchanged", p, err)
	}
}

// A login with text the store cannot hold in the password is an ordinary
// bad-credentials answer, like any wrong password.
func TestLoginPasswordWithNUL(t *testing.T) {
	t.Parallel()
	f := newTextFixture(t)
	for _, body := range []string{`{"username":"buyer","password":"pw-buyer-secret\u0000"}`,
		"{\"username\":\"buyer\",\"password\":\"pw-\xff\"}", `{"username":"buyer","password":"` + strings.Repeat("p", 5000) + `"}`} {
		status, hdr, resp := f.do("POST", "/auth/jwt/create/", body)
		p := wantProblem(t, status, hdr, resp, fasthttp.StatusUnauthorized, "unauthorized")
		if p.Detail != "no active account found with the given credentials" {
			t.Errorf("detail = %q", p.Detail)
		}
	}
}
