package smtptest

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
)

// Message is one message the server accepted. Its slices and header are
// shared with the server's record: read them, do not modify them.
type Message struct {
	From string   // envelope sender (MAIL FROM)
	To   []string // envelope recipients (RCPT TO), in order
	Data []byte   // the DATA as received, CRLF line ends, dot-unstuffed
	// Header and Body are Data parsed by net/mail; Body is still
	// transfer-encoded (see Text). ParseErr is set, and Header and Body
	// are nil, when Data is not an RFC 5322 message.
	Header   mail.Header
	Body     []byte
	ParseErr error
	User     string // the AUTH PLAIN user of the session; "" without AUTH
	TLS      bool   // whether the session was encrypted (STARTTLS or implicit TLS)
}

// newMessage records data received from envelope sender from for
// recipients to, and parses it.
func newMessage(from string, to []string, data []byte, user string, tls bool) Message {
	m := Message{From: from, To: to, Data: data, User: user, TLS: tls}
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		m.ParseErr = err
		return m
	}
	body, err := io.ReadAll(msg.Body)
	if err != nil {
		m.ParseErr = err
		return m
	}
	m.Header, m.Body = msg.Header, body
	return m
}

// Subject returns the Subject header with RFC 2047 encoded words decoded;
// it returns the raw header if decoding fails.
func (m Message) Subject() string {
	raw := m.Header.Get("Subject")
	dec, err := new(mime.WordDecoder).DecodeHeader(raw)
	if err != nil {
		return raw
	}
	return dec
}

// Text returns the body of a single-part message, its
// Content-Transfer-Encoding (7bit, 8bit, quoted-printable or base64)
// undone and CRLF line ends turned into LF. The charset is assumed to be
// UTF-8 or ASCII; multipart bodies are an error.
func (m Message) Text() (string, error) {
	if m.ParseErr != nil {
		return "", m.ParseErr
	}
	if ct := m.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil {
			return "", fmt.Errorf("smtptest: content type %q: %w", ct, err)
		}
		if strings.HasPrefix(mt, "multipart/") {
			return "", fmt.Errorf("smtptest: body is %s, not a single part", mt)
		}
	}
	var r io.Reader = bytes.NewReader(m.Body)
	switch cte := strings.ToLower(strings.TrimSpace(m.Header.Get("Content-Transfer-Encoding"))); cte {
	case "", "7bit", "8bit":
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, r) // line breaks are skipped
	default:
		return "", fmt.Errorf("smtptest: unknown content transfer encoding %q", cte)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return "", fmt.Errorf("smtptest: decode body: %w", err)
	}
	return strings.ReplaceAll(string(b), "\r\n", "\n"), nil
}
