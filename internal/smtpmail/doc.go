// Package smtpmail delivers engine.Mail over SMTP: it is the production
// MailSender of the mail outbox. Sender speaks SMTP through
// github.com/wneessen/go-mail, one connection per Send (mails are rare);
// LogSender stands in for it in development, when no SMTP server is
// configured, and only logs the mails.
//
// The server is named by a URL (see Config):
//
//	smtp://[user:pass@]host[:port]                    STARTTLS if offered (port 25)
//	smtp://[user:pass@]host[:port]?starttls=required  STARTTLS or fail
//	smtp://[user:pass@]host[:port]?starttls=off       no TLS at all
//	smtps://[user:pass@]host[:port]                   TLS from the first byte (port 465)
//
// A URL without a port uses the IANA port of its scheme. Certificates are
// always verified (Config.TLSConfig can add a CA): with opportunistic
// STARTTLS, a server that offers STARTTLS with a certificate that does not
// verify fails the Send rather than getting the mail in clear text. A user
// and password in the URL are sent with AUTH PLAIN, and never in clear
// text to a host other than a loopback one unless starttls=off says so.
//
// Each mail carries a Message-ID derived from its key, so that a mail sent
// again after a crash reads as the same mail to the receiver. Send's
// errors tell whether retrying can help: see Permanent.
//
// smtpmail imports engine, go-mail and zerolog (for LogSender); no go-mail
// type crosses its API: errors carry go-mail's message, not its types. It
// must not import persist, httpd or actors; cmd/flashstock wires it in.
package smtpmail
