package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// call sends one JSON request with extra headers and returns the status,
// the decoded object and the response headers.
func call(t *testing.T, method, url, token string, headers map[string]string, body any) (int, map[string]any, http.Header) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "JWT "+token)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: body is not a JSON object: %q", method, url, raw)
		}
	}
	return resp.StatusCode, out, resp.Header
}

// register creates an account and returns its access token.
func register(t *testing.T, base, username string) string {
	t.Helper()
	status, body := api(t, "POST", base+"/auth/users/", "", map[string]string{"username": username, "password": "correct-horse-42"})
	expectStatus(t, "register "+username, status, 201, body)
	return login(t, base, username, "correct-horse-42")
}

// adminToken creates an admin with the CLI and logs in.
func adminToken(t *testing.T, vars map[string]string, base string) string {
	t.Helper()
	code, out, errOut := runCmd(t, vars, "an-admin-password\n", "user", "create", "--username", "boss", "--admin", "--password-stdin")
	if code != 0 {
		t.Fatalf("user create: exit %d\n%s%s", code, out, errOut)
	}
	return login(t, base, "boss", "an-admin-password")
}

// newProduct creates a product as admin and returns its id.
func newProduct(t *testing.T, base, admin, sku string, price, stock int) string {
	t.Helper()
	status, body := api(t, "POST", base+"/products/", admin, map[string]any{"sku": sku, "name": "Product " + sku, "price": price, "stock": stock})
	expectStatus(t, "create product "+sku, status, 201, body)
	return body["id"].(string)
}

func stockOf(t *testing.T, base, id string) float64 {
	t.Helper()
	status, body := api(t, "GET", base+"/products/"+id, "", nil)
	expectStatus(t, "product detail", status, 200, body)
	return body["stock"].(float64)
}

func orderBody(items ...any) map[string]any {
	var lines []map[string]any
	for i := 0; i+1 < len(items); i += 2 {
		lines = append(lines, map[string]any{"product_id": items[i], "quantity": items[i+1]})
	}
	return map[string]any{"items": lines}
}

// The original API's test, end to end: stock 1, five concurrent orders →
// exactly one 201 and four 400 insufficient_stock.
func TestLastUnitFiveConcurrentOrders(t *testing.T) {
	t.Parallel()
	vars := testEnv(t, "FLASHSTOCK_RATE_ORDERS", "off", "FLASHSTOCK_RATE_AUTH", "off")
	base, _ := startServer(t, vars)
	admin := adminToken(t, vars, base)
	last := newProduct(t, base, admin, "LAST", 1250, 1)
	var tokens []string
	for i := range 5 {
		tokens = append(tokens, register(t, base, fmt.Sprintf("buyer%d", i)))
	}
	statuses := make([]int, 5)
	bodies := make([]map[string]any, 5)
	var wg sync.WaitGroup
	for i := range 5 {
		wg.Go(func() { statuses[i], bodies[i] = api(t, "POST", base+"/orders/", tokens[i], orderBody(last, 1)) })
	}
	wg.Wait()
	created, short := 0, 0
	for i, s := range statuses {
		switch {
		case s == 201:
			created++
			if bodies[i]["total"] != float64(1250) || bodies[i]["status"] != "pending" {
				t.Errorf("created order = %v", bodies[i])
			}
		case s == 400 && bodies[i]["code"] == "insufficient_stock" && bodies[i]["available"] == float64(0) &&
			bodies[i]["requested"] == float64(1) && bodies[i]["product_id"] == last:
			short++
		default:
			t.Errorf("order %d: %d %v", i, s, bodies[i])
		}
	}
	if created != 1 || short != 4 {
		t.Errorf("%d created and %d insufficient_stock; want 1 and 4", created, short)
	}
	if got := stockOf(t, base, last); got != 0 {
		t.Errorf("stock = %v, want 0", got)
	}
}

// TestOrdersFlow: idempotent create, visibility, cancel returning stock,
// admin transitions along the state machine only, per-user rate limit.
func TestOrdersFlow(t *testing.T) {
	t.Parallel()
	vars := testEnv(t, "FLASHSTOCK_RATE_ORDERS", "3/m", "FLASHSTOCK_RATE_AUTH", "off")
	base, _ := startServer(t, vars)
	admin := adminToken(t, vars, base)
	a, b := newProduct(t, base, admin, "A", 500, 10), newProduct(t, base, admin, "B", 700, 10)
	alice, bob := register(t, base, "alice"), register(t, base, "bob")

	key := map[string]string{"Idempotency-Key": "order-1"}
	body := orderBody(a, 2, b, 1, a, 1) // a twice: merged into 3
	status, first, _ := call(t, "POST", base+"/orders/", alice, key, body)
	expectStatus(t, "create", status, 201, first)
	if first["total"] != float64(3*500+700) || !strings.HasPrefix(first["reference"].(string), "ORD-") {
		t.Fatalf("order = %v", first)
	}
	status, again, h := call(t, "POST", base+"/orders/", alice, key, body)
	expectStatus(t, "replay", status, 201, again)
	if again["id"] != first["id"] || h.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay = %v (header %q), want the first order replayed", again, h.Get("Idempotent-Replayed"))
	}
	status, reused, _ := call(t, "POST", base+"/orders/", alice, key, orderBody(a, 1))
	expectStatus(t, "key reused", status, 422, reused)
	if reused["code"] != "idempotency_key_reused" {
		t.Errorf("key reused = %v", reused)
	}
	if stockOf(t, base, a) != 7 || stockOf(t, base, b) != 9 {
		t.Errorf("stock after one order (and a replay) = %v, %v; want 7, 9", stockOf(t, base, a), stockOf(t, base, b))
	}

	id := first["id"].(string)
	status, body2 := api(t, "GET", base+"/orders/"+id, bob, nil)
	expectStatus(t, "bob reads alice's order", status, 404, body2)
	status, body2 = api(t, "GET", base+"/orders/"+id+"/", alice, nil)
	expectStatus(t, "alice reads her order", status, 200, body2)
	status, body2 = api(t, "GET", base+"/orders/?status=pending", alice, nil)
	expectStatus(t, "list", status, 200, body2)
	if items := body2["items"].([]any); len(items) != 1 || items[0].(map[string]any)["id"] != id {
		t.Errorf("alice's pending orders = %v", body2)
	}
	status, body2 = api(t, "PATCH", base+"/orders/"+id, admin, map[string]string{"status": "processing"})
	expectStatus(t, "pending → processing", status, 409, body2)

	status, body2 = api(t, "POST", base+"/orders/"+id+"/cancel", bob, nil)
	expectStatus(t, "bob cancels alice's order", status, 404, body2)
	status, body2 = api(t, "POST", base+"/orders/"+id+"/cancel", alice, nil)
	expectStatus(t, "cancel", status, 200, body2)
	if body2["status"] != "cancelled" {
		t.Errorf("cancelled order = %v", body2)
	}
	if stockOf(t, base, a) != 10 || stockOf(t, base, b) != 10 {
		t.Errorf("stock after cancel = %v, %v; want 10, 10", stockOf(t, base, a), stockOf(t, base, b))
	}
	status, body2 = api(t, "POST", base+"/orders/"+id+"/cancel", alice, nil)
	expectStatus(t, "second cancel", status, 409, body2)

	// Rate limit 3/m: the first order counted once, its replay and the 422
	// under its key not at all (a retry with the key must not earn a 429);
	// two more orders fit in the minute, the next is refused.
	for i := range 2 {
		status, body2 = api(t, "POST", base+"/orders/", alice, orderBody(a, 1))
		expectStatus(t, fmt.Sprintf("order %d of the minute", i+2), status, 201, body2)
	}
	status, body2 = api(t, "POST", base+"/orders/", alice, orderBody(a, 1))
	expectStatus(t, "rate limited", status, 429, body2)
	if body2["code"] != "rate_limited" {
		t.Errorf("429 body = %v", body2)
	}
}
