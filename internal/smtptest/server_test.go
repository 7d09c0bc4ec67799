package smtptest_test

import (
	"crypto/tls"
	"errors"
	"net"
	"net/smtp"
	"net/textproto"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flashstock/flashstock/internal/smtptest"
)

const waitTimeout = 5 * time.Second

const plainMessage = "From: a@example.com\r\nTo: b@example.com\r\nSubject: =?UTF-8?q?caf=C3=A9?=\r\n" +
	"Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
	"caf=C3=A9 =\r\ncr=C3=A8me\r\n.dot line\r\n"

// send delivers msg to srv with net/smtp, so that smtptest is tested
// against a client that is not the one it exists to test.
func send(srv *smtptest.Server, auth smtp.Auth, msg string) error {
	return smtp.SendMail(srv.Addr(), auth, "a@example.com", []string{"b@example.com", "c@example.com"}, []byte(msg))
}

// replyCode returns the SMTP reply code in err, 0 if none.
func replyCode(err error) int {
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code
	}
	return 0
}

func TestRecordsMessages(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	if !strings.HasPrefix(srv.URL(), "smtp://127.0.0.1:") || strings.Contains(srv.URL(), "@") {
		t.Errorf("URL = %q, want smtp://127.0.0.1:PORT", srv.URL())
	}
	if err := send(srv, nil, plainMessage); err != nil {
		t.Fatalf("send: %v", err)
	}
	m := srv.WaitMessages(t, 1, waitTimeout)[0]
	if m.From != "a@example.com" || len(m.To) != 2 || m.To[0] != "b@example.com" || m.To[1] != "c@example.com" {
		t.Errorf("envelope %q -> %q", m.From, m.To)
	}
	if string(m.Data) != plainMessage {
		t.Errorf("Data = %q, want %q", m.Data, plainMessage)
	}
	if m.ParseErr != nil || m.Header.Get("To") != "b@example.com" {
		t.Errorf("Header = %v (%v)", m.Header, m.ParseErr)
	}
	if m.Subject() != "café" {
		t.Errorf("Subject = %q, want café", m.Subject())
	}
	if text, err := m.Text(); err != nil || text != "café crème\n.dot line\n" {
		t.Errorf("Text = %q (%v)", text, err)
	}
	if m.User != "" || m.TLS {
		t.Errorf("User %q, TLS %v; want neither", m.User, m.TLS)
	}
}

func TestTextDecodesBase64(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	msg := "Subject: x\r\nContent-Transfer-Encoding: base64\r\n\r\nY2Fmw6kK\r\nY3LDqG1l\r\n"
	if err := send(srv, nil, msg); err != nil {
		t.Fatalf("send: %v", err)
	}
	m := srv.WaitMessages(t, 1, waitTimeout)[0]
	if text, err := m.Text(); err != nil || text != "café\ncrème" {
		t.Errorf("Text = %q (%v)", text, err)
	}
}

func TestUnparsableMessageIsRecorded(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	if err := send(srv, nil, "no header here\r\n"); err != nil {
		t.Fatalf("send: %v", err)
	}
	m := srv.WaitMessages(t, 1, waitTimeout)[0]
	if m.ParseErr == nil || string(m.Data) != "no header here\r\n" {
		t.Errorf("ParseErr %v, Data %q", m.ParseErr, m.Data)
	}
	if _, err := m.Text(); err == nil {
		t.Error("Text of an unparsable message: nil error")
	}
}

func TestFailNext(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	srv.FailNext(2, 451)
	srv.FailNext(1, 550)
	for _, want := range []int{451, 451, 550} {
		if err := send(srv, nil, plainMessage); replyCode(err) != want {
			t.Errorf("send = %v, want reply %d", err, want)
		}
	}
	if err := send(srv, nil, plainMessage); err != nil {
		t.Fatalf("send after the failures: %v", err)
	}
	if n := len(srv.WaitMessages(t, 1, waitTimeout)); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
	defer func() {
		if recover() == nil {
			t.Error("FailNext(1, 250) did not panic")
		}
	}()
	srv.FailNext(1, 250)
}

func TestStopRestart(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	srv.Stop()
	srv.Stop() // idempotent
	if c, err := net.DialTimeout("tcp", srv.Addr(), waitTimeout); err == nil {
		_ = c.Close()
		t.Fatal("dial a stopped server: connected")
	}
	srv.Restart(t)
	srv.Restart(t) // idempotent
	if err := send(srv, nil, plainMessage); err != nil {
		t.Fatalf("send after Restart: %v", err)
	}
	srv.WaitMessages(t, 1, waitTimeout)
}

func TestStopClosesOpenConnections(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	srv.Stop()
	if err := c.Noop(); err == nil {
		t.Error("NOOP on a connection to a stopped server: nil error")
	}
}

func TestAuth(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.WithAuth("user", "pa:ss"))
	u, err := url.Parse(srv.URL())
	if pass, _ := u.User.Password(); err != nil || u.Scheme != "smtp" || u.Host != srv.Addr() ||
		u.User.Username() != "user" || pass != "pa:ss" {
		t.Errorf("URL = %q (%v), want smtp://user:pa%%3Ass@%s", srv.URL(), err, srv.Addr())
	}
	if err := send(srv, nil, plainMessage); replyCode(err) != 530 {
		t.Errorf("send without AUTH = %v, want 530", err)
	}
	if err := send(srv, smtp.PlainAuth("", "user", "wrong", "127.0.0.1"), plainMessage); replyCode(err) != 535 {
		t.Errorf("send with a wrong password = %v, want 535", err)
	}
	if err := send(srv, smtp.PlainAuth("", "user", "pa:ss", "127.0.0.1"), plainMessage); err != nil {
		t.Fatalf("send with the password: %v", err)
	}
	msgs := srv.WaitMessages(t, 1, waitTimeout)
	if len(msgs) != 1 || msgs[0].User != "user" {
		t.Errorf("messages %d, user %q", len(msgs), msgs[0].User)
	}
}

func TestSTARTTLS(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.WithTLS())
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cfg := srv.ClientTLSConfig()
	cfg.ServerName = "127.0.0.1"
	if err := c.StartTLS(cfg); err != nil {
		t.Fatalf("STARTTLS: %v", err)
	}
	sendOn(t, c)
	if m := srv.WaitMessages(t, 1, waitTimeout)[0]; !m.TLS {
		t.Error("message over STARTTLS recorded without TLS")
	}
}

func TestImplicitTLS(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.WithImplicitTLS())
	if !strings.HasPrefix(srv.URL(), "smtps://") {
		t.Errorf("URL = %q, want smtps://", srv.URL())
	}
	cfg := srv.ClientTLSConfig()
	cfg.ServerName = "127.0.0.1"
	conn, err := tls.Dial("tcp", srv.Addr(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	c, err := smtp.NewClient(conn, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sendOn(t, c)
	if m := srv.WaitMessages(t, 1, waitTimeout)[0]; !m.TLS {
		t.Error("message over implicit TLS recorded without TLS")
	}
	if smtptest.Start(t).ClientTLSConfig() != nil {
		t.Error("ClientTLSConfig of a server without TLS is not nil")
	}
}

// sendOn sends plainMessage over the open client c.
func sendOn(t *testing.T, c *smtp.Client) {
	t.Helper()
	if err := c.Mail("a@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("b@example.com"); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(plainMessage)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
}

func TestConcurrentSendsAndWait(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() { errs <- send(srv, nil, plainMessage) })
	}
	msgs := srv.WaitMessages(t, n, waitTimeout)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if len(msgs) != n || len(srv.Messages()) != n {
		t.Errorf("WaitMessages %d, Messages %d; want %d", len(msgs), len(srv.Messages()), n)
	}
}

func TestWithAddr(t *testing.T) {
	t.Parallel()
	probe := smtptest.Start(t)
	addr := probe.Addr()
	probe.Stop() // frees the port for the next server
	srv := smtptest.Start(t, smtptest.WithAddr(addr))
	if srv.Addr() != addr {
		t.Errorf("Addr = %q, want %q", srv.Addr(), addr)
	}
}
