package httpd

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp/fasthttputil"

	"github.com/flashstock/flashstock/engine"
	"github.com/flashstock/flashstock/internal/testenv"
)

// lockedBuffer collects log output written from server goroutines.
type lockedBuffer = testenv.SyncBuffer

type pingerFunc func(context.Context) error

func (f pingerFunc) Ping(ctx context.Context) error { return f(ctx) }

func TestHealthz(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	for _, path := range []string{"/healthz", "/healthz/"} {
		status, hdr, body := ts.do("GET", path, nil)
		if status != 200 || !strings.Contains(string(body), `"ok"`) || headerValue(hdr, "X-Request-ID") == "" {
			t.Errorf("GET %s: %d %s", path, status, body)
		}
	}
}

func TestReadyz(t *testing.T) {
	t.Parallel()
	dbErr := errors.New("dial tcp 10.1.2.3:5432: connection refused")
	var down bool
	var mu sync.Mutex
	ts := newTestServer(t, func(_ *Config, d *Deps) {
		d.Checks = map[string]Pinger{
			"postgres": pingerFunc(func(context.Context) error {
				mu.Lock()
				defer mu.Unlock()
				if down {
					return dbErr
				}
				return nil
			}),
			"redis": pingerFunc(func(context.Context) error { return nil }),
		}
	})
	status, _, body := ts.do("GET", "/readyz", nil)
	if status != 200 || !strings.Contains(string(body), `"postgres":"up"`) || !strings.Contains(string(body), `"redis":"up"`) {
		t.Fatalf("ready: %d %s", status, body)
	}
	mu.Lock()
	down = true
	mu.Unlock()
	status, hdr, body := ts.do("GET", "/readyz", nil)
	wantProblem(t, status, hdr, body, 503, "unavailable")
	if headerValue(hdr, "Retry-After") == "" {
		t.Errorf("503 without Retry-After")
	}
	if strings.Contains(string(body), "10.1.2.3") {
		t.Errorf("503 leaks the dependency's address: %s", body)
	}
}

func TestUnknownRouteAndMethod(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	status, hdr, body := ts.do("GET", "/no/such/route", nil)
	wantProblem(t, status, hdr, body, 404, "not_found")
	status, hdr, body = ts.do("DELETE", "/products/", nil)
	wantProblem(t, status, hdr, body, 405, "method_not_allowed")
}

func TestBodyTooLarge(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(c *Config, _ *Deps) { c.BodyBytesMax = 1024 })
	big := map[string]string{"username": strings.Repeat("a", 2048), "password": "whatever-pass"}
	status, hdr, body := ts.do("POST", "/auth/users/", big)
	wantProblem(t, status, hdr, body, 413, "payload_too_large")
	ts.store.mu.Lock()
	n := len(ts.store.users)
	ts.store.mu.Unlock()
	if n != 0 {
		t.Errorf("%d users stored from a rejected body", n)
	}
}

func TestPanicBecomesLoggedInternalError(t *testing.T) {
	t.Parallel()
	logs := &lockedBuffer{}
	ts := newTestServer(t, func(_ *Config, d *Deps) {
		d.Log = zerolog.New(logs)
		d.Products = &productsFake{ProductFunc: func(context.Context, engine.ID) (engine.Product, error) {
			panic("secret internal state")
		}}
	})
	status, hdr, body := ts.do("GET", "/products/0193a6b2-7c4d-7def-8abc-0123456789ab", nil,
		"X-Request-ID", "req-panic-1")
	p := wantProblem(t, status, hdr, body, 500, "internal")
	if p.RequestID != "req-panic-1" || strings.Contains(string(body), "secret") {
		t.Fatalf("problem = %s", body)
	}
	if n := strings.Count(logs.String(), "handler panicked"); n != 1 {
		t.Fatalf("panic logged %d times, want once:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), `"request_id":"req-panic-1"`) {
		t.Fatalf("panic log lacks the request id:\n%s", logs.String())
	}
	// The server keeps serving after a panic.
	if status, _, _ := ts.do("GET", "/healthz", nil); status != 200 {
		t.Fatalf("healthz after panic: %d", status)
	}
}

func TestRequestIDs(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	_, hdr, _ := ts.do("GET", "/healthz", nil, "X-Request-ID", "abc-123")
	if got := headerValue(hdr, "X-Request-ID"); got != "abc-123" {
		t.Errorf("given id not echoed: %q", got)
	}
	_, hdr, _ = ts.do("GET", "/healthz", nil, "X-Request-ID", strings.Repeat("x", 500))
	if got := headerValue(hdr, "X-Request-ID"); len(got) != 32 {
		t.Errorf("oversized id should be replaced by a generated one, got %q", got)
	}
	_, hdr1, _ := ts.do("GET", "/healthz", nil)
	_, hdr2, _ := ts.do("GET", "/healthz", nil)
	if a, b := headerValue(hdr1, "X-Request-ID"), headerValue(hdr2, "X-Request-ID"); a == "" || a == b {
		t.Errorf("generated ids %q and %q should be distinct and non-empty", a, b)
	}
}

func TestOneLogLinePerRequest(t *testing.T) {
	t.Parallel()
	logs := &lockedBuffer{}
	ts := newTestServer(t, func(_ *Config, d *Deps) { d.Log = zerolog.New(logs) })
	_, tok := ts.account(t, "logger", false)
	ts.do("GET", "/auth/users/me/", nil, append(authHeader(tok), "X-Request-ID", "req-log-1")...)
	var line string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, `"request_id":"req-log-1"`) {
			if line != "" {
				t.Fatalf("two log lines for one request:\n%s\n%s", line, l)
			}
			line = l
		}
	}
	for _, want := range []string{`"method":"GET"`, `"route":"/auth/users/me/"`, `"status":200`, `"duration"`, `"user_id":"`} {
		if !strings.Contains(line, want) {
			t.Errorf("request log line lacks %s: %s", want, line)
		}
	}
}

// TestShutdownRacingServe: a Shutdown that lands before Serve has started
// accepting must still end Serve (fasthttp alone would leave it in Accept).
func TestShutdownRacingServe(t *testing.T) {
	t.Parallel()
	store := newMemStore()
	for i := 0; i < 200; i++ {
		srv, err := New(Config{JWTSecret: testSecret}, Deps{Users: store, Products: store, Orders: &ordersFake{}, Log: zerolog.Nop()})
		if err != nil {
			t.Fatal(err)
		}
		ln := fasthttputil.NewInmemoryListener()
		served := make(chan error, 1)
		go func() { served <- srv.Serve(ln) }()
		if err := srv.Shutdown(context.Background()); err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
		select {
		case err := <-served:
			if err != nil {
				t.Fatalf("Serve after Shutdown: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("iteration %d: Serve still blocked 10s after Shutdown", i)
		}
	}
}

func TestHeadAnswersLikeGet(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	_, getHdr, _ := ts.do("GET", "/products/", nil)
	status, hdr, body := ts.do("HEAD", "/products/", nil)
	if status != 200 || len(body) != 0 {
		t.Fatalf("HEAD /products/: %d with %d body bytes", status, len(body))
	}
	if etag := headerValue(hdr, "ETag"); etag == "" || etag != headerValue(getHdr, "ETag") {
		t.Fatalf("HEAD ETag %q, GET ETag %q", etag, headerValue(getHdr, "ETag"))
	}
}

// TestEveryAnswerCarriesRequestID: whoever writes the answer (a route, the
// router's OPTIONS, 404 and 405, a panic, HEAD), it carries X-Request-ID:
// the client's when sane, else a generated one. Transport refusals are in
// TestTransportRefusalsLeakNothing.
func TestEveryAnswerCarriesRequestID(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(c *Config, d *Deps) {
		c.BodyBytesMax = 1024
		d.Products = &productsFake{ProductFunc: func(context.Context, engine.ID) (engine.Product, error) {
			panic("product store exploded")
		}}
	})
	tests := []struct {
		name, method, path string
		body               any
		status             int
		allow              string // the Allow header wanted, if any
	}{
		{"route", "GET", "/healthz", nil, 200, ""},
		{"HEAD", "HEAD", "/healthz", nil, 200, ""},
		{"OPTIONS", "OPTIONS", "/products/", nil, 204, "GET, HEAD, OPTIONS, POST"},
		{"OPTIONS of an unknown path", "OPTIONS", "/no/such/route", nil, 404, ""},
		{"unknown path", "GET", "/no/such/route", nil, 404, ""},
		{"HEAD of an unknown path", "HEAD", "/no/such/route", nil, 404, ""},
		{"method not allowed", "DELETE", "/products/", nil, 405, "GET, HEAD, OPTIONS, POST"},
		{"panic", "GET", "/products/0193a6b2-7c4d-7def-8abc-0123456789ab", nil, 500, ""},
		{"body too large", "POST", "/auth/users/", strings.Repeat("x", 2048), 413, ""},
	}
	for _, tt := range tests {
		status, hdr, body := ts.do(tt.method, tt.path, tt.body, "X-Request-ID", "given-"+tt.method)
		if status != tt.status {
			t.Errorf("%s: %s %s: %d, want %d: %s", tt.name, tt.method, tt.path, status, tt.status, body)
		}
		if got := headerValue(hdr, headerRequestID); got != "given-"+tt.method {
			t.Errorf("%s: X-Request-ID %q, want the client's", tt.name, got)
		}
		if got := headerValue(hdr, headerAllow); got != tt.allow {
			t.Errorf("%s: Allow %q, want %q", tt.name, got, tt.allow)
		}
		_, hdr, _ = ts.do(tt.method, tt.path, tt.body)
		if got := headerValue(hdr, headerRequestID); len(got) != 32 {
			t.Errorf("%s without an id: X-Request-ID %q, want a generated one", tt.name, got)
		}
	}
}
