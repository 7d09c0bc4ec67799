package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/flashstock/flashstock/internal/smtptest"
)

// The payment flow end to end, as the README shows it: `flashstock webhook
// send` against a running server, and the mails it causes, delivered over
// real SMTP.

// paymentEnv is a server environment with a webhook secret and a test SMTP
// server; the mailer polls often, and the scheduled admin mails are off.
func paymentEnv(t *testing.T, smtp *smtptest.Server, extra ...string) (map[string]string, string) {
	t.Helper()
	secret := newWebhookSecret()
	vars := testEnv(t, append([]string{"FLASHSTOCK_RATE_ORDERS", "off", "FLASHSTOCK_RATE_AUTH", "off",
		"FLASHSTOCK_WEBHOOK_SECRET", secret, "FLASHSTOCK_SMTP_URL", smtp.URL(),
		"FLASHSTOCK_MAIL_FROM", "Shop <shop@example.com>", "FLASHSTOCK_ADMIN_EMAIL", "ops@example.com",
		"FLASHSTOCK_MAIL_POLL_INTERVAL", "50ms",
		// Admin mails of their own would mix with the ones under test.
		"FLASHSTOCK_SCHEDULE_DAILY_REPORT", "off", "FLASHSTOCK_SCHEDULE_LOW_STOCK", "off"}, extra...)...)
	return vars, secret
}

// paymentServer is a running server with a test SMTP server behind it, its
// environment and webhook secret, and an admin's token.
type paymentServer struct {
	smtp   *smtptest.Server
	vars   map[string]string
	secret string
	base   string
	admin  string
}

// startPaymentServer starts a server from paymentEnv plus extra settings.
func startPaymentServer(t *testing.T, extra ...string) paymentServer {
	t.Helper()
	p := paymentServer{smtp: smtptest.Start(t)}
	p.vars, p.secret = paymentEnv(t, p.smtp, extra...)
	p.base, _ = startServer(t, p.vars)
	p.admin = adminToken(t, p.vars, p.base)
	return p
}

// buyerWithEmail registers an account with an e-mail address.
func buyerWithEmail(t *testing.T, base, username string) string {
	t.Helper()
	status, body := api(t, "POST", base+"/auth/users/", "", map[string]string{"username": username,
		"password": "correct-horse-42", "email": username + "@example.com"})
	expectStatus(t, "register "+username, status, 201, body)
	return login(t, base, username, "correct-horse-42")
}

// sendWebhook runs `flashstock webhook send` and returns its exit code and
// output.
func sendWebhook(t *testing.T, base, secret string, args ...string) (int, string) {
	t.Helper()
	code, out, errOut := runCmd(t, nil, "", append([]string{"webhook", "send", "--url", base + "/webhooks/payment/",
		"--secret", secret}, args...)...)
	return code, out + errOut
}

// mailsTo waits until n messages to rcpt arrived and returns them, oldest
// first (admin mails such as the daily report arrive alongside).
func mailsTo(t *testing.T, smtp *smtptest.Server, rcpt string, n int) []smtptest.Message {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var got []smtptest.Message
		for _, m := range smtp.Messages() {
			if len(m.To) == 1 && m.To[0] == rcpt {
				got = append(got, m)
			}
		}
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d mails to %s after 20s, want %d", len(got), rcpt, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var outcomeRE = regexp.MustCompile(`"outcome":"([a-z_]+)"`)

// outcome runs `webhook send` and returns the outcome the server answered.
func outcome(t *testing.T, base, secret string, args ...string) string {
	t.Helper()
	code, out := sendWebhook(t, base, secret, args...)
	m := outcomeRE.FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("webhook send %v: exit %d: %s", args, code, out)
	}
	return m[1]
}

func placeOrder(t *testing.T, base, token, product string, quantity int) (id, reference string, total int) {
	t.Helper()
	status, body := api(t, "POST", base+"/orders/", token, orderBody(product, quantity))
	expectStatus(t, "place order", status, 201, body)
	return body["id"].(string), body["reference"].(string), int(body["total"].(float64))
}

func orderState(t *testing.T, base, token, id string) (status, payment string) {
	t.Helper()
	code, body := api(t, "GET", base+"/orders/"+id, token, nil)
	expectStatus(t, "get order", code, 200, body)
	return body["status"].(string), body["payment_status"].(string)
}

func TestPaymentWebhookEndToEnd(t *testing.T) {
	t.Parallel()
	p := startPaymentServer(t)
	smtp, secret, base := p.smtp, p.secret, p.base
	product := newProduct(t, base, p.admin, "PAY-1", 1250, 10)
	buyer := buyerWithEmail(t, base, "payer")
	itoa := func(n int) string { b, _ := json.Marshal(n); return string(b) }

	// Success: confirmed and paid, and the confirmation mail lists the lines.
	id1, ref1, total1 := placeOrder(t, base, buyer, product, 2)
	if got := outcome(t, base, secret, "--reference", ref1, "--status", "success", "--amount", itoa(total1), "--event-id", "evt_e2e_1"); got != "applied" {
		t.Fatalf("first payment: %s", got)
	}
	if s, p := orderState(t, base, buyer, id1); s != "confirmed" || p != "paid" {
		t.Fatalf("paid order is %s/%s", s, p)
	}
	msgs := mailsTo(t, smtp, "payer@example.com", 1)
	text, err := msgs[0].Text()
	if err != nil {
		t.Fatal(err)
	}
	if msgs[0].To[0] != "payer@example.com" || msgs[0].Subject() != "Order "+ref1+" confirmed" ||
		!strings.Contains(text, "2 × Product PAY-1 at 12.50 USD = 25.00 USD") || !strings.Contains(text, "Total: 25.00 USD") {
		t.Fatalf("confirmation mail to %v, subject %q:\n%s", msgs[0].To, msgs[0].Subject(), text)
	}
	// Replays and payments that do not apply.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--reference", ref1, "--status", "success", "--amount", itoa(total1), "--event-id", "evt_e2e_1"}, "duplicate"},
		{[]string{"--reference", ref1, "--status", "failed", "--amount", itoa(total1)}, "already_paid"},
		{[]string{"--reference", "ORD-000000000000", "--status", "success", "--amount", "1"}, "order_not_found"},
	} {
		if got := outcome(t, base, secret, tc.args...); got != tc.want {
			t.Errorf("webhook %v: %s, want %s", tc.args, got, tc.want)
		}
	}
	// A wrong amount changes nothing; a failed payment releases the stock.
	id2, ref2, total2 := placeOrder(t, base, buyer, product, 3)
	if got := outcome(t, base, secret, "--reference", ref2, "--status", "success", "--amount", itoa(total2-1)); got != "amount_mismatch" {
		t.Errorf("short payment: %s", got)
	}
	if s, _ := orderState(t, base, buyer, id2); s != "pending" {
		t.Errorf("after amount mismatch the order is %s", s)
	}
	if got := stockOf(t, base, product); got != 5 {
		t.Errorf("stock %v with 2 sold and 3 held, want 5", got)
	}
	if got := outcome(t, base, secret, "--reference", ref2, "--status", "failed", "--amount", itoa(total2)); got != "applied" {
		t.Errorf("failed payment: %s", got)
	}
	if s, p := orderState(t, base, buyer, id2); s != "failed" || p != "failed" {
		t.Errorf("after a failed payment the order is %s/%s", s, p)
	}
	deadline := time.Now().Add(10 * time.Second)
	for stockOf(t, base, product) != 8 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := stockOf(t, base, product); got != 8 {
		t.Errorf("stock %v after the failed payment, want 8", got)
	}
	msgs = mailsTo(t, smtp, "payer@example.com", 2)
	if msgs[1].Subject() != "Payment failed for order "+ref2 {
		t.Errorf("second mail: %q", msgs[1].Subject())
	}
	// Bad signatures and stale events are refused.
	if code, out := sendWebhook(t, base, newWebhookSecret(), "--reference", ref1, "--status", "success", "--amount", "1"); code != 1 || !strings.Contains(out, "HTTP 401") {
		t.Errorf("wrong secret: exit %d: %s", code, out)
	}
	if code, out := sendWebhook(t, base, secret, "--reference", ref1, "--status", "success", "--amount", "1", "--age", "6m"); code != 1 || !strings.Contains(out, "HTTP 401") {
		t.Errorf("stale event: exit %d: %s", code, out)
	}
}

// TestLatePaymentAfterExpiry: the scheduler expires an unpaid order (stock
// back, notice mailed); a payment arriving later is recorded as late and
// changes nothing.
func TestLatePaymentAfterExpiry(t *testing.T) {
	t.Parallel()
	p := startPaymentServer(t, "FLASHSTOCK_ORDER_TTL", "1s", "FLASHSTOCK_SCHEDULE_EXPIRE_ORDERS", "1s")
	smtp, secret, base := p.smtp, p.secret, p.base
	product := newProduct(t, base, p.admin, "LATE-1", 900, 4)
	buyer := buyerWithEmail(t, base, "latecomer")
	id, ref, total := placeOrder(t, base, buyer, product, 4)
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, body := api(t, "GET", base+"/orders/"+id, buyer, nil)
		expectStatus(t, "get order", code, 200, body)
		if body["status"] == "cancelled" {
			if body["cancel_reason"] != "expired" {
				t.Fatalf("expired order: %v", body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("order not expired: %v", body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for stockOf(t, base, product) != 4 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := stockOf(t, base, product); got != 4 {
		t.Fatalf("stock %v after expiry, want 4", got)
	}
	msgs := mailsTo(t, smtp, "latecomer@example.com", 1)
	if msgs[0].Subject() != "Order "+ref+" expired" {
		t.Errorf("expiry notice subject %q", msgs[0].Subject())
	}
	b, _ := json.Marshal(total)
	if got := outcome(t, base, secret, "--reference", ref, "--status", "success", "--amount", string(b)); got != "late_payment" {
		t.Errorf("payment after expiry: %s, want late_payment", got)
	}
	if s, p := orderState(t, base, buyer, id); s != "cancelled" || p != "pending" {
		t.Errorf("late payment changed the order to %s/%s", s, p)
	}
	if got := stockOf(t, base, product); got != 4 {
		t.Errorf("stock %v after a late payment, want 4", got)
	}
}

// TestDeadLettersCLIAndAdmin: with the SMTP server down, a cancellation
// notice uses up its attempts and becomes a dead letter, seen by
// `flashstock dlq list` and GET /admin/dead-letters; `flashstock dlq retry`
// delivers it once the server is back, and a second retry is refused.
func TestDeadLettersCLIAndAdmin(t *testing.T) {
	t.Parallel()
	p := startPaymentServer(t, "FLASHSTOCK_MAIL_ATTEMPTS", "2", "FLASHSTOCK_MAIL_BACKOFF", "10ms", "FLASHSTOCK_MAIL_BACKOFF_MAX", "20ms")
	smtp, vars, base, admin := p.smtp, p.vars, p.base, p.admin
	smtp.Stop() // before any order: nothing was mailed yet
	if code, out, errOut := runCmd(t, vars, "", "dlq", "list", "--json"); code != 0 || out != "[]\n" {
		t.Fatalf("dlq list --json with no dead letters: exit %d, printed %q, want []\n%s", code, out, errOut)
	}
	product := newProduct(t, base, admin, "DLQ-1", 500, 3)
	buyer := buyerWithEmail(t, base, "canceller")
	id, ref, _ := placeOrder(t, base, buyer, product, 1)
	code, body := api(t, "POST", base+"/orders/"+id+"/cancel", buyer, nil)
	expectStatus(t, "cancel", code, 200, body)

	var dl map[string]any
	deadline := time.Now().Add(20 * time.Second)
	for dl == nil {
		code, page := api(t, "GET", base+"/admin/dead-letters?status=dead", admin, nil)
		expectStatus(t, "list dead letters", code, 200, page)
		if items := page["items"].([]any); len(items) > 0 {
			dl = items[0].(map[string]any)
		} else if time.Now().After(deadline) {
			t.Fatal("no dead letter after the mail's attempts")
		} else {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if dl["source"] != "mail" || dl["kind"] != "order_cancelled" || dl["attempts"] != float64(2) || dl["status"] != "dead" {
		t.Fatalf("dead letter %v", dl)
	}
	dlID := dl["id"].(string)
	code, out, errOut := runCmd(t, vars, "", "dlq", "list")
	if code != 0 || !strings.Contains(out, dlID) || !strings.Contains(out, "order_cancelled") {
		t.Fatalf("dlq list: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runCmd(t, vars, "", "dlq", "list", "--json")
	var listed []map[string]any
	if err := json.Unmarshal([]byte(out), &listed); code != 0 || err != nil || len(listed) != 1 || listed[0]["id"] != dlID {
		t.Fatalf("dlq list --json: exit %d, %v, want a JSON array of the one dead letter:\n%s%s", code, err, out, errOut)
	}
	smtp.Restart(t)
	code, out, errOut = runCmd(t, vars, "", "dlq", "retry", "--id", dlID)
	if code != 0 || !strings.Contains(out, "retried "+dlID) {
		t.Fatalf("dlq retry: exit %d\n%s%s", code, out, errOut)
	}
	msgs := mailsTo(t, smtp, "canceller@example.com", 1)
	if msgs[0].Subject() != "Order "+ref+" cancelled" {
		t.Errorf("retried mail subject %q", msgs[0].Subject())
	}
	code, out, errOut = runCmd(t, vars, "", "dlq", "retry", "--id", dlID)
	if code != 1 || !strings.Contains(errOut, "conflict") {
		t.Errorf("second retry: exit %d\n%s%s", code, out, errOut)
	}
	code, page := api(t, "GET", base+"/admin/dead-letters?status=retried", admin, nil)
	expectStatus(t, "list retried", code, 200, page)
	if items := page["items"].([]any); len(items) != 1 || !strings.HasPrefix(items[0].(map[string]any)["retried_by"].(string), "cli") {
		t.Errorf("retried dead letters: %v", page["items"])
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(mailsTo(t, smtp, "canceller@example.com", 1)); n != 1 {
		t.Errorf("%d mails to the buyer, want exactly 1", n)
	}
}

// TestJobsRunDailyReport: `flashstock jobs run daily_report --day D`
// reports that day's paid orders and mails the report to the admin.
func TestJobsRunDailyReport(t *testing.T) {
	t.Parallel()
	p := startPaymentServer(t)
	smtp, vars, secret, base, admin := p.smtp, p.vars, p.secret, p.base, p.admin
	mug := newProduct(t, base, admin, "MUG", 1250, 100)
	cap := newProduct(t, base, admin, "CAP", 2000, 100)
	buyer := buyerWithEmail(t, base, "reporter")
	for _, o := range []struct {
		product string
		n       int
		pay     bool
	}{{mug, 3, true}, {cap, 1, true}, {mug, 2, false}} {
		_, ref, total := placeOrder(t, base, buyer, o.product, o.n)
		if o.pay {
			b, _ := json.Marshal(total)
			if got := outcome(t, base, secret, "--reference", ref, "--status", "success", "--amount", string(b)); got != "applied" {
				t.Fatal(got)
			}
		}
	}
	today := time.Now().UTC().Format(time.DateOnly)
	code, out, errOut := runCmd(t, vars, "", "jobs", "run", "daily_report", "--day", today)
	if code != 0 || !strings.Contains(out, `"orders":3`) || !strings.Contains(out, `"paid_orders":2`) {
		t.Fatalf("jobs run: exit %d\n%s%s", code, out, errOut)
	}
	var report string
	deadline := time.Now().Add(20 * time.Second)
	for report == "" && time.Now().Before(deadline) {
		for _, m := range smtp.Messages() {
			if m.Subject() == "Sales report "+today {
				report, _ = m.Text()
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, want := range []string{"Orders placed: 3", "Orders paid:   2", "Revenue:       57.50 USD",
		"1. Product MUG (MUG): 3 units, 37.50 USD", "2. Product CAP (CAP): 1 units, 20.00 USD"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	code, out, _ = runCmd(t, vars, "", "jobs", "list")
	if code != 0 || !regexp.MustCompile(`daily_report +off`).MatchString(out) || !regexp.MustCompile(`archive_webhooks +daily@03:00`).MatchString(out) {
		t.Errorf("jobs list: exit %d\n%s", code, out)
	}
	if code, _, _ := runCmd(t, vars, "", "jobs", "run", "no_such_task"); code != 2 {
		t.Errorf("unknown task: exit %d, want 2", code)
	}
}
