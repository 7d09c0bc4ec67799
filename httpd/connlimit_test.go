package httpd

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestConnectionLimitAnswersOverloaded: a connection over ConcurrencyMax
// is answered 503 overloaded, a problem with an X-Request-ID, and a slot
// freed by a closed connection serves again.
func TestConnectionLimitAnswersOverloaded(t *testing.T) {
	t.Parallel()
	ts := startTCPServer(t, func(c *Config, _ *Deps) { c.ConcurrencyMax = 2 })
	first, _ := ts.dial(t), ts.dial(t) // idle: each holds its slot
	raw := ts.exchange(t, "GET /healthz HTTP/1.1\r\nHost: flashstock.test\r\n\r\n")
	resp, body := answer(t, raw)
	wantProblem(t, resp.StatusCode, []byte("HTTP/1.1\r\n"+headerLines(resp)), body, 503, "overloaded")
	if resp.Header.Get("Retry-After") == "" || len(resp.Header.Get(headerRequestID)) != 32 {
		t.Errorf("503 over the connection limit: Retry-After %q, X-Request-ID %q", resp.Header.Get("Retry-After"),
			resp.Header.Get(headerRequestID))
	}
	if want := (requestSeen{route: routeTransport, method: methodOther, status: 503}); !slices.Contains(ts.obs.requests.all(), want) {
		t.Errorf("observed %+v, want %+v among them", ts.obs.requests.all(), want)
	}
	if !strings.Contains(ts.logs.String(), `"refusal":"connection limit"`) {
		t.Errorf("refusal not logged:\n%s", ts.logs.String())
	}

	// The server sees the first connection close, then has a slot again.
	_ = first.Close()
	for deadline := time.Now().Add(connDeadline); ; {
		resp, _ := answer(t, ts.exchange(t, "GET /healthz HTTP/1.1\r\nHost: flashstock.test\r\nConnection: close\r\n\r\n"))
		if resp.StatusCode == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no slot freed %v after a connection closed: %d", connDeadline, resp.StatusCode)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
