package smtpmail_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"mime"
	"net/mail"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flashstock/flashstock/engine"
	"github.com/flashstock/flashstock/internal/smtpmail"
	"github.com/flashstock/flashstock/internal/smtptest"
)

func TestSendContentAndHeaders(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	s := newSender(t, srv.URL())
	m := engine.Mail{
		Kind:    engine.MailOrderConfirmed,
		Key:     "order_confirmed:0190f3a2-7c1e-7cc0-9b1e-3f0d2a6b8c11",
		To:      []string{"buyer@example.org", "Second Buyer <second@example.net>"},
		Subject: "Commande FS-42 confirmée — merci 🎉 (übergroß)",
		Text: "Thank you: your payment was received.\n\nOrder FS-42\n\n" +
			"  2 × Café crème at 3.50 EUR = 7.00 EUR\n" +
			"  a line long enough to be wrapped by quoted-printable soft line breaks, which must not show in the text\n" +
			"=?not-a-word?= and a trailing dot line\n.\n\nTotal: 7.00 EUR\n",
	}
	before := time.Now().Add(-time.Second).Truncate(time.Second)
	if err := s.Send(t.Context(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	msgs := srv.WaitMessages(t, 1, waitTimeout)
	got := msgs[0]
	if got.ParseErr != nil {
		t.Fatalf("server could not parse the message: %v\n%s", got.ParseErr, got.Data)
	}

	// Envelope.
	if got.From != "noreply@shop.example" {
		t.Errorf("MAIL FROM = %q, want noreply@shop.example", got.From)
	}
	if want := []string{"buyer@example.org", "second@example.net"}; !slices.Equal(got.To, want) {
		t.Errorf("RCPT TO = %q, want %q", got.To, want)
	}

	// Headers.
	from, err := got.Header.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Name != "flashstock" || from[0].Address != "noreply@shop.example" {
		t.Errorf("From = %q (%v), want flashstock <noreply@shop.example>", got.Header.Get("From"), err)
	}
	to, err := got.Header.AddressList("To")
	if err != nil || len(to) != 2 || to[0].Address != "buyer@example.org" ||
		to[1].Address != "second@example.net" || to[1].Name != "Second Buyer" {
		t.Errorf("To = %q (%v)", got.Header.Get("To"), err)
	}
	if raw := got.Header.Get("Subject"); !isASCII(raw) {
		t.Errorf("Subject header is not 7-bit encoded: %q", raw)
	}
	if got.Subject() != m.Subject {
		t.Errorf("Subject = %q, want %q", got.Subject(), m.Subject)
	}
	date, err := got.Header.Date()
	if err != nil || date.Before(before) || date.After(time.Now().Add(time.Second)) {
		t.Errorf("Date = %q (%v), want about now", got.Header.Get("Date"), err)
	}
	sum := sha256.Sum256([]byte(m.Key))
	wantID := "<" + hex.EncodeToString(sum[:])[:32] + "@shop.example>"
	if id := got.Header.Get("Message-ID"); id != wantID {
		t.Errorf("Message-ID = %q, want %q", id, wantID)
	}
	if smtpmail.MessageID(m.Key, "shop.example") != wantID {
		t.Errorf("MessageID = %q, want %q", smtpmail.MessageID(m.Key, "shop.example"), wantID)
	}
	if k := got.Header.Get(smtpmail.HeaderMailKey); k != m.Key {
		t.Errorf("%s = %q, want %q", smtpmail.HeaderMailKey, k, m.Key)
	}
	if k := got.Header.Get(smtpmail.HeaderMailKind); k != string(m.Kind) {
		t.Errorf("%s = %q, want %q", smtpmail.HeaderMailKind, k, m.Kind)
	}
	if ct := got.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") || !strings.Contains(strings.ToLower(ct), "charset=utf-8") {
		t.Errorf("Content-Type = %q, want text/plain; charset=UTF-8", ct)
	}
	for _, h := range []string{"User-Agent", "X-Mailer"} {
		if v := got.Header.Get(h); v != "" {
			t.Errorf("%s = %q, want none", h, v)
		}
	}

	// Body.
	text, err := got.Text()
	if err != nil {
		t.Fatalf("Text: %v", err)
	}
	if text != m.Text {
		t.Errorf("body text =\n%q\nwant\n%q", text, m.Text)
	}
}

func TestSendSameKeySameMessageID(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	s := newSender(t, srv.URL())
	m := testMail("low_stock:p1:1700000000")
	for range 2 {
		if err := s.Send(t.Context(), m); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	other := testMail("low_stock:p1:1700000001")
	if err := s.Send(t.Context(), other); err != nil {
		t.Fatalf("Send: %v", err)
	}
	msgs := srv.WaitMessages(t, 3, waitTimeout)
	id := func(i int) string { return msgs[i].Header.Get("Message-ID") }
	if id(0) == "" || id(0) != id(1) {
		t.Errorf("Message-IDs of the same key: %q, %q; want equal", id(0), id(1))
	}
	if id(2) == id(0) {
		t.Errorf("Message-ID of another key = %q, same as the first", id(2))
	}
	if _, err := mail.ParseAddress(strings.Trim(id(0), "<>")); err != nil {
		t.Errorf("Message-ID %q is not an addr-spec in brackets: %v", id(0), err)
	}
}

func TestSendAuth(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.WithAuth("shop", "p@ss:w/rd"))
	if !strings.Contains(srv.URL(), "shop:") {
		t.Fatalf("URL %q has no credentials", srv.URL())
	}
	if err := newSender(t, srv.URL()).Send(t.Context(), testMail("auth:1")); err != nil {
		t.Fatalf("Send with the right password: %v", err)
	}
	msgs := srv.WaitMessages(t, 1, waitTimeout)
	if msgs[0].User != "shop" {
		t.Errorf("session user = %q, want shop", msgs[0].User)
	}

	wrong := strings.Replace(srv.URL(), "shop:", "shop:x", 1)
	err := newSender(t, wrong).Send(t.Context(), testMail("auth:2"))
	if err == nil {
		t.Fatal("Send with a wrong password: nil error")
	}
	if smtpmail.Permanent(err) {
		t.Errorf("wrong password is Permanent (%v); it is a configuration problem, not the mail's", err)
	}
	if strings.Contains(err.Error(), "p@ss") || strings.Contains(err.Error(), "w/rd") {
		t.Errorf("error leaks the password: %v", err)
	}

	noCreds := "smtp://" + srv.Addr()
	if err := newSender(t, noCreds).Send(t.Context(), testMail("auth:3")); err == nil {
		t.Error("Send without credentials to a server requiring AUTH: nil error")
	}
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("server accepted %d messages, want 1", n)
	}
}

func TestSendInvalidMail(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	s := newSender(t, srv.URL())
	for name, m := range map[string]engine.Mail{
		"no recipient":     {Kind: engine.MailLowStock, Key: "k", Subject: "s"},
		"two-line subject": {Kind: engine.MailLowStock, Key: "k", To: []string{"a@b.c"}, Subject: "s\r\nBcc: x@y.z"},
		"unparsable rcpt":  {Kind: engine.MailLowStock, Key: "k", To: []string{"a b@@c"}, Subject: "s"},
		"header injection": {Kind: engine.MailLowStock, Key: "k", To: []string{"a@b.c>\r\nBcc: <x@y.z"}, Subject: "s"},
	} {
		err := s.Send(t.Context(), m)
		if err == nil || !errors.Is(err, engine.ErrInvalid) || !smtpmail.Permanent(err) {
			t.Errorf("%s: Send = %v, want a Permanent engine.ErrInvalid", name, err)
		}
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("server accepted %d messages, want 0", n)
	}
}

func TestSendKeyIsNotAHeaderInjection(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	m := testMail("k\r\nBcc: victim@example.com")
	if err := newSender(t, srv.URL()).Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := srv.WaitMessages(t, 1, waitTimeout)[0]
	if got.Header.Get("Bcc") != "" || len(got.To) != 1 {
		t.Fatalf("key injected a header: Bcc %q, RCPT TO %q", got.Header.Get("Bcc"), got.To)
	}
	if k, err := new(mime.WordDecoder).DecodeHeader(got.Header.Get(smtpmail.HeaderMailKey)); err != nil || k != m.Key {
		t.Errorf("%s = %q (%v), want %q", smtpmail.HeaderMailKey, k, err, m.Key)
	}
}

func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
