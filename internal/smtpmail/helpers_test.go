package smtpmail_test

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/flashstock/flashstock/engine"
	"github.com/flashstock/flashstock/internal/smtpmail"
)

// mailSender is the consumer's view (actors.MailSender), restated here
// because smtpmail must not import actors.
type mailSender interface {
	Send(ctx context.Context, m engine.Mail) error
}

var (
	_ mailSender = (*smtpmail.Sender)(nil)
	_ mailSender = (*smtpmail.LogSender)(nil)
)

// waitTimeout bounds every wait for the test server.
const waitTimeout = 5 * time.Second

const testFrom = "flashstock <noreply@shop.example>"

// newSender returns a Sender for url; edit adjusts the Config first.
func newSender(t *testing.T, url string, edit ...func(*smtpmail.Config)) *smtpmail.Sender {
	t.Helper()
	cfg := smtpmail.Config{URL: url, From: testFrom, Timeout: waitTimeout}
	for _, e := range edit {
		e(&cfg)
	}
	s, err := smtpmail.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

// testMail returns a valid mail with key.
func testMail(key string) engine.Mail {
	return engine.Mail{Kind: engine.MailOrderConfirmed, Key: key, To: []string{"buyer@example.org"},
		Subject: "Order FS-1 confirmed", Text: "Thank you.\n"}
}

// stallingServer accepts TCP connections and never says a word, like an
// SMTP server that hangs before its greeting. It returns its address and
// a channel that receives a value per accepted connection.
func stallingServer(t *testing.T) (string, <-chan struct{}) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	accepted := make(chan struct{}, 16)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			select {
			case accepted <- struct{}{}:
			default:
			}
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return l.Addr().String(), accepted
}
