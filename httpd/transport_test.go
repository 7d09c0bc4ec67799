package httpd

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/crypto/bcrypt"

	"github.com/flashstock/flashstock/internal/testenv"
)

// Requests fasthttp cannot read, sent as raw bytes over a real connection:
// the read buffer, the timeouts and fasthttp's own logging act only there.

// tcpServer is a server on a loopback TCP listener; logs holds every line
// it wrote, fasthttp's own included.
type tcpServer struct {
	addr string
	logs *testenv.SyncBuffer
	obs  *observed
}

func startTCPServer(t *testing.T, opts ...func(*Config, *Deps)) *tcpServer {
	t.Helper()
	ts := &tcpServer{logs: &testenv.SyncBuffer{}, obs: newObserved()}
	store := newMemStore()
	cfg := Config{JWTSecret: testSecret, BcryptCost: bcrypt.MinCost}
	deps := Deps{Users: store, Products: store, Orders: &ordersFake{}, Log: zerolog.New(ts.logs), Observer: ts.obs.fake}
	for _, opt := range opts {
		opt(&cfg, &deps)
	}
	srv, err := New(cfg, deps)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveUntilCleanup(t, srv, ln)
	ts.addr = ln.Addr().String()
	return ts
}

// connDeadline only keeps a broken test from hanging: every exchange ends
// when the server closes the connection.
const connDeadline = 30 * time.Second

// exchange sends raw on a new connection and returns everything the server
// wrote until it closed the connection.
func (ts *tcpServer) exchange(t *testing.T, raw string) []byte {
	t.Helper()
	conn := ts.dial(t)
	// The server may refuse before reading all of raw and close: a failed
	// write is expected then, and its answer is still there to read.
	_, _ = conn.Write([]byte(raw))
	return readUntilClosed(t, conn)
}

func (ts *tcpServer) dial(t *testing.T) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	if err := conn.SetDeadline(time.Now().Add(connDeadline)); err != nil {
		t.Fatal(err)
	}
	return conn
}

// readUntilClosed reads r until the server closes the connection. A reset
// (the server closed with request bytes still unread) ends it like EOF; a
// timeout means the server never closed it.
func readUntilClosed(t *testing.T, r io.Reader) []byte {
	t.Helper()
	got, err := io.ReadAll(r)
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		t.Fatalf("the server did not close the connection within %v; read %q", connDeadline, got)
	}
	return got
}

// answer parses one raw HTTP response.
func answer(t *testing.T, raw []byte) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
	if err != nil {
		t.Fatalf("not an HTTP response: %v: %q", err, raw)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v: %q", err, raw)
	}
	return resp, body
}

// TestTransportRefusalsLeakNothing: requests fasthttp cannot read are
// answered with a problem that carries an X-Request-ID and quotes nothing
// of the request, are logged and observed; every line the server writes,
// fasthttp's included, is JSON without a byte of the requests.
func TestTransportRefusalsLeakNothing(t *testing.T) {
	t.Parallel()
	ts := startTCPServer(t, func(c *Config, _ *Deps) { c.BodyBytesMax = 1024 })
	const token = "tok-Zq81-never-echo-this-bearer"
	// Every request below carries one of these; none may come back or be logged.
	secrets := []string{token, "cookie-marker", "cr-marker", "nul-marker", "garbage-marker", "body-marker", "method-marker"}
	head := "GET /products/ HTTP/1.1\r\nHost: flashstock.test\r\nAuthorization: Bearer " + token + "\r\n"
	tests := []struct {
		name, raw string
		status    int
		code      string
		echoedID  string // the client's X-Request-ID, when the headers were read
		method    string // as observed
	}{
		{"header over 16 KiB", head + "X-Request-ID: half-read-id\r\nCookie: s=" +
			strings.Repeat("cookie-marker.", 20<<10/len("cookie-marker.")) + "\r\n\r\n",
			431, "header_too_large", "", "OTHER"},
		{"bare CR in a header", head + "X-Note: cr-marker\rinjected\r\n\r\n", 400, "bad_request", "", "OTHER"},
		{"NUL in a header", head + "X-Note: nul-marker\x00\r\n\r\n", 400, "bad_request", "", "OTHER"},
		{"garbage request line", "garbage-marker " + token + " \x01\x02\r\nHost: flashstock.test\r\n\r\n",
			400, "bad_request", "", "OTHER"},
		{"body over the limit", "POST /orders/ HTTP/1.1\r\nHost: flashstock.test\r\nAuthorization: Bearer " + token +
			"\r\nX-Request-ID: client-id-413\r\nContent-Type: application/json\r\nContent-Length: 4096\r\n\r\n{\"body-marker\":",
			413, "payload_too_large", "client-id-413", "POST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(ts.obs.requests.all())
			raw := ts.exchange(t, tt.raw)
			for _, s := range secrets {
				if bytes.Contains(raw, []byte(s)) {
					t.Errorf("the answer quotes the request (%q):\n%s", s, raw)
				}
			}
			resp, body := answer(t, raw)
			wantProblem(t, resp.StatusCode, []byte("HTTP/1.1\r\n"+headerLines(resp)), body, tt.status, tt.code)
			id := resp.Header.Get(headerRequestID)
			switch {
			case tt.echoedID != "" && id != tt.echoedID:
				t.Errorf("X-Request-ID %q, want the client's %q", id, tt.echoedID)
			case tt.echoedID == "" && len(id) != 32:
				t.Errorf("X-Request-ID %q, want a generated one (nothing of a request that could not be read is echoed)", id)
			}
			got := ts.obs.requests.all()[before:]
			if want := (requestSeen{route: routeTransport, method: tt.method, status: tt.status}); len(got) != 1 || got[0] != want {
				t.Errorf("observed %+v, want once %+v", got, want)
			}
		})
	}

	// Below the limit, a request with a long cookie is served.
	raw := ts.exchange(t, "GET /healthz HTTP/1.1\r\nHost: flashstock.test\r\nConnection: close\r\nCookie: s="+
		strings.Repeat("c", 12<<10)+"\r\n\r\n")
	if resp, body := answer(t, raw); resp.StatusCode != 200 || resp.Header.Get(headerRequestID) == "" {
		t.Errorf("12 KiB of headers: %d %s, want 200 with an X-Request-ID", resp.StatusCode, body)
	}

	// A routed request's log line names its method from a fixed set.
	raw = ts.exchange(t, "method-marker /healthz HTTP/1.1\r\nHost: flashstock.test\r\nConnection: close\r\n\r\n")
	if resp, body := answer(t, raw); resp.StatusCode != 405 {
		t.Errorf("unknown method: %d %s, want 405", resp.StatusCode, body)
	}

	logs := ts.logs.String()
	lines := strings.Split(strings.TrimSpace(logs), "\n")
	for _, line := range lines {
		if !json.Valid([]byte(line)) {
			t.Errorf("log line is not JSON: %q", line)
		}
		for _, s := range secrets {
			if strings.Contains(line, s) {
				t.Errorf("log line quotes the request (%q): %s", s, line)
			}
		}
	}
	if n := strings.Count(logs, `"request refused by the transport"`); n != len(tests) {
		t.Errorf("%d refusals logged, want %d:\n%s", n, len(tests), logs)
	}
	if !strings.Contains(logs, `"component":"fasthttp"`) {
		t.Errorf("fasthttp's own messages do not reach the server's log:\n%s", logs)
	}
}

// headerLines renders resp's header as raw lines, for wantProblem.
func headerLines(resp *http.Response) string {
	var b strings.Builder
	for k, vs := range resp.Header {
		for _, v := range vs {
			b.WriteString(k + ": " + v + "\r\n")
		}
	}
	return b.String()
}

// TestTransportTimeoutsCloseSilently: a connection that sends nothing, or
// not all of a request, within the read timeout, and a keep-alive
// connection idle past the idle timeout, are closed without a byte written
// (no 408, no 400) and without a refusal logged or observed.
func TestTransportTimeoutsCloseSilently(t *testing.T) {
	t.Parallel()
	ts := startTCPServer(t, func(c *Config, _ *Deps) {
		c.ReadTimeout = 200 * time.Millisecond
		c.IdleTimeout = 200 * time.Millisecond
	})
	if got := readUntilClosed(t, ts.dial(t)); len(got) != 0 {
		t.Errorf("silent connection: the server wrote %q before closing it", got)
	}
	partial := ts.dial(t)
	if _, err := partial.Write([]byte("GET /healthz HTTP/1.1\r\nHost: flashstock.test\r\n")); err != nil {
		t.Fatal(err)
	}
	if got := readUntilClosed(t, partial); len(got) != 0 {
		t.Errorf("incomplete request: the server wrote %q before closing the connection", got)
	}

	idle := ts.dial(t)
	if _, err := idle.Write([]byte("GET /healthz HTTP/1.1\r\nHost: flashstock.test\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(idle)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /healthz: %d", resp.StatusCode)
	}
	if got := readUntilClosed(t, br); len(got) != 0 {
		t.Errorf("idle keep-alive connection: the server wrote %q before closing it", got)
	}

	if got := ts.obs.requests.all(); len(got) != 1 {
		t.Errorf("observed %+v, want only the GET /healthz", got)
	}
	for _, line := range strings.Split(strings.TrimSpace(ts.logs.String()), "\n") {
		if !json.Valid([]byte(line)) || strings.Contains(line, "refused") {
			t.Errorf("log line: %s", line)
		}
	}
}

func TestRefusalOf(t *testing.T) {
	t.Parallel()
	timeout := &net.OpError{Op: "read", Net: "tcp", Err: errTimeoutFake{}}
	tests := []struct {
		err  error
		want refusal
	}{
		{errors.New("error when reading request headers: invalid header key \" x\""), refusalBadRequest},
		{timeout, refusalTimeout},
		{net.ErrClosed, refusalConnLost},
		{io.ErrUnexpectedEOF, refusalBadRequest},
	}
	for _, tt := range tests {
		if got := refusalOf(tt.err); got != tt.want {
			t.Errorf("refusalOf(%v) = %+v, want %+v", tt.err, got, tt.want)
		}
	}
}

type errTimeoutFake struct{}

func (errTimeoutFake) Error() string   { return "i/o timeout" }
func (errTimeoutFake) Timeout() bool   { return true }
func (errTimeoutFake) Temporary() bool { return true }

// TestFasthttpLogWithholdsArguments: fasthttp's messages reach zerolog as
// JSON without their arguments, which quote requests.
func TestFasthttpLogWithholdsArguments(t *testing.T) {
	t.Parallel()
	var logs testenv.SyncBuffer
	l := fasthttpLog{log: zerolog.New(&logs)}
	l.Printf("error when serving connection %q<->%q: %v", "127.0.0.1:8080", "127.0.0.1:5555",
		errors.New(`error when reading request headers: contents: "Authorization: Bearer secret-token"`))
	l.Printf("The incoming connection cannot be served, because %d concurrent connections are served. "+
		"Try increasing Server.Concurrency", 16384)
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2:\n%s", len(lines), logs.String())
	}
	for _, line := range lines {
		if !json.Valid([]byte(line)) || strings.Contains(line, "secret-token") || strings.Contains(line, "5555") ||
			!strings.Contains(line, `"component":"fasthttp"`) {
			t.Errorf("line %s", line)
		}
	}
	if !strings.Contains(lines[0], `"level":"debug"`) || !strings.Contains(lines[0], `"refusal":"bad request"`) {
		t.Errorf("connection error line %s: want debug with its refusal class", lines[0])
	}
	if !strings.Contains(lines[1], `"level":"warn"`) {
		t.Errorf("connection limit line %s: want warn", lines[1])
	}
}
