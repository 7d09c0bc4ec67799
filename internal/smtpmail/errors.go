package smtpmail

import (
	"context"
	"errors"
	"fmt"

	gomail "github.com/wneessen/go-mail"

	"github.com/flashstock/flashstock/engine"
)

// ErrRejected means the SMTP server refused this mail for good: a 5xx
// reply to RCPT TO (such as 550 no such user) or to DATA (such as 554
// content rejected). Sending it again cannot succeed.
var ErrRejected = errors.New("rejected by the SMTP server")

// Permanent reports whether retrying the Send that returned err cannot
// help: the mail is invalid (engine.ErrInvalid) or the server rejected it
// (ErrRejected).
//
// Everything else is temporary and wraps engine.ErrUnavailable: the server
// is unreachable or timed out, TLS failed, a 4xx reply (such as 451), the
// context ended, and also 5xx replies before the recipients, to EHLO, AUTH
// (such as 535 wrong password) or MAIL FROM (such as 553 sender not
// allowed). Those concern the configuration, not the mail, so they would
// reject every mail alike; counting them temporary keeps the mails queued
// until the configuration is fixed (the outbox still bounds the attempts).
func Permanent(err error) bool {
	return errors.Is(err, ErrRejected) || errors.Is(err, engine.ErrInvalid)
}

// classify translates a go-mail error for mail key into ErrRejected or
// engine.ErrUnavailable (and the context's error if it ended). Only the
// message of the go-mail error survives: no go-mail type crosses the
// package edge.
func classify(ctx context.Context, key string, err error) error {
	if code, ok := mailRejection(err); ok {
		return fmt.Errorf("smtpmail: mail %s: %w (reply %d): %s", key, ErrRejected, code, err)
	}
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("smtpmail: mail %s: %w: %w: %s", key, engine.ErrUnavailable, cerr, err)
	}
	return fmt.Errorf("smtpmail: mail %s: %w: %s", key, engine.ErrUnavailable, err)
}

// mailRejection returns the reply code of a 5xx reply to RCPT TO or DATA.
func mailRejection(err error) (int, bool) {
	var se *gomail.SendError
	if !errors.As(err, &se) || se.ErrorCode()/100 != 5 {
		return 0, false
	}
	switch se.Reason {
	case gomail.ErrSMTPRcptTo, gomail.ErrSMTPData, gomail.ErrSMTPDataClose:
		return se.ErrorCode(), true
	}
	return 0, false
}
