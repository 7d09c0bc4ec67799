package smtpmail_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/rs/zerolog"

	"github.com/flashstock/flashstock/engine"
	"github.com/flashstock/flashstock/internal/smtpmail"
)

func TestLogSender(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	s := smtpmail.NewLogSender(zerolog.New(&buf))
	m := testMail("log:1")
	m.Text = "Line one.\nLine two × 2.\n"
	if err := s.Send(t.Context(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	var got struct {
		Level, Kind, Key, Subject, Text string
		To                              []string
	}
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("log line %q: %v", buf.String(), err)
	}
	if got.Level != "info" || got.Kind != string(m.Kind) || got.Key != m.Key || got.Subject != m.Subject ||
		got.Text != m.Text || len(got.To) != 1 || got.To[0] != m.To[0] {
		t.Errorf("logged %+v, want the mail %+v at info", got, m)
	}

	buf.Reset()
	err := s.Send(t.Context(), engine.Mail{Key: "bad"})
	if !errors.Is(err, engine.ErrInvalid) || !smtpmail.Permanent(err) {
		t.Errorf("Send(invalid) = %v, want a Permanent engine.ErrInvalid", err)
	}
	if buf.Len() != 0 {
		t.Errorf("an invalid mail was logged: %s", buf.String())
	}
}
