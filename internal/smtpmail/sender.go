package smtpmail

import (
	"context"
	"crypto/tls"
	"fmt"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/flashstock/flashstock/engine"
)

// Sender delivers mails to one SMTP server. It holds no connection
// between Sends and is safe for concurrent use.
type Sender struct {
	set settings
	tls *tls.Config // client TLS configuration; ServerName set
}

// New returns a Sender for cfg, or cfg's validation error.
func New(cfg Config) (*Sender, error) {
	set, err := cfg.parse()
	if err != nil {
		return nil, err
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if set.tlsBase != nil {
		tc = set.tlsBase.Clone()
	}
	if tc.ServerName == "" {
		tc.ServerName = set.ep.host
	}
	if tc.MinVersion == 0 {
		tc.MinVersion = tls.VersionTLS12
	}
	return &Sender{set: set, tls: tc}, nil
}

// Send delivers m over one new connection, within ctx and Config.Timeout.
// An invalid m fails with engine.ErrInvalid before any connection; other
// failures wrap ErrRejected or engine.ErrUnavailable, see Permanent. Once
// the server accepted the data, Send succeeds even if closing the
// connection fails, so that the mail is not sent twice.
func (s *Sender) Send(ctx context.Context, m engine.Mail) error {
	if err := m.Validate(); err != nil {
		return fmt.Errorf("smtpmail: mail %s: %w", m.Key, err)
	}
	msg, err := s.message(m, time.Now())
	if err != nil {
		return fmt.Errorf("smtpmail: mail %s: %w", m.Key, err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.set.timeout)
	defer cancel()
	d := &dialer{ctx: ctx, addr: s.set.ep.addr()}
	if s.set.ep.mode == implicitTLS {
		d.tls = s.tls
	}
	defer d.close()
	client, err := gomail.NewClient(s.set.ep.host, s.clientOptions(d)...)
	if err != nil {
		return fmt.Errorf("smtpmail: mail %s: client: %w", m.Key, err)
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil && !msg.IsDelivered() {
		return classify(ctx, m.Key, err)
	}
	return nil
}

// clientOptions configures a go-mail client for one Send through d.
func (s *Sender) clientOptions(d *dialer) []gomail.Option {
	ep := s.set.ep
	opts := []gomail.Option{
		gomail.WithPort(ep.port),
		gomail.WithTimeout(s.set.timeout),
		gomail.WithDialContextFunc(d.dial),
		gomail.WithTLSConfig(s.tls),
	}
	switch ep.mode {
	case startTLSOpportunistic:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	case startTLSRequired:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case startTLSOff:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	case implicitTLS:
		// The dialer does the TLS; SSL mode keeps go-mail from STARTTLS.
		opts = append(opts, gomail.WithSSL(), gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if s.set.helo != "" {
		opts = append(opts, gomail.WithHELO(s.set.helo))
	}
	if ep.user != "" {
		opts = append(opts, gomail.WithSMTPAuth(s.authType()),
			gomail.WithUsername(ep.user), gomail.WithPassword(ep.pass))
	}
	return opts
}

// authType picks PLAIN, and allows it over an unencrypted connection only
// to a loopback host or with starttls=off. Otherwise go-mail's PLAIN
// refuses to authenticate unless the connection is encrypted, so that
// opportunistic STARTTLS never sends the password in clear to a server
// that did not offer TLS.
func (s *Sender) authType() gomail.SMTPAuthType {
	if s.set.ep.mode == startTLSOff || s.set.ep.loopback() {
		return gomail.SMTPAuthPlainNoEnc
	}
	return gomail.SMTPAuthPlain
}
