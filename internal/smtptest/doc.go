// Package smtptest runs an SMTP server inside the test process, so that the
// SMTP adapter (internal/smtpmail) is tested against a real protocol
// conversation rather than a fake: Start listens on 127.0.0.1, records
// every message it accepts (envelope, raw data, parsed header and body),
// and lets a test take the server down and up again (Stop, Restart),
// require AUTH PLAIN (WithAuth), offer STARTTLS or implicit TLS with a
// throwaway certificate (WithTLS, WithImplicitTLS), and make the next DATA
// commands fail with a chosen reply code (FailNext).
//
// Only test code imports smtptest. It imports the standard library,
// github.com/emersion/go-smtp and github.com/emersion/go-sasl; it must not
// import any flashstock package, so that any adapter can be tested with it.
package smtptest
