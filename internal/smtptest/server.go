package smtptest

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Limits of the test server.
const (
	ioTimeout       = 10 * time.Second // per read or write on a connection
	messageBytesMax = 1 << 20          // larger DATA gets 552
	recipientsMax   = 100              // per transaction
	serverDomain    = "smtptest.local" // greets clients as this
)

// Server is an SMTP server running in the test process. All its methods
// are safe for concurrent use.
type Server struct {
	opts      options
	addr      string         // host:port, fixed at Start; Restart listens here again
	serverTLS *tls.Config    // nil without WithTLS or WithImplicitTLS
	roots     *x509.CertPool // trusts serverTLS's certificate

	life sync.Mutex // serializes Stop and Restart

	mu       sync.Mutex // guards the fields below
	srv      *smtp.Server
	ln       net.Listener  // srv's; Stop closes it too, since srv only knows it once Serve began
	served   chan struct{} // closed when srv's Serve returned
	messages []Message
	changed  chan struct{} // closed (and replaced) when a message is recorded
	failures []int         // reply codes for the next DATA commands, first first
}

// Start starts a server for the test t and stops it when t ends. It
// listens on a free port of 127.0.0.1 unless WithAddr says otherwise.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{opts: options{addr: "127.0.0.1:0"}, changed: make(chan struct{})}
	for _, o := range opts {
		o(&s.opts)
	}
	if s.opts.tls || s.opts.implicitTLS {
		cert, roots, err := selfSigned()
		if err != nil {
			t.Fatal(err)
		}
		s.serverTLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		s.roots = roots
	}
	l, err := net.Listen("tcp", s.opts.addr)
	if err != nil {
		t.Fatalf("smtptest: listen on %s: %v", s.opts.addr, err)
	}
	s.addr = l.Addr().String()
	s.serve(l)
	t.Cleanup(s.Stop)
	return s
}

// serve runs a fresh go-smtp server on l.
func (s *Server) serve(l net.Listener) {
	srv := smtp.NewServer(backend{s})
	srv.Domain = serverDomain
	srv.ReadTimeout, srv.WriteTimeout = ioTimeout, ioTimeout
	srv.MaxMessageBytes, srv.MaxRecipients = messageBytesMax, recipientsMax
	srv.AllowInsecureAuth = s.opts.user != ""
	srv.ErrorLog = log.New(io.Discard, "", 0) // t.Log would panic after the test ends
	if s.opts.implicitTLS {
		l = tls.NewListener(l, s.serverTLS)
	} else if s.opts.tls {
		srv.TLSConfig = s.serverTLS
	}
	ln, served := l, make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(l) // returns when Stop closes the listener
	}()
	s.mu.Lock()
	s.srv, s.ln, s.served = srv, ln, served
	s.mu.Unlock()
}

// Stop closes the listener and every open connection, so that new
// connections are refused: the SMTP server is down. Stopping a stopped
// server does nothing.
func (s *Server) Stop() {
	s.life.Lock()
	defer s.life.Unlock()
	s.mu.Lock()
	srv, ln, served := s.srv, s.ln, s.served
	s.srv, s.ln, s.served = nil, nil, nil
	s.mu.Unlock()
	if srv == nil {
		return
	}
	_ = srv.Close() // closes the connections
	_ = ln.Close()
	<-served
}

// Restart listens again on the address of Start: the SMTP server is up.
// Recorded messages and pending failures are kept. Restarting a running
// server does nothing; t fails if the address cannot be bound again.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.life.Lock()
	defer s.life.Unlock()
	s.mu.Lock()
	running := s.srv != nil
	s.mu.Unlock()
	if running {
		return
	}
	l, err := net.Listen("tcp", s.addr)
	if err != nil {
		t.Fatalf("smtptest: listen again on %s: %v", s.addr, err)
	}
	s.serve(l)
}

// Addr returns the host:port the server listens on.
func (s *Server) Addr() string { return s.addr }

// URL returns the URL that reaches the server: smtp://127.0.0.1:PORT, or
// smtps:// with WithImplicitTLS, with the WithAuth credentials as user
// information.
func (s *Server) URL() string {
	u := url.URL{Scheme: "smtp", Host: s.addr}
	if s.opts.implicitTLS {
		u.Scheme = "smtps"
	}
	if s.opts.user != "" {
		u.User = url.UserPassword(s.opts.user, s.opts.pass)
	}
	return u.String()
}

// ClientTLSConfig returns a TLS client configuration that trusts the
// server's certificate, or nil when the server has no TLS.
func (s *Server) ClientTLSConfig() *tls.Config {
	if s.roots == nil {
		return nil
	}
	return &tls.Config{RootCAs: s.roots, MinVersion: tls.VersionTLS12}
}

// FailNext makes the next n DATA commands fail with the SMTP reply code
// (4xx temporary, such as 451; 5xx permanent, such as 550) after the data
// was read; failed messages are not recorded. It panics on a code outside
// 400..599.
func (s *Server) FailNext(n int, code int) {
	if code < 400 || code > 599 {
		panic(fmt.Sprintf("smtptest: FailNext code %d is not a 4xx or 5xx reply", code))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failures = append(s.failures, code)
	}
}

// takeFailure pops the next injected failure code; 0 means none.
func (s *Server) takeFailure() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.failures) == 0 {
		return 0
	}
	code := s.failures[0]
	s.failures = s.failures[1:]
	return code
}

// record appends m and wakes WaitMessages.
func (s *Server) record(m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages = append(s.messages, m)
	close(s.changed)
	s.changed = make(chan struct{})
}

// Messages returns the messages accepted so far, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// WaitMessages waits until at least n messages were accepted and returns
// them all; t fails if that takes longer than timeout. Call it from the
// test's goroutine.
func (s *Server) WaitMessages(t testing.TB, n int, timeout time.Duration) []Message {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		msgs, changed := append([]Message(nil), s.messages...), s.changed
		s.mu.Unlock()
		if len(msgs) >= n {
			return msgs
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("smtptest: %d messages after %v, want %d", len(msgs), timeout, n)
			return nil
		}
	}
}
