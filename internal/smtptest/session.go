package smtptest

import (
	"fmt"
	"io"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// backend makes one session per connection, all recording into s.
type backend struct{ s *Server }

func (b backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{s: b.s, conn: c}, nil
}

// session is one SMTP connection. go-smtp calls its methods from the
// connection's goroutine only, so its fields need no lock; what it shares
// goes through the Server's methods.
type session struct {
	s    *Server
	conn *smtp.Conn
	user string // authenticated user, "" before AUTH
	from string
	to   []string
}

var _ smtp.AuthSession = (*session)(nil)

// AuthMechanisms offers PLAIN when the server requires AUTH, nothing
// otherwise (then EHLO advertises no AUTH at all).
func (se *session) AuthMechanisms() []string {
	if se.s.opts.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

// Auth checks PLAIN credentials against WithAuth's.
func (se *session) Auth(mech string) (sasl.Server, error) {
	if se.s.opts.user == "" || mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if (identity != "" && identity != user) || user != se.s.opts.user || pass != se.s.opts.pass {
			return smtp.ErrAuthFailed
		}
		se.user = user
		return nil
	}), nil
}

// errAuthRequired is RFC 4954's reply to MAIL FROM before AUTH (go-smtp's
// ErrAuthRequired says 502).
var errAuthRequired = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0},
	Message: "Authentication required"}

// Mail starts a transaction; with WithAuth it needs a prior AUTH.
func (se *session) Mail(from string, _ *smtp.MailOptions) error {
	if se.s.opts.user != "" && se.user == "" {
		return errAuthRequired
	}
	se.from, se.to = from, nil
	return nil
}

// Rcpt adds a recipient.
func (se *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	se.to = append(se.to, to)
	return nil
}

// Data reads the whole message, then either fails it as FailNext asked or
// records it.
func (se *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("smtptest: read data: %w", err)
	}
	if code := se.s.takeFailure(); code != 0 {
		return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{code / 100, 0, 0},
			Message: "smtptest: injected failure"}
	}
	_, isTLS := se.conn.TLSConnectionState()
	se.s.record(newMessage(se.from, se.to, data, se.user, isTLS))
	return nil
}

// Reset ends the transaction.
func (se *session) Reset() { se.from, se.to = "", nil }

// Logout frees nothing: a session holds no resources.
func (se *session) Logout() error { return nil }
