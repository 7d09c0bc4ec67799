package smtpmail_test

import (
	"net"
	"strings"
	"testing"

	"github.com/flashstock/flashstock/internal/smtpmail"
	"github.com/flashstock/flashstock/internal/smtptest"
)

func TestSendTLSModes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		opts    []smtptest.Option
		query   string
		trust   bool // give the client the server's CA
		wantErr bool
		wantTLS bool
	}{
		{name: "opportunistic, no STARTTLS offered", query: "", wantTLS: false},
		{name: "opportunistic, STARTTLS offered", opts: []smtptest.Option{smtptest.WithTLS()}, trust: true, wantTLS: true},
		{name: "opportunistic, untrusted certificate", opts: []smtptest.Option{smtptest.WithTLS()}, wantErr: true},
		{name: "required, STARTTLS offered", opts: []smtptest.Option{smtptest.WithTLS()}, query: "?starttls=required", trust: true, wantTLS: true},
		{name: "required, no STARTTLS offered", query: "?starttls=required", wantErr: true},
		{name: "off, STARTTLS offered", opts: []smtptest.Option{smtptest.WithTLS()}, query: "?starttls=off", trust: true, wantTLS: false},
		{name: "smtps", opts: []smtptest.Option{smtptest.WithImplicitTLS()}, trust: true, wantTLS: true},
		{name: "smtps, untrusted certificate", opts: []smtptest.Option{smtptest.WithImplicitTLS()}, wantErr: true},
		{name: "auth over STARTTLS", opts: []smtptest.Option{smtptest.WithTLS(), smtptest.WithAuth("u", "pw")},
			query: "?starttls=required", trust: true, wantTLS: true},
		{name: "auth over smtps", opts: []smtptest.Option{smtptest.WithImplicitTLS(), smtptest.WithAuth("u", "pw")},
			trust: true, wantTLS: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := smtptest.Start(t, tt.opts...)
			s := newSender(t, srv.URL()+tt.query, func(c *smtpmail.Config) {
				if tt.trust {
					c.TLSConfig = srv.ClientTLSConfig()
				}
			})
			err := s.Send(t.Context(), testMail("tls"))
			if tt.wantErr {
				if err == nil {
					t.Fatal("Send: nil error")
				}
				if smtpmail.Permanent(err) {
					t.Errorf("TLS failure is Permanent: %v", err)
				}
				if n := len(srv.Messages()); n != 0 {
					t.Errorf("server recorded %d messages, want 0", n)
				}
				return
			}
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			got := srv.WaitMessages(t, 1, waitTimeout)[0]
			if got.TLS != tt.wantTLS {
				t.Errorf("session TLS = %v, want %v", got.TLS, tt.wantTLS)
			}
		})
	}
}

// A password must not cross an unencrypted connection to a host that is
// not this machine, unless starttls=off says so. The test server listens
// on 127.0.0.1, so the URL names it by an alias that is not a loopback
// address: 0.0.0.0, which Linux and the BSDs connect to this machine.
func TestSendNoClearTextPasswordToRemoteHost(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.WithAuth("u", "pw"))
	_, port, err := net.SplitHostPort(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	remote := "smtp://u:pw@" + net.JoinHostPort("0.0.0.0", port)
	err = newSender(t, remote).Send(t.Context(), testMail("clear:1"))
	if err == nil {
		t.Fatal("Send with AUTH over an unencrypted connection to a remote host: nil error")
	}
	if !strings.Contains(err.Error(), "unencrypted connection") {
		t.Errorf("Send = %v, want go-mail's refusal to send the password in clear", err)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("server recorded %d messages, want 0", n)
	}
	if err := newSender(t, remote+"?starttls=off").Send(t.Context(), testMail("clear:2")); err != nil {
		t.Fatalf("Send with starttls=off: %v", err)
	}
	if got := srv.WaitMessages(t, 1, waitTimeout)[0]; got.User != "u" {
		t.Errorf("session user = %q, want u", got.User)
	}
}
