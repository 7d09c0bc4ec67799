package httpd

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/flashstock/flashstock/engine"
)

// A validly signed token whose user does not exist (deleted, or signed with
// a leaked secret) authenticates nothing: 401. The user is looked up once
// per token (and again every tokenUserRecheck), and a store that cannot
// answer is 503, never 401.

// countingUsers is a memStore that counts UserByID calls and can fail them
// with an outage.
type countingUsers struct {
	*memStore
	byID atomic.Int32
	down atomic.Bool
}

func (u *countingUsers) UserByID(ctx context.Context, id engine.ID) (engine.User, error) {
	u.byID.Add(1)
	if u.down.Load() {
		return engine.User{}, fmt.Errorf("user %s: %w: dial tcp 10.0.0.7:5432: connection refused", id, engine.ErrUnavailable)
	}
	return u.memStore.UserByID(ctx, id)
}

// newTokenUserFixture is an order fixture whose Users count UserByID and
// whose token clock runs at time.Now plus *shift.
func newTokenUserFixture(t *testing.T) (*orderFixture, *countingUsers, *atomic.Int64) {
	t.Helper()
	users := &countingUsers{}
	shift := &atomic.Int64{}
	f := newOrderFixture(t, func(_ *Config, d *Deps) {
		users.memStore = d.Users.(*memStore)
		d.Users = users
		d.Idempotency = newMemIdempotency()
	})
	f.srv.tokens.now = func() time.Time { return time.Now().Add(time.Duration(shift.Load())) }
	return f, users, shift
}

// forgedToken is a validly signed access token for a user that never
// existed.
func forgedToken(t *testing.T, ts *testServer, admin bool) string {
	t.Helper()
	id, err := engine.NewID(time.Now(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	token, err := ts.srv.tokens.issue(kindAccess, engine.User{ID: id, Username: "ghost", IsAdmin: admin})
	if err != nil {
		t.Fatal(err)
	}
	return token
}

func TestTokenOfUnknownUserIsUnauthorized(t *testing.T) {
	t.Parallel()
	f, _, _ := newTokenUserFixture(t)
	body := orderBody(orderLine(orderProductA, 1))
	for _, admin := range []bool{false, true} {
		auth := authHeader(forgedToken(t, f.testServer, admin))
		for _, req := range []struct {
			method, path, body string
			headers            []string
		}{
			{"POST", "/orders/", body, auth},
			{"POST", "/orders/", body, with(auth, headerIdempotencyKey, "forged-1")},
			{"POST", "/orders/", body, with(auth, headerIdempotencyKey, "forged-1")}, // again: no key was claimed
			{"GET", "/orders/", "", auth},
			{"GET", "/orders/" + orderID(1).String(), "", auth},
			{"GET", "/auth/users/me/", "", auth},
			{"POST", "/products/", `{"sku":"X","name":"X","price":1,"stock":1}`, auth},
		} {
			var b any
			if req.body != "" {
				b = req.body
			}
			status, hdr, resp := f.do(req.method, req.path, b, req.headers...)
			p := wantProblem(t, status, hdr, resp, fasthttp.StatusUnauthorized, "unauthorized")
			if p.Detail != "the account this token was issued for does not exist" {
				t.Errorf("%s %s: detail %q", req.method, req.path, p.Detail)
			}
		}
		token := auth[1][len("Bearer "):]
		status, hdr, resp := f.do("POST", "/auth/jwt/verify/", fmt.Sprintf(`{"token":%q}`, token))
		wantProblem(t, status, hdr, resp, fasthttp.StatusUnauthorized, "unauthorized")
	}
	if n := len(f.placed.all()); n != 0 {
		t.Errorf("%d orders placed with tokens of unknown users", n)
	}
	if n := f.srv.tokens.cache.len(); n > 3 { // the fixture's own three logins at most
		t.Errorf("%d tokens cached: tokens of unknown users must not stay", n)
	}
}

func TestTokenUserCheckedOncePerToken(t *testing.T) {
	t.Parallel()
	f, users, shift := newTokenUserFixture(t)
	users.byID.Store(0)
	body := orderBody(orderLine(orderProductA, 1))
	for range 5 {
		if status, _, resp := f.do("POST", "/orders/", body, f.buyerAuth...); status != fasthttp.StatusCreated {
			t.Fatalf("order: %d %s", status, resp)
		}
	}
	if n := users.byID.Load(); n != 1 {
		t.Errorf("UserByID called %d times for 5 requests with one token, want 1", n)
	}
	// After the recheck interval the user is read again, once.
	shift.Store(int64(tokenUserRecheck + time.Second))
	for range 3 {
		if status, _, resp := f.do("GET", "/orders/", nil, f.buyerAuth...); status != fasthttp.StatusOK {
			t.Fatalf("list: %d %s", status, resp)
		}
	}
	if n := users.byID.Load(); n != 2 {
		t.Errorf("UserByID called %d times in all, want 2 (once more after the recheck interval)", n)
	}
}

// A user deleted after their token was checked loses it at the next
// recheck, at most tokenUserRecheck later.
func TestTokenOfDeletedUserRefusedAfterRecheck(t *testing.T) {
	t.Parallel()
	f, _, shift := newTokenUserFixture(t)
	if status, _, resp := f.do("GET", "/orders/", nil, f.buyerAuth...); status != fasthttp.StatusOK {
		t.Fatalf("list: %d %s", status, resp)
	}
	f.store.deleteUser(f.buyer.ID)
	if status, _, _ := f.do("GET", "/orders/", nil, f.buyerAuth...); status != fasthttp.StatusOK {
		t.Errorf("status %d within the recheck interval, want 200 (the documented window)", status)
	}
	shift.Store(int64(tokenUserRecheck))
	status, hdr, resp := f.do("POST", "/orders/", orderBody(orderLine(orderProductA, 1)), f.buyerAuth...)
	wantProblem(t, status, hdr, resp, fasthttp.StatusUnauthorized, "unauthorized")
}

func TestTokenUserCheckDuringOutageIsUnavailable(t *testing.T) {
	t.Parallel()
	f, users, _ := newTokenUserFixture(t)
	_, token := f.account(t, "fresh", false) // a token not checked yet
	auth := authHeader(token)
	users.down.Store(true)
	body := orderBody(orderLine(orderProductA, 1))
	for _, headers := range [][]string{auth, with(auth, headerIdempotencyKey, "outage-1")} {
		status, hdr, resp := f.do("POST", "/orders/", body, headers...)
		p := wantProblem(t, status, hdr, resp, fasthttp.StatusServiceUnavailable, "unavailable")
		if headerValue(hdr, "Retry-After") == "" || p.Detail != problemKindOf("unavailable").detail {
			t.Errorf("503 = %s", resp)
		}
	}
	status, hdr, resp := f.do("GET", "/auth/users/me/", nil, auth...)
	wantProblem(t, status, hdr, resp, fasthttp.StatusServiceUnavailable, "unavailable")
	users.down.Store(false)
	for _, headers := range [][]string{auth, with(auth, headerIdempotencyKey, "outage-1")} {
		if status, _, resp := f.do("POST", "/orders/", body, headers...); status != fasthttp.StatusCreated {
			t.Fatalf("after the outage: %d %s", status, resp)
		}
	}
}

// problemKindOf returns the table row of code.
func problemKindOf(code string) problemKind {
	for _, k := range problemKinds {
		if k.code == code {
			return k
		}
	}
	return problemInternal
}
