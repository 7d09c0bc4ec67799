package main

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flashstock/flashstock/internal/testenv"
	"github.com/flashstock/flashstock/usecase"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// syncBuffer is a buffer safe for the server goroutine and the test.
type syncBuffer = testenv.SyncBuffer

// testEnv returns an environment pointing at a fresh schema and Redis prefix.
func testEnv(t *testing.T, extra ...string) map[string]string {
	t.Helper()
	redisURL, prefix := testenv.RedisURL(t)
	vars := map[string]string{
		"FLASHSTOCK_HTTP_ADDR":    "127.0.0.1:0",
		"FLASHSTOCK_DATABASE_URL": testenv.PostgresURL(t),
		"FLASHSTOCK_REDIS_URL":    redisURL,
		"FLASHSTOCK_REDIS_PREFIX": prefix,
		"FLASHSTOCK_BCRYPT_COST":  "4",
		"FLASHSTOCK_DATA_DIR":     t.TempDir(),
	}
	for i := 0; i+1 < len(extra); i += 2 {
		vars[extra[i]] = extra[i+1]
	}
	return vars
}

// runCmd runs one command in-process and returns its exit code and output.
func runCmd(t *testing.T, vars map[string]string, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut syncBuffer
	e := env{args: args, getenv: func(k string) string { return vars[k] }, stdin: strings.NewReader(stdin),
		stdout: &out, stderr: &errOut}
	code := run(context.Background(), e)
	return code, out.String(), errOut.String()
}

// startServer runs `flashstock serve` in-process on a free port; the
// returned stop function shuts it down and checks it exited cleanly.
func startServer(t *testing.T, vars map[string]string) (base string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan string, 1)
	var logs syncBuffer
	e := env{args: []string{"serve"}, getenv: func(k string) string { return vars[k] },
		stdin: strings.NewReader(""), stdout: &logs, stderr: &logs, ready: func(a string) { addrs <- a }}
	done := make(chan int, 1)
	go func() { done <- run(ctx, e) }()
	select {
	case addr := <-addrs:
		base = "http://" + addr
	case code := <-done:
		cancel()
		t.Fatalf("serve exited with %d before listening:\n%s", code, logs.String())
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatalf("serve did not listen within 60s:\n%s", logs.String())
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case code := <-done:
				if code != 0 {
					t.Errorf("serve exited with %d:\n%s", code, logs.String())
				}
			case <-time.After(30 * time.Second):
				t.Errorf("serve did not stop within 30s")
			}
		})
	}
	t.Cleanup(stop)
	return base, stop
}

// api sends one JSON request and decodes a JSON answer into a map.
func api(t *testing.T, method, url, token string, body any) (int, map[string]any) {
	t.Helper()
	status, out, _ := call(t, method, url, token, nil, body)
	return status, out
}

func login(t *testing.T, base, username, password string) string {
	t.Helper()
	status, body := api(t, "POST", base+"/auth/jwt/create/", "", map[string]string{"username": username, "password": password})
	if status != 200 {
		t.Fatalf("login %s: status %d %v", username, status, body)
	}
	access, _ := body["access"].(string)
	if access == "" {
		t.Fatalf("login %s: no access token in %v", username, body)
	}
	return access
}

func expectStatus(t *testing.T, what string, got, want int, body map[string]any) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: status %d, want %d (body %v)", what, got, want, body)
	}
}

// TestReadmeFlow follows the README: register, log in, list products; an
// admin made with `flashstock user create --admin` creates and restocks a
// product.
func TestReadmeFlow(t *testing.T) {
	t.Parallel()
	vars := testEnv(t)
	base, stop := startServer(t, vars)

	status, body := api(t, "POST", base+"/auth/users/", "", map[string]string{
		"username": "alice", "password": "correct-horse-42", "email": "alice@example.com"})
	expectStatus(t, "register", status, 201, body)
	alice := login(t, base, "alice", "correct-horse-42")
	status, body = api(t, "GET", base+"/auth/users/me/", alice, nil)
	expectStatus(t, "me", status, 200, body)
	if body["username"] != "alice" || body["is_admin"] != false {
		t.Fatalf("me = %v", body)
	}

	code, out, errOut := runCmd(t, vars, "an-admin-password\n", "user", "create", "--username", "boss", "--email", "boss@example.com", "--admin", "--password-stdin")
	if code != 0 {
		t.Fatalf("user create: exit %d\n%s%s", code, out, errOut)
	}
	boss := login(t, base, "boss", "an-admin-password")

	product := map[string]any{"sku": "HOT-1", "name": "Hot item", "price": 1999, "currency": "USD", "stock": 10}
	status, body = api(t, "POST", base+"/products/", "", product)
	expectStatus(t, "anonymous create", status, 401, body)
	status, body = api(t, "POST", base+"/products/", alice, product)
	expectStatus(t, "non-admin create", status, 403, body)
	status, body = api(t, "POST", base+"/products/", boss, product)
	expectStatus(t, "admin create", status, 201, body)
	id, _ := body["id"].(string)

	status, body = api(t, "POST", base+"/products/"+id+"/restock", boss, map[string]int{"quantity": 5})
	expectStatus(t, "restock", status, 200, body)
	if body["stock"] != float64(15) {
		t.Fatalf("stock after restock = %v, want 15", body["stock"])
	}
	status, body = api(t, "GET", base+"/products/", "", nil)
	expectStatus(t, "list", status, 200, body)
	items, _ := body["items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["stock"] != float64(15) {
		t.Fatalf("list after restock = %v", body)
	}
	status, body = api(t, "GET", base+"/readyz", "", nil)
	expectStatus(t, "readyz", status, 200, body)
	stop()
}

// TestServeRestartKeepsData: a second serve on the same database sees the
// first one's accounts (migrations are not re-applied destructively).
func TestServeRestartKeepsData(t *testing.T) {
	t.Parallel()
	vars := testEnv(t, "FLASHSTOCK_JWT_SECRET", strings.Repeat("k", 32))
	base, stop := startServer(t, vars)
	status, body := api(t, "POST", base+"/auth/users/", "", map[string]string{"username": "bob", "password": "s3cret-pass"})
	expectStatus(t, "register", status, 201, body)
	stop()
	base, _ = startServer(t, vars)
	login(t, base, "bob", "s3cret-pass")
}

func TestMigrateCommand(t *testing.T) {
	t.Parallel()
	vars := testEnv(t)
	code, out, errOut := runCmd(t, vars, "", "migrate")
	if code != 0 || !strings.Contains(out, "applied 0001") {
		t.Fatalf("first migrate: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, _ = runCmd(t, vars, "", "migrate")
	if code != 0 || !strings.Contains(out, "already up to date") {
		t.Fatalf("second migrate: exit %d, stdout %q", code, out)
	}
}

func TestUserCreateRejectsBadInput(t *testing.T) {
	t.Parallel()
	vars := testEnv(t)
	cases := []struct {
		name, stdin string
		args        []string
		code        int
	}{
		{"weak password", "12345678\n", []string{"--username", "carol", "--password-stdin"}, 1},
		{"password equals username", "carol-the-user\n", []string{"--username", "carol-the-user", "--password-stdin"}, 1},
		{"no password flag", "whatever-pass\n", []string{"--username", "carol"}, 2},
		{"no username", "whatever-pass\n", []string{"--password-stdin"}, 2},
		{"empty stdin", "", []string{"--username", "carol", "--password-stdin"}, 2},
	}
	for _, tc := range cases {
		code, out, errOut := runCmd(t, vars, tc.stdin, append([]string{"user", "create"}, tc.args...)...)
		if code != tc.code {
			t.Errorf("%s: exit %d, want %d\n%s%s", tc.name, code, tc.code, out, errOut)
		}
	}
	code, _, _ := runCmd(t, vars, "good-password-1\n", "user", "create", "--username", "dave", "--password-stdin")
	if code != 0 {
		t.Fatalf("valid user: exit %d", code)
	}
	code, _, errOut := runCmd(t, vars, "good-password-1\n", "user", "create", "--username", "dave", "--password-stdin")
	if code != 1 || !strings.Contains(errOut, "conflict") {
		t.Fatalf("duplicate user: exit %d, stderr %q", code, errOut)
	}
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		vars map[string]string
		args []string
		code int
		want string
	}{
		{"prod without secret", map[string]string{"FLASHSTOCK_ENV": "prod", "FLASHSTOCK_DATABASE_URL": "postgres://x@127.0.0.1:1/db"},
			nil, 1, "FLASHSTOCK_JWT_SECRET"},
		{"prod without webhook secret", map[string]string{"FLASHSTOCK_ENV": "prod", "FLASHSTOCK_JWT_SECRET": strings.Repeat("s", 32),
			"FLASHSTOCK_DATABASE_URL": "postgres://x@127.0.0.1:1/db"}, nil, 1, "FLASHSTOCK_WEBHOOK_SECRET: required in prod"},
		{"webhook secret not base64", map[string]string{"FLASHSTOCK_WEBHOOK_SECRET": "whsec_not base64!"}, nil, 1, "FLASHSTOCK_WEBHOOK_SECRET: want whsec_"},
		{"webhook secret too short for prod", map[string]string{"FLASHSTOCK_ENV": "prod", "FLASHSTOCK_JWT_SECRET": strings.Repeat("s", 32),
			"FLASHSTOCK_DATABASE_URL": "postgres://x@127.0.0.1:1/db", "FLASHSTOCK_WEBHOOK_SECRET": "whsec_c2hvcnQ="}, nil, 1, "at least 24 bytes, not 5"},
		{"bad smtp url", map[string]string{"FLASHSTOCK_SMTP_URL": "http://mail.example.com"}, nil, 1, "FLASHSTOCK_SMTP_URL"},
		{"bad admin email", map[string]string{"FLASHSTOCK_ADMIN_EMAIL": "nobody"}, nil, 1, "FLASHSTOCK_ADMIN_EMAIL"},
		{"bad schedule", map[string]string{"FLASHSTOCK_SCHEDULE_DAILY_REPORT": "every day"}, nil, 2, "FLASHSTOCK_SCHEDULE_DAILY_REPORT"},
		{"schedule too often", map[string]string{"FLASHSTOCK_SCHEDULE_EXPIRE_ORDERS": "10ms"}, nil, 2, "FLASHSTOCK_SCHEDULE_EXPIRE_ORDERS"},
		{"no mail attempts", map[string]string{"FLASHSTOCK_MAIL_ATTEMPTS": "0"}, nil, 1, "FLASHSTOCK_MAIL_ATTEMPTS"},
		{"prod with short secret", map[string]string{"FLASHSTOCK_ENV": "prod", "FLASHSTOCK_JWT_SECRET": "short",
			"FLASHSTOCK_DATABASE_URL": "postgres://x@127.0.0.1:1/db"}, nil, 1, "at least 32 bytes"},
		{"prod without database", map[string]string{"FLASHSTOCK_ENV": "prod", "FLASHSTOCK_JWT_SECRET": strings.Repeat("s", 32)},
			nil, 1, "FLASHSTOCK_DATABASE_URL"},
		{"unknown env", map[string]string{"FLASHSTOCK_ENV": "staging"}, nil, 1, "dev or prod"},
		{"bad duration", map[string]string{"FLASHSTOCK_ACCESS_TTL": "soon"}, nil, 2, "FLASHSTOCK_ACCESS_TTL"},
		{"flag overrides env", map[string]string{"FLASHSTOCK_LOG_LEVEL": "info"}, []string{"--log-level", "loud"}, 1, "FLASHSTOCK_LOG_LEVEL"},
		{"bad address", map[string]string{"FLASHSTOCK_HTTP_ADDR": "nowhere"}, nil, 1, "FLASHSTOCK_HTTP_ADDR"},
		{"unknown flag", nil, []string{"--no-such-flag"}, 2, "no-such-flag"},
		{"bad rate", map[string]string{"FLASHSTOCK_RATE_ORDERS": "5 per minute"}, nil, 2, "FLASHSTOCK_RATE_ORDERS"},
		{"no shards", map[string]string{"FLASHSTOCK_SHARDS": "0"}, nil, 1, "FLASHSTOCK_SHARDS"},
		{"no order ttl", map[string]string{"FLASHSTOCK_ORDER_TTL": "0s"}, nil, 1, "FLASHSTOCK_ORDER_TTL"},
		{"item limit above the hard maximum", map[string]string{"FLASHSTOCK_ITEMS_PER_ORDER_MAX": "101"}, nil, 1, "FLASHSTOCK_ITEMS_PER_ORDER_MAX"},
		{"per-SKU bound above the overall one", map[string]string{"FLASHSTOCK_INFLIGHT_PER_SKU_MAX": "10", "FLASHSTOCK_INFLIGHT_MAX": "5"}, nil, 1, "in-flight"},
		{"pprof off loopback", map[string]string{"FLASHSTOCK_PPROF_ADDR": "0.0.0.0:6060"}, nil, 1, "FLASHSTOCK_PPROF_ADDR"},
		{"header limit too small", map[string]string{"FLASHSTOCK_HEADER_BYTES_MAX": "512"}, nil, 1, "FLASHSTOCK_HEADER_BYTES_MAX"},
	}
	for _, tc := range cases {
		code, _, errOut := runCmd(t, tc.vars, "", append([]string{"serve"}, tc.args...)...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("%s: exit %d (want %d), stderr %q (want it to mention %q)", tc.name, code, tc.code, errOut, tc.want)
		}
	}
}

func TestHelpAndVersion(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"serve", "--help"}, {"migrate", "--help"}, {"user", "create", "--help"}, {"version", "--help"},
		{"user", "--help"}, {"webhook", "--help"}, {"webhook", "send", "--help"}, {"jobs", "--help"}, {"jobs", "run", "x", "--help"},
		{"dlq", "--help"}, {"dlq", "list", "--help"}, {"dlq", "retry", "--help"}} {
		code, out, errOut := runCmd(t, nil, "", args...)
		if code != 0 || !strings.Contains(out, "Usage: flashstock") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
	_, out, _ := runCmd(t, nil, "", "serve", "--help")
	for _, s := range new(config).settings() {
		if !strings.Contains(out, s.env()) || !strings.Contains(out, "-"+s.name) {
			t.Errorf("serve --help does not mention %s / --%s", s.env(), s.name)
		}
	}
	_, out, _ = runCmd(t, nil, "", "jobs", "--help")
	for name := range usecase.DefaultSchedules {
		if !strings.Contains(out, name) {
			t.Errorf("jobs --help does not name the task %s", name)
		}
	}
	for _, args := range [][]string{{"webhook"}, {"webhook", "sned"}, {"jobs"}, {"jobs", "run"}, {"dlq"}, {"dlq", "retry"},
		{"dlq", "retry", "--id", "x", "--all"}, {"webhook", "send", "--reference", "ORD-0123456789AB", "--status", "paid", "--amount", "1"}} {
		if code, _, _ := runCmd(t, nil, "", args...); code != 2 {
			t.Errorf("%v: exit %d, want 2 (usage)", args, code)
		}
	}
	code, out, _ := runCmd(t, nil, "", "version")
	if code != 0 || !strings.HasPrefix(out, "flashstock ") {
		t.Errorf("version: exit %d, %q", code, out)
	}
	if code, _, _ := runCmd(t, nil, "", "frobnicate"); code != 2 {
		t.Errorf("unknown command: exit %d, want 2", code)
	}
	if code, _, _ := runCmd(t, nil, ""); code != 2 {
		t.Errorf("no command: exit %d, want 2", code)
	}
}

// TestSecretsNotLogged: the effective configuration is logged with the JWT
// secret and database password masked.
func TestSecretsNotLogged(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	c := config{DatabaseURL: "postgres://u:hunter2@db:5432/x", JWTSecret: "super-secret-value-that-is-long-enough",
		WebhookSecret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", SMTPURL: "smtp://mailer:mailpass@smtp.example.com:587"}
	c.log(newLogger(&logs, "info"))
	got := logs.String()
	if strings.Contains(got, "hunter2") || strings.Contains(got, "super-secret") || strings.Contains(got, "MfKQ9r8") || strings.Contains(got, "mailpass") {
		t.Fatalf("secret in log: %s", got)
	}
	if !strings.Contains(got, "effective configuration") {
		t.Fatalf("no configuration line: %s", got)
	}
}
