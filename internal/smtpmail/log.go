package smtpmail

import (
	"context"
	"fmt"

	"github.com/rs/zerolog"

	"github.com/flashstock/flashstock/engine"
)

// LogSender stands in for Sender in development, when no SMTP URL is
// configured: it logs each mail instead of sending it. It is safe for
// concurrent use.
type LogSender struct {
	log zerolog.Logger
}

// NewLogSender returns a LogSender that logs to log.
func NewLogSender(log zerolog.Logger) *LogSender {
	return &LogSender{log: log}
}

// Send logs m (kind, key, recipients, subject and text) at info level and
// returns nil; an invalid m fails with engine.ErrInvalid, as with Sender.
func (s *LogSender) Send(_ context.Context, m engine.Mail) error {
	if err := m.Validate(); err != nil {
		return fmt.Errorf("smtpmail: mail %s: %w", m.Key, err)
	}
	s.log.Info().Str("kind", string(m.Kind)).Str("key", m.Key).Strs("to", m.To).
		Str("subject", m.Subject).Str("text", m.Text).Msg("mail not sent, written to the log (no SMTP server configured)")
	return nil
}

// LogsInsteadOfSending reports that Send only logs: its line is the one
// line about each mail (the mailer adds no "mail sent").
func (s *LogSender) LogsInsteadOfSending() bool { return true }
