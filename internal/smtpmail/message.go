package smtpmail

import (
	"crypto/sha256"
	"encoding/hex"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/flashstock/flashstock/engine"
)

// Headers every mail carries besides the standard ones, so that a mail can
// be traced back to its outbox entry.
const (
	HeaderMailKey  = "X-Flashstock-Mail-Key"  // engine.Mail.Key
	HeaderMailKind = "X-Flashstock-Mail-Kind" // engine.Mail.Kind
)

// messageIDHexLen is how many hex digits of the key's SHA-256 make the
// Message-ID's left part (128 bits).
const messageIDHexLen = 32

// MessageID returns the Message-ID of the mail with key, sent from an
// address at domain: "<" + the first 32 hex digits of SHA-256(key) + "@" +
// domain + ">". The same key always gives the same Message-ID, so a mail
// sent twice (after a crash between sending and recording it) reads as one
// mail to the receiver.
func MessageID(key, domain string) string {
	sum := sha256.Sum256([]byte(key))
	return "<" + hex.EncodeToString(sum[:])[:messageIDHexLen] + "@" + domain + ">"
}

// message renders m as a text/plain UTF-8 message dated now.
func (s *Sender) message(m engine.Mail, now time.Time) (*gomail.Msg, error) {
	msg := gomail.NewMsg(gomail.WithCharset(gomail.CharsetUTF8), gomail.WithEncoding(gomail.EncodingQP),
		gomail.WithNoDefaultUserAgent())
	msg.FromMailAddress(s.set.from)
	if err := msg.To(m.To...); err != nil {
		return nil, engine.Invalid("to", "must be e-mail addresses: "+err.Error())
	}
	msg.Subject(m.Subject)
	msg.SetDateWithValue(now)
	id := MessageID(m.Key, s.set.domain)
	msg.SetMessageIDWithValue(id[1 : len(id)-1]) // go-mail adds the brackets
	msg.SetGenHeader(HeaderMailKey, m.Key)
	msg.SetGenHeader(HeaderMailKind, string(m.Kind))
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	return msg, nil
}
