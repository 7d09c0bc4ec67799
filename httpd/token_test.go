package httpd

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/flashstock/flashstock/engine"
)

func testTokens() *tokens {
	return newTokens(Config{JWTSecret: testSecret, AccessTTL: 15 * time.Minute, RefreshTTL: time.Hour})
}

var testUser = engine.User{ID: engine.ID{0x01, 0x90, 1, 2, 3, 4, 0x70, 5, 0x80, 6}, Username: "alice", IsAdmin: true}

// validClaims are the claims of a well-formed access token for testUser;
// tests break one thing at a time.
func validClaims() jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{
		"sub": testUser.ID.String(), "user_id": testUser.ID.String(), "token_type": "access",
		"jti": "0123456789abcdef", "iat": now.Unix(), "exp": now.Add(time.Minute).Unix(), "is_admin": false,
	}
}

func sign(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return s
}

func TestTokensRoundTrip(t *testing.T) {
	tk := testTokens()
	for _, kind := range []tokenKind{kindAccess, kindRefresh} {
		raw, err := tk.issue(kind, testUser)
		if err != nil {
			t.Fatal(err)
		}
		got, err := tk.parseKind(raw, kind)
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		want := tokenClaims{UserID: testUser.ID, Kind: kind, IsAdmin: kind == kindAccess}
		if got != want {
			t.Errorf("%s: claims = %+v, want %+v", kind, got, want)
		}
		other := kindRefresh
		if kind == kindRefresh {
			other = kindAccess
		}
		if _, err := tk.parseKind(raw, other); !errors.Is(err, engine.ErrUnauthorized) {
			t.Errorf("%s token accepted as %s: %v", kind, other, err)
		}
	}
}

// TestTokensWireClaims pins the claim names simplejwt clients read.
func TestTokensWireClaims(t *testing.T) {
	tk := testTokens()
	now := time.Unix(1_700_000_000, 0)
	tk.now = func() time.Time { return now }
	payload := func(raw string) map[string]any {
		parts := strings.Split(raw, ".")
		b, err := base64.RawURLEncoding.DecodeString(parts[1])
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	access, _ := tk.issue(kindAccess, testUser)
	refresh, _ := tk.issue(kindRefresh, testUser)
	a, r := payload(access), payload(refresh)
	id := testUser.ID.String()
	if a["sub"] != id || a["user_id"] != id || a["token_type"] != "access" || a["is_admin"] != true {
		t.Errorf("access claims = %v", a)
	}
	if a["iat"] != float64(now.Unix()) || a["exp"] != float64(now.Add(15*time.Minute).Unix()) {
		t.Errorf("access iat/exp = %v/%v", a["iat"], a["exp"])
	}
	if r["token_type"] != "refresh" || r["exp"] != float64(now.Add(time.Hour).Unix()) {
		t.Errorf("refresh claims = %v", r)
	}
	if _, ok := r["is_admin"]; ok {
		t.Errorf("refresh token carries is_admin: %v", r)
	}
	if a["jti"] == "" || a["jti"] == r["jti"] {
		t.Errorf("jti must be present and unique: %v, %v", a["jti"], r["jti"])
	}
	if !strings.HasPrefix(access, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.") {
		t.Errorf("header is not {alg:HS256,typ:JWT}: %s", access)
	}
}

func TestTokensTimeChecks(t *testing.T) {
	tk := testTokens()
	raw, err := tk.issue(kindAccess, testUser)
	if err != nil {
		t.Fatal(err)
	}
	at := func(d time.Duration) func() time.Time { return func() time.Time { return time.Now().Add(d) } }
	tests := []struct {
		name string
		now  func() time.Time
		ok   bool
	}{
		{"fresh", time.Now, true},
		{"expired within leeway", at(15*time.Minute + 2*time.Second), true},
		{"expired", at(15*time.Minute + 10*time.Second), false},
		{"issued within leeway in the future", at(-2 * time.Second), true},
		{"issued in the future", at(-time.Minute), false},
	}
	for _, tt := range tests {
		tk.now = tt.now
		_, err := tk.parse(raw)
		if (err == nil) != tt.ok {
			t.Errorf("%s: err = %v, want ok=%v", tt.name, err, tt.ok)
		}
		if err != nil && !errors.Is(err, engine.ErrUnauthorized) {
			t.Errorf("%s: %v is not ErrUnauthorized", tt.name, err)
		}
	}
}

func TestTokensRejectForgeries(t *testing.T) {
	tk := testTokens()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	without := func(name string) jwt.MapClaims { c := validClaims(); delete(c, name); return c }
	with := func(name string, v any) jwt.MapClaims { c := validClaims(); c[name] = v; return c }
	hs256 := func(c jwt.MapClaims) string { return sign(t, jwt.SigningMethodHS256, testSecret, c) }

	if _, err := tk.parse(hs256(validClaims())); err != nil {
		t.Fatalf("control token refused: %v", err)
	}
	forged := map[string]string{
		"alg none":             sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, validClaims()),
		"HS512 same secret":    sign(t, jwt.SigningMethodHS512, testSecret, validClaims()),
		"HS384 same secret":    sign(t, jwt.SigningMethodHS384, testSecret, validClaims()),
		"other secret":         sign(t, jwt.SigningMethodHS256, []byte("another-secret-another-secret-32"), validClaims()),
		"RS256":                sign(t, jwt.SigningMethodRS256, rsaKey, validClaims()),
		"ES256":                sign(t, jwt.SigningMethodES256, ecKey, validClaims()),
		"no exp":               hs256(without("exp")),
		"no iat":               hs256(without("iat")),
		"no jti":               hs256(without("jti")),
		"no sub":               hs256(without("sub")),
		"no token_type":        hs256(without("token_type")),
		"access sans is_admin": hs256(without("is_admin")),
		"unknown token_type":   hs256(with("token_type", "id")),
		"user_id differs":      hs256(with("user_id", engine.NilID.String())),
		"sub not an id":        hs256(with("sub", "alice")),
		"exp not a number":     hs256(with("exp", "tomorrow")),
		"tampered payload":     tamper(hs256(validClaims())),
		"empty":                "",
		"garbage":              "not.a.token",
		"oversized":            strings.Repeat("a", tokenBytesMax+1),
	}
	for name, raw := range forged {
		if c, err := tk.parse(raw); !errors.Is(err, engine.ErrUnauthorized) {
			t.Errorf("%s: accepted (%+v) or wrong error %v", name, c, err)
		}
	}
}

// tamper flips the payload to claim admin while keeping the signature.
func tamper(raw string) string {
	parts := strings.Split(raw, ".")
	b, _ := base64.RawURLEncoding.DecodeString(parts[1])
	b = []byte(strings.Replace(string(b), `"is_admin":false`, `"is_admin":true `, 1))
	parts[1] = base64.RawURLEncoding.EncodeToString(b)
	return strings.Join(parts, ".")
}
