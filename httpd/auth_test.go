package httpd

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/valyala/fasthttp"

	"github.com/flashstock/flashstock/engine"
)

type tokenPair struct {
	Access  string `json:"access"`
	Refresh string `json:"refresh"`
}

// registerAndLogin creates alice through the API and returns her tokens.
func registerAndLogin(t *testing.T, ts *testServer) (userJSON, tokenPair) {
	t.Helper()
	status, _, body := ts.do("POST", "/auth/users/", map[string]string{"username": "alice", "password": "correct horse", "email": "alice@example.com"})
	if status != fasthttp.StatusCreated {
		t.Fatalf("register: %d %s", status, body)
	}
	var u userJSON
	mustJSON(t, body, &u)
	status, _, body = ts.do("POST", "/auth/jwt/create/", map[string]string{"username": "alice", "password": "correct horse"})
	if status != fasthttp.StatusOK {
		t.Fatalf("login: %d %s", status, body)
	}
	var pair tokenPair
	mustJSON(t, body, &pair)
	if pair.Access == "" || pair.Refresh == "" {
		t.Fatalf("login returned %s", body)
	}
	return u, pair
}

func TestRegister(t *testing.T) {
	ts := newTestServer(t)
	status, hdr, body := ts.do("POST", "/auth/users/", map[string]string{"username": "alice", "password": "correct horse", "email": "alice@example.com"})
	if status != fasthttp.StatusCreated || headerValue(hdr, "Content-Type") != "application/json" {
		t.Fatalf("status %d, Content-Type %q: %s", status, headerValue(hdr, "Content-Type"), body)
	}
	var got map[string]any
	mustJSON(t, body, &got)
	if len(got) != 3 || got["username"] != "alice" || got["email"] != "alice@example.com" {
		t.Errorf("body = %s, want exactly {id, username, email}", body)
	}
	id, err := engine.ParseID(fmt.Sprint(got["id"]))
	if err != nil {
		t.Fatalf("id: %v", err)
	}
	stored, err := ts.store.UserByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if stored.IsAdmin || !passwordMatches(stored.PasswordHash, "correct horse") || stored.CreatedAt.IsZero() {
		t.Errorf("stored user = %+v", stored)
	}

	// Without e-mail, and an is_admin field is refused rather than ignored.
	status, _, body = ts.do("POST", "/auth/users", map[string]string{"username": "bob", "password": "correct horse"})
	if status != fasthttp.StatusCreated || !strings.Contains(string(body), `"email":""`) {
		t.Errorf("no e-mail: %d %s", status, body)
	}
	status, hdr, body = ts.do("POST", "/auth/users/", `{"username":"eve","password":"correct horse","is_admin":true}`)
	wantFieldErrors(t, wantProblem(t, status, hdr, body, 400, "validation_failed"), "is_admin")
}

func TestRegisterValidation(t *testing.T) {
	ts := newTestServer(t)
	long := strings.Repeat("a", 151)
	tests := []struct {
		name, body string
		fields     []string
	}{
		{"missing username", `{"password":"correct horse"}`, []string{"username"}},
		{"missing password", `{"username":"alice"}`, []string{"password"}},
		{"missing both", `{}`, []string{"username", "password"}},
		{"username too long", `{"username":"` + long + `","password":"correct horse"}`, []string{"username"}},
		{"username bad chars", `{"username":"al ice","password":"correct horse"}`, []string{"username"}},
		{"username non-ascii", `{"username":"alicé","password":"correct horse"}`, []string{"username"}},
		{"password 7 bytes", `{"username":"alice","password":"abcdefg"}`, []string{"password"}},
		{"password 73 bytes", `{"username":"alice","password":"` + strings.Repeat("x", 73) + `"}`, []string{"password"}},
		{"password all digits", `{"username":"alice","password":"12345678"}`, []string{"password"}},
		{"password equals username", `{"username":"alice.smith","password":"alice.smith"}`, []string{"password"}},
		{"bad e-mail", `{"username":"alice","password":"correct horse","email":"nope"}`, []string{"email"}},
		{"wrong type", `{"username":"alice","password":12345678}`, []string{"password"}},
		{"unknown field", `{"username":"alice","password":"correct horse","nick":"al"}`, []string{"nick"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, hdr, body := ts.do("POST", "/auth/users/", tt.body)
			wantFieldErrors(t, wantProblem(t, status, hdr, body, 400, "validation_failed"), tt.fields...)
		})
	}
	// The edges that are allowed.
	for _, body := range []string{
		`{"username":"` + strings.Repeat("a", 150) + `","password":"12345678a"}`,
		`{"username":"a","password":"` + strings.Repeat("x", 72) + `"}`,
		`{"username":"a.b+c-d_e@f","password":"abcdefgh"}`,
	} {
		if status, _, resp := ts.do("POST", "/auth/users/", body); status != fasthttp.StatusCreated {
			t.Errorf("%.40s...: %d %s", body, status, resp)
		}
	}
}

func wantFieldErrors(t *testing.T, p problem, fields ...string) {
	t.Helper()
	var got []string
	for _, e := range p.Errors {
		if e.Message == "" {
			t.Errorf("field %q has no message", e.Field)
		}
		got = append(got, e.Field)
	}
	if strings.Join(got, ",") != strings.Join(fields, ",") {
		t.Errorf("error fields = %v, want %v", got, fields)
	}
}

func TestRegisterDuplicate(t *testing.T) {
	ts := newTestServer(t)
	reg := map[string]string{"username": "alice", "password": "correct horse"}
	if status, _, body := ts.do("POST", "/auth/users/", reg); status != fasthttp.StatusCreated {
		t.Fatalf("first: %d %s", status, body)
	}
	status, hdr, body := ts.do("POST", "/auth/users/", reg)
	wantProblem(t, status, hdr, body, 409, "conflict")
}

func TestMalformedBodies(t *testing.T) {
	ts := newTestServer(t)
	for _, path := range []string{"/auth/users/", "/auth/jwt/create/", "/auth/jwt/refresh/", "/auth/jwt/verify/"} {
		for name, body := range map[string]string{
			"broken json":   `{"username":`,
			"empty body":    ``,
			"blank body":    "  \n",
			"not an object": `["alice"]`,
			"trailing data": `{} {}`,
		} {
			status, hdr, resp := ts.do("POST", path, body)
			p := wantProblem(t, status, hdr, resp, 400, "malformed_json")
			if p.Detail == "" {
				t.Errorf("%s %s: empty detail", path, name)
			}
		}
	}
}

func TestLogin(t *testing.T) {
	ts := newTestServer(t)
	u, pair := registerAndLogin(t, ts)

	status, _, body := ts.do("GET", "/auth/users/me/", nil, "Authorization", "JWT "+pair.Access)
	var me map[string]any
	mustJSON(t, body, &me)
	if status != 200 || me["id"] != u.ID.String() || me["username"] != "alice" ||
		me["email"] != "alice@example.com" || me["is_admin"] != false || len(me) != 4 {
		t.Errorf("me: %d %s", status, body)
	}

	// Wrong password and unknown user look exactly alike.
	status, hdr, body := ts.do("POST", "/auth/jwt/create/", map[string]string{"username": "alice", "password": "wrong horse"})
	badPw := wantProblem(t, status, hdr, body, 401, "unauthorized")
	status, hdr, body = ts.do("POST", "/auth/jwt/create/", map[string]string{"username": "mallory", "password": "correct horse"})
	noUser := wantProblem(t, status, hdr, body, 401, "unauthorized")
	if badPw.Detail != noUser.Detail || badPw.Title != noUser.Title {
		t.Errorf("bad password %q vs unknown user %q: must not differ", badPw.Detail, noUser.Detail)
	}
	// bcrypt sees only 72 bytes; the right password plus extra must not pass.
	pw72 := strings.Repeat("x", 72)
	if status, _, body := ts.do("POST", "/auth/users/", map[string]string{"username": "a", "password": pw72}); status != 201 {
		t.Fatalf("register a: %d %s", status, body)
	}
	if status, _, body := ts.do("POST", "/auth/jwt/create/", map[string]string{"username": "a", "password": pw72}); status != 200 {
		t.Errorf("login a: %d %s", status, body)
	}
	status, hdr, body = ts.do("POST", "/auth/jwt/create/", map[string]string{"username": "a", "password": pw72 + "y"})
	wantProblem(t, status, hdr, body, 401, "unauthorized")

	status, hdr, body = ts.do("POST", "/auth/jwt/create/", map[string]string{"username": "alice"})
	wantFieldErrors(t, wantProblem(t, status, hdr, body, 400, "validation_failed"), "password")
}

func TestRefreshAndVerify(t *testing.T) {
	ts := newTestServer(t)
	u, pair := registerAndLogin(t, ts)

	status, _, body := ts.do("POST", "/auth/jwt/refresh/", map[string]string{"refresh": pair.Refresh})
	var got map[string]string
	mustJSON(t, body, &got)
	if status != 200 || len(got) != 1 || got["access"] == "" {
		t.Fatalf("refresh: %d %s", status, body)
	}
	if status, _, body := ts.do("GET", "/auth/users/me", nil, authHeader(got["access"])...); status != 200 {
		t.Errorf("refreshed access token refused: %d %s", status, body)
	}

	status, hdr, body := ts.do("POST", "/auth/jwt/refresh", map[string]string{"refresh": pair.Access})
	wantProblem(t, status, hdr, body, 401, "unauthorized")
	status, hdr, body = ts.do("GET", "/auth/users/me/", nil, authHeader(pair.Refresh)...)
	wantProblem(t, status, hdr, body, 401, "unauthorized")

	for _, tok := range []string{pair.Access, pair.Refresh} {
		status, _, body := ts.do("POST", "/auth/jwt/verify/", map[string]string{"token": tok})
		if status != 200 || string(body) != "{}" {
			t.Errorf("verify: %d %s", status, body)
		}
	}
	status, hdr, body = ts.do("POST", "/auth/jwt/verify", map[string]string{"token": pair.Access + "x"})
	wantProblem(t, status, hdr, body, 401, "unauthorized")

	// Promotion shows in the next refreshed token; a deleted user can
	// neither refresh nor read /me.
	ts.store.setAdmin(u.ID, true)
	_, _, body = ts.do("POST", "/auth/jwt/refresh/", map[string]string{"refresh": pair.Refresh})
	mustJSON(t, body, &got)
	claims, err := ts.srv.tokens.parse(got["access"])
	if err != nil || !claims.IsAdmin {
		t.Errorf("refreshed after promotion: %+v, %v", claims, err)
	}
	ts.store.deleteUser(u.ID)
	status, hdr, body = ts.do("POST", "/auth/jwt/refresh/", map[string]string{"refresh": pair.Refresh})
	wantProblem(t, status, hdr, body, 401, "unauthorized")
	status, hdr, body = ts.do("GET", "/auth/users/me/", nil, authHeader(pair.Access)...)
	wantProblem(t, status, hdr, body, 401, "unauthorized")
}

func TestMeRejectsBadTokens(t *testing.T) {
	ts := newTestServer(t)
	u, pair := registerAndLogin(t, ts)

	past := newTokens(Config{JWTSecret: testSecret, AccessTTL: time.Minute, RefreshTTL: time.Hour})
	past.now = func() time.Time { return time.Now().Add(-time.Hour) }
	expired, err := past.issue(kindAccess, engine.User{ID: u.ID})
	if err != nil {
		t.Fatal(err)
	}
	claims := jwt.MapClaims{"sub": u.ID.String(), "user_id": u.ID.String(), "token_type": "access",
		"jti": "x", "iat": time.Now().Unix(), "exp": time.Now().Add(time.Minute).Unix(), "is_admin": true}
	headers := map[string][]string{
		"missing":       nil,
		"expired":       authHeader(expired),
		"alg none":      authHeader(sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims)),
		"other secret":  authHeader(sign(t, jwt.SigningMethodHS256, []byte("another-secret-another-secret-32"), claims)),
		"HS512":         authHeader(sign(t, jwt.SigningMethodHS512, testSecret, claims)),
		"refresh token": authHeader(pair.Refresh),
		"basic scheme":  {"Authorization", "Basic " + pair.Access},
		"no scheme":     {"Authorization", pair.Access},
		"scheme only":   {"Authorization", "Bearer "},
	}
	for name, h := range headers {
		status, hdr, body := ts.do("GET", "/auth/users/me/", nil, h...)
		if status != fasthttp.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", name, status)
			continue
		}
		wantProblem(t, status, hdr, body, 401, "unauthorized")
	}
	if status, _, _ := ts.do("GET", "/auth/users/me/", nil, "Authorization", "Bearer "+sign(t, jwt.SigningMethodHS256, testSecret, claims)); status != 200 {
		t.Errorf("control token with the right secret: %d", status)
	}
}

func TestAuthSchemesAndPaths(t *testing.T) {
	ts := newTestServer(t)
	_, pair := registerAndLogin(t, ts)
	for _, scheme := range []string{"JWT", "Bearer", "jwt", "bearer", "BEARER"} {
		for _, path := range []string{"/auth/users/me/", "/auth/users/me"} {
			if status, _, body := ts.do("GET", path, nil, "Authorization", scheme+" "+pair.Access); status != 200 {
				t.Errorf("%s %s: %d %s", scheme, path, status, body)
			}
		}
	}
	if status, _, body := ts.do("POST", "/auth/jwt/create", map[string]string{"username": "alice", "password": "correct horse"}); status != 200 {
		t.Errorf("login without slash: %d %s", status, body)
	}
}

func TestRequestIDAndMethod(t *testing.T) {
	ts := newTestServer(t)
	status, hdr, body := ts.do("POST", "/auth/jwt/create/", `{"username":"x","password":"y"}`, "X-Request-ID", "req-42")
	p := wantProblem(t, status, hdr, body, 401, "unauthorized")
	if p.RequestID != "req-42" {
		t.Errorf("request_id = %q, want the client's", p.RequestID)
	}
	status, hdr, body = ts.do("GET", "/auth/jwt/create/", nil)
	wantProblem(t, status, hdr, body, 405, "method_not_allowed")
	status, hdr, body = ts.do("DELETE", "/auth/users/me", nil)
	wantProblem(t, status, hdr, body, 405, "method_not_allowed")
}

func TestGuards(t *testing.T) {
	ts := newTestServer(t)
	guarded := func(guard func(*call) error) func(*call) error {
		return func(c *call) error {
			if err := guard(c); err != nil {
				return err
			}
			return c.respond(200, map[string]bool{"admin": c.user.IsAdmin})
		}
	}
	ts.srv.handle("GET", "/test/user", guarded((*call).requireUser))
	ts.srv.handle("GET", "/test/admin", guarded((*call).requireAdmin))
	_, userTok := ts.account(t, "alice", false)
	_, adminTok := ts.account(t, "root", true)

	tests := []struct {
		path, token string
		status      int
		code        string
	}{
		{"/test/user", userTok, 200, ""},
		{"/test/user", adminTok, 200, ""},
		{"/test/user", "", 401, "unauthorized"},
		{"/test/admin", adminTok, 200, ""},
		{"/test/admin", userTok, 403, "forbidden"},
		{"/test/admin", "", 401, "unauthorized"},
	}
	for _, tt := range tests {
		var h []string
		if tt.token != "" {
			h = authHeader(tt.token)
		}
		status, hdr, body := ts.do("GET", tt.path, nil, h...)
		if tt.code == "" {
			if status != tt.status {
				t.Errorf("%s: %d %s", tt.path, status, body)
			}
			continue
		}
		wantProblem(t, status, hdr, body, tt.status, tt.code)
	}
}

func TestStoreFailures(t *testing.T) {
	users := &usersFake{
		CreateUserFunc: func(context.Context, engine.User) error {
			return fmt.Errorf("db: %w", engine.ErrUnavailable)
		},
		UserByUsernameFunc: func(context.Context, string) (engine.User, error) {
			return engine.User{}, fmt.Errorf("db: %w", engine.ErrUnavailable)
		},
	}
	ts := newTestServer(t, func(_ *Config, d *Deps) { d.Users = users })
	status, hdr, body := ts.do("POST", "/auth/users/", map[string]string{"username": "alice", "password": "correct horse"})
	wantProblem(t, status, hdr, body, 503, "unavailable")
	status, hdr, body = ts.do("POST", "/auth/jwt/create/", map[string]string{"username": "alice", "password": "correct horse"})
	wantProblem(t, status, hdr, body, 503, "unavailable")
}
