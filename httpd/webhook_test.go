package httpd

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/valyala/fasthttp"

	"github.com/flashstock/flashstock/engine"
)

// The payment webhook in memory, against paymentsFake: signature checks,
// decoding, what reaches the Payments port, and the answers.

// testWebhookSecret signs every test delivery: "whsec_" + base64 of 32 bytes.
var testWebhookSecret = "whsec_" + base64.StdEncoding.EncodeToString([]byte("flashstock-webhook-test-key-32b!"))

const webhookPath = "/webhooks/payment/"

// webhookFixture is a test server with a paymentsFake that records every
// event and answers outcome (OutcomeApplied unless a test changes it
// before its requests).
type webhookFixture struct {
	*testServer
	payments *paymentsFake
	events   recorder[engine.PaymentEvent]
	outcome  engine.PaymentOutcome
}

func newWebhookFixture(t *testing.T, opts ...func(*Config, *Deps)) *webhookFixture {
	t.Helper()
	f := &webhookFixture{payments: &paymentsFake{}, outcome: engine.OutcomeApplied}
	f.payments.ApplyPaymentFunc = func(_ context.Context, ev engine.PaymentEvent) (engine.PaymentOutcome, error) {
		f.events.add(ev)
		return f.outcome, nil
	}
	opts = append([]func(*Config, *Deps){func(c *Config, d *Deps) {
		c.WebhookSecret = testWebhookSecret
		d.Payments = f.payments
	}}, opts...)
	f.testServer = newTestServer(t, opts...)
	return f
}

// signed returns the three Standard Webhooks headers of a delivery of body
// signed with secret by the reference library.
func signed(t *testing.T, secret, id string, at time.Time, body string) []string {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := wh.Sign(id, at, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return []string{standardwebhooks.HeaderWebhookID, id,
		standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(at.Unix(), 10),
		standardwebhooks.HeaderWebhookSignature, sig}
}

// headerOf returns the value of name in name, value pairs.
func headerOf(h []string, name string) string {
	for i := 0; i < len(h); i += 2 {
		if h[i] == name {
			return h[i+1]
		}
	}
	return ""
}

// replaced returns h with name's value set to value ("" drops the header).
func replaced(h []string, name, value string) []string {
	var out []string
	for i := 0; i < len(h); i += 2 {
		if h[i] != name {
			out = append(out, h[i], h[i+1])
		}
	}
	if value != "" {
		out = append(out, name, value)
	}
	return out
}

// paymentBody is a valid event body.
func paymentBody(eventID string) string {
	return fmt.Sprintf(`{"event_id":%q,"reference":"ORD-0123456789AB","status":"success","amount":1250}`, eventID)
}

func TestWebhookSignatures(t *testing.T) {
	t.Parallel()
	f := newWebhookFixture(t)
	body := paymentBody("evt_sig")
	now := time.Now()
	good := signed(t, testWebhookSecret, "msg_1", now, body)
	goodSig := strings.TrimPrefix(headerOf(good, "webhook-signature"), "v1,")
	otherSecret := "whsec_" + base64.StdEncoding.EncodeToString([]byte("another-webhook-secret-of-32-b!!"))

	for _, tc := range []struct {
		name    string
		body    string
		headers []string
		detail  string // a 401 whose detail contains this; "" = 200
	}{
		{"valid", body, good, ""},
		{"several signatures, one good", body,
			replaced(good, "webhook-signature", "v1,bm90LXRoZS1zaWduYXR1cmU= v1,"+goodSig), ""},
		{"other versions skipped", body,
			replaced(good, "webhook-signature", "v2,"+goodSig+" v1a,"+goodSig+" v1,"+goodSig), ""},
		{"missing webhook-id", body, replaced(good, "webhook-id", ""), "the delivery lacks the webhook-id header"},
		{"missing webhook-timestamp", body, replaced(good, "webhook-timestamp", ""), "the delivery lacks the webhook-timestamp header"},
		{"missing webhook-signature", body, replaced(good, "webhook-signature", ""), "the delivery lacks the webhook-signature header"},
		{"no headers", body, nil, "the delivery lacks the webhook-id, webhook-timestamp, webhook-signature headers"},
		{"wrong secret", body, signed(t, otherSecret, "msg_1", now, body), "no webhook-signature matches"},
		{"tampered body", strings.Replace(body, "1250", "1", 1), good, "no webhook-signature matches"},
		{"tampered id", body, replaced(good, "webhook-id", "msg_2"), "no webhook-signature matches"},
		{"tampered timestamp", body, replaced(good, "webhook-timestamp", strconv.FormatInt(now.Unix()-1, 10)),
			"no webhook-signature matches"},
		{"stale", body, signed(t, testWebhookSecret, "msg_1", now.Add(-6*time.Minute), body), "more than 5 minutes in the past"},
		{"future", body, signed(t, testWebhookSecret, "msg_1", now.Add(6*time.Minute), body), "in the future"},
		{"timestamp not a number", body, replaced(good, "webhook-timestamp", "soon"), "Unix time"},
		{"good signature under another version only", body,
			replaced(good, "webhook-signature", "v2,"+goodSig), "no webhook-signature matches"},
		{"signature without version", body, replaced(good, "webhook-signature", goodSig), "no webhook-signature matches"},
		{"bad signature", body, replaced(good, "webhook-signature", "v1,bm90LXRoZS1zaWduYXR1cmU="),
			"no webhook-signature matches"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := len(f.events.all())
			status, hdr, resp := f.do("POST", webhookPath, tc.body, tc.headers...)
			applied := len(f.events.all()) - n
			if tc.detail == "" {
				if status != fasthttp.StatusOK || applied != 1 {
					t.Fatalf("status %d, %d events applied; want 200 and 1: %s", status, applied, resp)
				}
				return
			}
			p := wantProblem(t, status, hdr, resp, fasthttp.StatusUnauthorized, "unauthorized")
			if !strings.Contains(p.Detail, tc.detail) {
				t.Errorf("detail = %q, want it to contain %q", p.Detail, tc.detail)
			}
			if strings.Contains(string(resp), goodSig) {
				t.Errorf("the answer leaks the expected signature: %s", resp)
			}
			if applied != 0 {
				t.Errorf("%d events applied for an unauthentic delivery", applied)
			}
		})
	}
}

func TestWebhookBadBodies(t *testing.T) {
	t.Parallel()
	f := newWebhookFixture(t)
	for _, tc := range []struct {
		name, body string
		code       string
		fields     []string
	}{
		{"empty", "", "malformed_json", nil},
		{"syntax", `{"event_id":`, "malformed_json", nil},
		{"array", `[]`, "malformed_json", nil},
		{"string", `"evt"`, "malformed_json", nil},
		{"trailing data", paymentBody("evt_1") + `{}`, "malformed_json", nil},
		{"nothing set", `{}`, "validation_failed", []string{"event_id", "reference", "status", "amount"}},
		{"nulls", `{"event_id":null,"reference":null,"status":null,"amount":null}`, "validation_failed",
			[]string{"event_id", "reference", "status", "amount"}},
		{"bad values", `{"event_id":"","reference":"","status":"paid","amount":-1}`, "validation_failed",
			[]string{"event_id", "reference", "status", "amount"}},
		{"event id not printable", `{"event_id":"evt\u00e9","reference":"ORD-0123456789AB","status":"failed","amount":0}`,
			"validation_failed", []string{"event_id"}},
		{"amount too large", `{"event_id":"e","reference":"ORD-0123456789AB","status":"success","amount":1000000000000000000}`,
			"validation_failed", []string{"amount"}},
		{"amount not an integer", `{"event_id":"e","reference":"ORD-0123456789AB","status":"success","amount":12.5}`,
			"validation_failed", []string{"amount"}},
		{"event id not a string", `{"event_id":7,"reference":"ORD-0123456789AB","status":"success","amount":1}`,
			"validation_failed", []string{"event_id"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, hdr, resp := f.do("POST", webhookPath, tc.body, signed(t, testWebhookSecret, "msg_b", time.Now(), tc.body)...)
			p := wantProblem(t, status, hdr, resp, fasthttp.StatusBadRequest, tc.code)
			if tc.fields != nil {
				wantFieldErrors(t, p, tc.fields...)
			}
		})
	}
	// The webhook id is signed, then bounded like the events table.
	long := strings.Repeat("m", webhookIDBytesMax+1)
	body := paymentBody("evt_long_id")
	status, hdr, resp := f.do("POST", webhookPath, body, signed(t, testWebhookSecret, long, time.Now(), body)...)
	wantFieldErrors(t, wantProblem(t, status, hdr, resp, fasthttp.StatusBadRequest, "validation_failed"), "webhook-id")
	if got := len(f.events.all()); got != 0 {
		t.Errorf("%d bad deliveries reached the port", got)
	}
	// A body is read only after its signature verified: an unsigned bad body is 401.
	status, hdr, resp = f.do("POST", webhookPath, `{`)
	wantProblem(t, status, hdr, resp, fasthttp.StatusUnauthorized, "unauthorized")
}

// Providers add members: unknown ones are ignored, not refused.
func TestWebhookIgnoresUnknownMembers(t *testing.T) {
	t.Parallel()
	f := newWebhookFixture(t)
	body := `{"type":"payment.updated","event_id":"evt_x","reference":"ORD-0123456789AB","status":"failed",` +
		`"amount":99,"data":{"card":{"last4":"4242"}},"livemode":false}`
	status, _, resp := f.do("POST", webhookPath, body, signed(t, testWebhookSecret, "msg_x", time.Now(), body)...)
	if status != fasthttp.StatusOK {
		t.Fatalf("status %d: %s", status, resp)
	}
	if evs := f.events.all(); len(evs) != 1 || evs[0].Result != engine.PaymentDeclined || evs[0].Amount != 99 {
		t.Errorf("events = %+v", evs)
	}
}

func TestWebhookBodySize(t *testing.T) {
	t.Parallel()
	f := newWebhookFixture(t)
	// Exactly the limit passes: a valid event padded with an unknown member.
	base := paymentBody("evt_big")
	pad := webhookBodyBytesMax - len(base) - len(`,"pad":""`)
	atLimit := base[:len(base)-1] + `,"pad":"` + strings.Repeat("x", pad) + `"}`
	if len(atLimit) != webhookBodyBytesMax {
		t.Fatalf("test body has %d bytes, want %d", len(atLimit), webhookBodyBytesMax)
	}
	status, _, resp := f.do("POST", webhookPath, atLimit, signed(t, testWebhookSecret, "msg_s", time.Now(), atLimit)...)
	if status != fasthttp.StatusOK {
		t.Fatalf("body at the limit: status %d: %s", status, resp)
	}
	over := atLimit[:len(atLimit)-2] + `x"}`
	for _, headers := range [][]string{signed(t, testWebhookSecret, "msg_s", time.Now(), over), nil} {
		status, hdr, resp := f.do("POST", webhookPath, over, headers...)
		wantProblem(t, status, hdr, resp, fasthttp.StatusRequestEntityTooLarge, "payload_too_large")
	}
	if got := len(f.events.all()); got != 1 {
		t.Errorf("%d events applied, want only the one at the limit", got)
	}
}

func TestWebhookOutcomes(t *testing.T) {
	t.Parallel()
	for _, outcome := range engine.PaymentOutcomes {
		t.Run(string(outcome), func(t *testing.T) {
			t.Parallel()
			f := newWebhookFixture(t)
			f.outcome = outcome
			body := paymentBody("evt_" + string(outcome))
			status, hdr, resp := f.do("POST", webhookPath, body, signed(t, testWebhookSecret, "msg_o", time.Now(), body)...)
			want := `{"outcome":"` + string(outcome) + `","event_id":"evt_` + string(outcome) + `"}`
			if status != fasthttp.StatusOK || string(resp) != want {
				t.Errorf("answer %d %s, want 200 %s", status, resp, want)
			}
			if ct := headerValue(hdr, "Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
		})
	}
	// A port that breaks its contract is a 500: the provider retries.
	f := newWebhookFixture(t)
	f.outcome = "paid"
	body := paymentBody("evt_bogus")
	status, hdr, resp := f.do("POST", webhookPath, body, signed(t, testWebhookSecret, "msg_o", time.Now(), body)...)
	wantProblem(t, status, hdr, resp, fasthttp.StatusInternalServerError, "internal")
}

// The port gets every field, the exact signed bytes and the webhook id.
func TestWebhookEventReachesThePort(t *testing.T) {
	t.Parallel()
	f := newWebhookFixture(t)
	body := "{\n  \"event_id\": \"evt_42\", \"reference\": \"ORD-00FF00FF00FF\",\n  \"status\": \"success\", \"amount\": 3750 }\n"
	before := time.Now().UTC()
	status, _, resp := f.do("POST", webhookPath, body, signed(t, testWebhookSecret, "msg_42", time.Now(), body)...)
	after := time.Now().UTC()
	if status != fasthttp.StatusOK {
		t.Fatalf("status %d: %s", status, resp)
	}
	// Another delivery on the same connection reuses fasthttp's buffers.
	other := strings.ReplaceAll(body, "42", "43")
	if status, _, resp := f.do("POST", webhookPath, other, signed(t, testWebhookSecret, "msg_43", time.Now(), other)...); status != fasthttp.StatusOK {
		t.Fatalf("second delivery: status %d: %s", status, resp)
	}
	evs := f.events.all()
	if len(evs) != 2 {
		t.Fatalf("%d events, want 2", len(evs))
	}
	ev := evs[0]
	if ev.EventID != "evt_42" || ev.Reference != "ORD-00FF00FF00FF" || ev.Result != engine.PaymentSucceeded ||
		ev.Amount != 3750 || ev.WebhookID != "msg_42" {
		t.Errorf("event = %+v", ev)
	}
	if string(ev.Body) != body || string(evs[1].Body) != other {
		t.Errorf("bodies = %q, %q; want the raw signed bytes %q, %q", ev.Body, evs[1].Body, body, other)
	}
	if ev.ReceivedAt.Location() != time.UTC || ev.ReceivedAt.Before(before) || ev.ReceivedAt.After(after) {
		t.Errorf("received_at = %v, want UTC between %v and %v", ev.ReceivedAt, before, after)
	}
}

// The body handed on is a copy: overwriting the request buffer after the
// handler returned does not change it.
func TestWebhookBodyIsCopied(t *testing.T) {
	t.Parallel()
	var got engine.PaymentEvent
	payments := &paymentsFake{ApplyPaymentFunc: func(_ context.Context, ev engine.PaymentEvent) (engine.PaymentOutcome, error) {
		got = ev
		return engine.OutcomeApplied, nil
	}}
	srv, err := New(Config{JWTSecret: testSecret, WebhookSecret: testWebhookSecret},
		Deps{Users: newMemStore(), Products: newMemStore(), Orders: &ordersFake{}, Payments: payments, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	body := paymentBody("evt_copy")
	h := signed(t, testWebhookSecret, "msg_c", time.Now(), body)
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(fasthttp.MethodPost)
	for i := 0; i < len(h); i += 2 {
		ctx.Request.Header.Set(h[i], h[i+1])
	}
	ctx.Request.SetBodyString(body)
	c := &call{ctx: &ctx, context: context.Background(), requestID: "req-copy", route: webhookPath, srv: srv}
	if err := srv.paymentWebhook(c); err != nil {
		t.Fatal(err)
	}
	buf := ctx.Request.Body()
	for i := range buf {
		buf[i] = '#'
	}
	if string(got.Body) != body {
		t.Errorf("event body = %q after the request buffer was overwritten, want %q", got.Body, body)
	}
}

func TestWebhookPortErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err    error
		status int
		code   string
	}{
		{fmt.Errorf("store event: %w", engine.ErrUnavailable), fasthttp.StatusServiceUnavailable, "unavailable"},
		{fmt.Errorf("store event: %w", engine.ErrOverloaded), fasthttp.StatusServiceUnavailable, "overloaded"},
		{errors.New("pq: connection reset by 10.0.0.7:5432"), fasthttp.StatusInternalServerError, "internal"},
	} {
		f := newWebhookFixture(t)
		f.payments.ApplyPaymentFunc = func(context.Context, engine.PaymentEvent) (engine.PaymentOutcome, error) {
			return "", tc.err
		}
		body := paymentBody("evt_err")
		status, hdr, resp := f.do("POST", webhookPath, body, signed(t, testWebhookSecret, "msg_e", time.Now(), body)...)
		wantProblem(t, status, hdr, resp, tc.status, tc.code)
		if tc.status == fasthttp.StatusServiceUnavailable && headerValue(hdr, "Retry-After") == "" {
			t.Errorf("%s: no Retry-After", tc.code)
		}
		if strings.Contains(string(resp), "10.0.0.7") {
			t.Errorf("%s: the answer leaks internals: %s", tc.code, resp)
		}
	}
}

// The outcome is logged with the request id, event id and reference.
func TestWebhookLogsTheOutcome(t *testing.T) {
	t.Parallel()
	var logs lockedBuffer
	f := newWebhookFixture(t, func(_ *Config, d *Deps) { d.Log = zerolog.New(&logs) })
	f.outcome = engine.OutcomeLatePayment
	body := paymentBody("evt_log")
	status, hdr, resp := f.do("POST", webhookPath, body, signed(t, testWebhookSecret, "msg_l", time.Now(), body)...)
	if status != fasthttp.StatusOK {
		t.Fatalf("status %d: %s", status, resp)
	}
	var line string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, `"message":"payment webhook"`) {
			line = l
		}
	}
	for _, want := range []string{`"request_id":"` + headerValue(hdr, headerRequestID) + `"`, `"event_id":"evt_log"`,
		`"reference":"ORD-0123456789AB"`, `"outcome":"late_payment"`, `"webhook_id":"msg_l"`} {
		if !strings.Contains(line, want) {
			t.Errorf("outcome log line %q lacks %s", line, want)
		}
	}
}

// Without a Payments port the route exists but answers not_found; a port
// without a secret is a configuration error.
func TestWebhookWiring(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	body := paymentBody("evt_off")
	status, hdr, resp := ts.do("POST", webhookPath, body, signed(t, testWebhookSecret, "msg_w", time.Now(), body)...)
	wantProblem(t, status, hdr, resp, fasthttp.StatusNotFound, "not_found")

	_, err := New(Config{JWTSecret: testSecret}, Deps{Users: newMemStore(), Products: newMemStore(),
		Orders: &ordersFake{}, Payments: &paymentsFake{}})
	if err == nil || !strings.Contains(err.Error(), "WebhookSecret") {
		t.Errorf("New with Payments and no secret: %v, want an error naming WebhookSecret", err)
	}
}

func TestWebhookSecretValidation(t *testing.T) {
	t.Parallel()
	key := func(n int) string { return base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", n))) }
	for secret, ok := range map[string]bool{
		"":                     true, // not set: webhooks off
		"whsec_" + key(24):     true,
		"whsec_" + key(64):     true,
		testWebhookSecret:      true,
		key(32):                true, // no prefix, as the reference library allows
		"whsec_" + key(4):      true, // short keys are cmd's concern (prod refuses them)
		"whsec_" + key(1024):   true,
		"whsec_":               false, // no key
		"whsec_" + key(1025):   false,
		"whsec_not base64!!":   false,
		"whsec_" + key(32)[1:]: false,
	} {
		err := Config{JWTSecret: testSecret, WebhookSecret: secret}.Validate()
		if (err == nil) != ok {
			t.Errorf("Validate(%q) = %v, want ok %v", secret, err, ok)
		}
		if err != nil && len(secret) > len("whsec_") && strings.Contains(err.Error(), secret[len("whsec_"):]) {
			t.Errorf("Validate error quotes the secret: %v", err)
		}
	}
}
