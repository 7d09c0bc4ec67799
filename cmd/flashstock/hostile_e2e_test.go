package main

import (
	"crypto/rand"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/flashstock/flashstock/engine"
)

// Requests that answered 500 or created orphans against the real store
// (PostgreSQL), end to end: text PostgreSQL cannot store is refused at the
// edge, a token whose user does not exist authenticates nothing, and a
// 4xx detail is one sentence.
func TestHostileInputEndToEnd(t *testing.T) {
	t.Parallel()
	const secret = "end-to-end-jwt-secret-of-32-bytes!!"
	vars := testEnv(t, "FLASHSTOCK_RATE_ORDERS", "off", "FLASHSTOCK_RATE_AUTH", "off", "FLASHSTOCK_JWT_SECRET", secret)
	base, _ := startServer(t, vars)
	admin := adminToken(t, vars, base)
	product := newProduct(t, base, admin, "HOSTILE-1", 500, 10)

	// Text PostgreSQL refuses (NUL) answered 500 before: now 400 or 401.
	status, body := api(t, "POST", base+"/auth/jwt/create/", "", map[string]string{"username": "al\x00ice", "password": "whatever-pw"})
	expectStatus(t, "login with NUL in the username", status, 401, body)
	status, body = api(t, "POST", base+"/auth/jwt/create/", "", map[string]string{"username": "boss", "password": "an-admin\x00"})
	expectStatus(t, "login with NUL in the password", status, 401, body)
	status, body = api(t, "POST", base+"/auth/users/", "", map[string]string{"username": "alice", "password": "pass\x00word-1"})
	expectStatus(t, "register with NUL in the password", status, 400, body)
	status, body = api(t, "POST", base+"/products/", admin, map[string]any{"sku": "HOSTILE-2", "name": "Red\x00", "price": 1, "stock": 1})
	expectStatus(t, "create a product with NUL in the name", status, 400, body)
	status, body = api(t, "PATCH", base+"/products/"+product, admin, map[string]any{"name": "\x00"})
	expectStatus(t, "patch a product's name to NUL", status, 400, body)
	status, body = api(t, "PATCH", base+"/products/"+product, admin, map[string]any{"name": "Bell\a"})
	expectStatus(t, "patch a product's name to a control character", status, 400, body)

	// A validly signed token for a user that never existed.
	id, err := engine.NewID(time.Now(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	forged, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": id.String(), "user_id": id.String(), "token_type": "access", "is_admin": false,
		"jti": "forged-1", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	order := orderBody(product, 1)
	status, body = api(t, "POST", base+"/orders/", forged, order)
	expectStatus(t, "order with a token of no user", status, 401, body)
	status, body, _ = call(t, "POST", base+"/orders/", forged, map[string]string{"Idempotency-Key": "orphan-1"}, order)
	expectStatus(t, "keyed order with a token of no user", status, 401, body)
	status, body = api(t, "GET", base+"/auth/users/me/", forged, nil)
	expectStatus(t, "me with a token of no user", status, 401, body)
	if d, _ := body["detail"].(string); d != "the account this token was issued for does not exist" {
		t.Errorf("detail = %q", d)
	}

	// A 4xx detail is a sentence, not the chain of the layers it crossed.
	other, err := engine.NewID(time.Now(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	missing := other.String()
	status, body = api(t, "PATCH", base+"/products/"+missing, admin, map[string]any{"name": "x"})
	expectStatus(t, "patch a missing product", status, 404, body)
	if d, _ := body["detail"].(string); d != "the resource does not exist" {
		t.Errorf("404 detail = %q", d)
	}
	buyer := register(t, base, "buyer-hostile")
	status, body = api(t, "POST", base+"/auth/users/", "", map[string]string{"username": "buyer-hostile", "password": "correct-horse-42"})
	expectStatus(t, "register a taken username", status, 409, body)
	if d, _ := body["detail"].(string); d != "username is already taken" {
		t.Errorf("409 detail = %q", d)
	}
	status, body = api(t, "POST", base+"/orders/", buyer, order)
	expectStatus(t, "order", status, 201, body)
	orderID, _ := body["id"].(string)
	status, body = api(t, "PATCH", base+"/orders/"+orderID, admin, map[string]string{"status": "shipped"})
	expectStatus(t, "ship a pending order", status, 409, body)
	if d, _ := body["detail"].(string); d != "the order is pending and cannot move to shipped" {
		t.Errorf("409 detail = %q", d)
	}
}
