package httpd

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"github.com/flashstock/flashstock/engine"
)

// A problem's detail is one sentence for the client; the error chain behind
// it (ids, layers, sentinel texts) goes to the request's log line, under
// the same request id, and nowhere else.

// chainLike matches what an error chain leaks into a sentence: a layer
// prefix ("x: y"), a UUID, an order reference, a quoted value.
var chainLike = regexp.MustCompile(`: |[0-9a-f]{8}-[0-9a-f]{4}-|ORD-[0-9A-F]|%!|"`)

func TestProblemDetailIsOneSentenceAndTheChainIsLogged(t *testing.T) {
	t.Parallel()
	logs := &lockedBuffer{}
	idem := newMemIdempotency()
	f := newOrderFixture(t, func(c *Config, d *Deps) {
		d.Log = zerolog.New(logs).Level(zerolog.InfoLevel)
		d.Idempotency = idem
		c.WebhookSecret, d.Payments = testWebhookSecret, &paymentsFake{}
	})
	shipped := storedOrder(orderID(1), f.buyer.ID, engine.StatusShipped)
	f.withOrders(shipped)
	f.orders.TransitionOrderFunc = func(_ context.Context, cmd engine.TransitionOrder) (engine.Order, error) {
		_, err := shipped.Transition(cmd.To, cmd.By, cmd.Reason, cmd.Now) // the engine's own refusal
		return engine.Order{}, fmt.Errorf("transition order %s: %w", cmd.OrderID, err)
	}
	f.orders.PlaceOrderFunc = func(_ context.Context, cmd engine.PlaceOrder) (engine.Order, error) {
		if cmd.Items[0].Quantity == 9 { // hold the key in flight: the answer is unknown
			return engine.Order{}, fmt.Errorf("commit: %w", engine.ErrUnavailable)
		}
		return engine.Order{}, fmt.Errorf("place order %s: %w", cmd.OrderID,
			&engine.StockError{ProductID: orderProductA, Available: 1, Requested: cmd.Items[0].Quantity})
	}
	missing := orderID(99)
	body := time.Now().Format(time.RFC3339Nano)
	badSig := []string{"webhook-id", "msg_1", "webhook-timestamp", fmt.Sprint(time.Now().Unix()),
		"webhook-signature", "v1,bm90LXRoZS1zaWduYXR1cmU="}
	f.do("POST", "/orders/", orderBody(orderLine(orderProductA, 9)), with(f.buyerAuth, headerIdempotencyKey, "held")...)

	for _, tc := range []struct {
		name    string
		method  string
		path    string
		body    string
		headers []string
		status  int
		detail  string // the sentence the client gets
		chain   string // what the log line's error must contain
	}{
		{"product not found on PATCH", "PATCH", "/products/" + missing.String(), `{"name":"x"}`, f.adminAuth,
			404, "the resource does not exist", "update product " + missing.String()},
		{"order not found", "GET", "/orders/" + missing.String(), "", f.buyerAuth,
			404, "the resource does not exist", "order " + missing.String()},
		{"invalid transition", "POST", "/orders/" + shipped.ID.String() + "/cancel", "", f.buyerAuth,
			409, "the order is shipped and cannot move to cancelled", "ORD-0123456789AB by buyer"},
		{"username taken", "POST", "/auth/users/", `{"username":"buyer","password":"good-pass-1"}`, nil,
			409, "username is already taken", `username "buyer"`},
		{"webhook bad signature", "POST", webhookPath, body, badSig,
			401, "no webhook-signature matches the delivery", "verify webhook"},
		{"idempotency key in flight", "POST", "/orders/", orderBody(orderLine(orderProductA, 9)),
			with(f.buyerAuth, headerIdempotencyKey, "held"), 409,
			"a request with this Idempotency-Key is still in flight; retry later", "conflict"},
		{"idempotency key reused", "POST", "/orders/", orderBody(orderLine(orderProductA, 8)),
			with(f.buyerAuth, headerIdempotencyKey, "held"), 422,
			"the Idempotency-Key was first used with another method, path or body", "idempotency key reused"},
		{"insufficient stock", "POST", "/orders/", orderBody(orderLine(orderProductA, 3)), f.buyerAuth,
			400, "a product has fewer units in stock than the order asks for", "place order"},
		{"not an admin", "PATCH", "/orders/" + shipped.ID.String(), `{"status":"delivered"}`, f.buyerAuth,
			403, "this action is for administrators only", "admin only"},
		{"no token", "GET", "/orders/", "", nil,
			401, "the Authorization header is missing", "unauthorized"},
		{"bad token", "GET", "/orders/", "", []string{"Authorization", "JWT a.b.c"},
			401, "the token is invalid", "unauthorized"},
		{"malformed JSON", "POST", "/auth/users/", `{"username":`, nil,
			400, "the request body ends inside a JSON value", "malformed JSON"},
		{"JSON syntax", "POST", "/auth/users/", `{"username" 1}`, nil,
			400, "the request body is not valid JSON (at byte 13)", "invalid character"},
		{"path id not an id", "GET", "/orders/not-an-id", "", f.buyerAuth,
			404, "the resource does not exist", "not a UUID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := "req-detail-" + strings.ReplaceAll(tc.name, " ", "-")
			var body any
			if tc.body != "" {
				body = tc.body
			}
			status, _, resp := f.do(tc.method, tc.path, body, with(tc.headers, headerRequestID, id)...)
			var p problem
			mustJSON(t, resp, &p)
			if status != tc.status || p.Detail != tc.detail {
				t.Errorf("answer %d %q, want %d %q", status, p.Detail, tc.status, tc.detail)
			}
			if chainLike.MatchString(p.Detail) {
				t.Errorf("detail %q reads like an error chain", p.Detail)
			}
			line := logLine(t, logs.String(), id)
			var logged struct{ Error string }
			mustJSON(t, []byte(line), &logged)
			if !strings.Contains(logged.Error, tc.chain) {
				t.Errorf("log line's error = %q, want the chain, with %q", logged.Error, tc.chain)
			}
			if n := strings.Count(logs.String(), `"request_id":"`+id+`"`); n != 1 {
				t.Errorf("request %s logged %d times, want once", id, n)
			}
		})
	}
}

// logLine returns the one request line of logs with the given request id.
func logLine(t *testing.T, logs, requestID string) string {
	t.Helper()
	for _, line := range strings.Split(logs, "\n") {
		var l struct {
			RequestID string `json:"request_id"`
			Message   string `json:"message"`
		}
		if json.Unmarshal([]byte(line), &l) == nil && l.RequestID == requestID && l.Message == "request" {
			return line
		}
	}
	t.Fatalf("no request line for %s in:\n%s", requestID, logs)
	return ""
}

// Every row of the table has its own sentence, and no 5xx ever shows one
// an error carries.
func TestProblemDetailsByCode(t *testing.T) {
	for _, k := range append(problemKinds, problemInternal) {
		if k.detail == "" || chainLike.MatchString(k.detail) {
			t.Errorf("%s: detail %q", k.code, k.detail)
		}
	}
	for _, err := range []error{
		engine.WithDetail(engine.ErrUnavailable, "database at 10.0.0.7 is down"),
		engine.WithDetail(fmt.Errorf("boom"), "secret internals"),
	} {
		if p := newProblem(err, "r"); strings.Contains(p.Detail, "10.0.0.7") || strings.Contains(p.Detail, "secret") {
			t.Errorf("5xx detail %q shows the error's sentence", p.Detail)
		}
	}
	p := newProblem(fmt.Errorf("x: %w", engine.Invalid("name", "must be 1 to 255 characters")), "r")
	if p.Detail != "the request has invalid fields" || len(p.Errors) != 1 || p.Errors[0].Field != "name" {
		t.Errorf("validation problem = %+v", p)
	}
	p = newProblem(fmt.Errorf("x: %w", &engine.StockError{ProductID: orderProductA, Available: 2, Requested: 3}), "r")
	if p.ProductID != orderProductA.String() || *p.Available != 2 || *p.Requested != 3 {
		t.Errorf("stock problem = %+v", p)
	}
	if p := newProblem(fmt.Errorf("%w", &rateLimitedError{}), "r"); p.Status != fasthttp.StatusTooManyRequests || p.Detail == "" {
		t.Errorf("rate limit problem = %+v", p)
	}
}
