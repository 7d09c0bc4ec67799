package smtpmail_test

import (
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/flashstock/flashstock/internal/smtpmail"
)

const secret = "s3cr3t-pw"

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     smtpmail.Config
		wantErr string // substring; "" means valid
	}{
		{"plain", smtpmail.Config{URL: "smtp://mail.example.com", From: "a@example.com"}, ""},
		{"port and auth", smtpmail.Config{URL: "smtp://u:" + secret + "@mail.example.com:587?starttls=required", From: testFrom}, ""},
		{"starttls off", smtpmail.Config{URL: "smtp://127.0.0.1:2525?starttls=off", From: "a@example.com"}, ""},
		{"starttls opportunistic", smtpmail.Config{URL: "smtp://h?starttls=opportunistic", From: "a@example.com"}, ""},
		{"smtps", smtpmail.Config{URL: "smtps://u:" + secret + "@mail.example.com", From: "a@example.com"}, ""},
		{"ipv6", smtpmail.Config{URL: "smtp://[::1]:25", From: "a@example.com"}, ""},
		{"uppercase scheme", smtpmail.Config{URL: "SMTP://h", From: "a@example.com"}, ""},
		{"tls config", smtpmail.Config{URL: "smtp://h", From: "a@example.com", TLSConfig: &tls.Config{}}, ""},
		{"helo", smtpmail.Config{URL: "smtp://h", From: "a@example.com", HeloName: "app.example.com"}, ""},

		{"no url", smtpmail.Config{From: "a@example.com"}, "url: is required"},
		{"bad scheme", smtpmail.Config{URL: "http://u:" + secret + "@h", From: "a@example.com"}, `unknown scheme "http"`},
		{"no scheme", smtpmail.Config{URL: "mail.example.com:25", From: "a@example.com"}, "unknown scheme"},
		{"no host", smtpmail.Config{URL: "smtp://u:" + secret + "@:25", From: "a@example.com"}, "needs a host"},
		{"path", smtpmail.Config{URL: "smtp://h/x", From: "a@example.com"}, "no path"},
		{"port 0", smtpmail.Config{URL: "smtp://h:0", From: "a@example.com"}, "port must be"},
		{"port too big", smtpmail.Config{URL: "smtp://u:" + secret + "@h:70000", From: "a@example.com"}, "port must be"},
		{"user without password", smtpmail.Config{URL: "smtp://u@h", From: "a@example.com"}, "both a user and a password"},
		{"password without user", smtpmail.Config{URL: "smtp://:" + secret + "@h", From: "a@example.com"}, "both a user and a password"},
		{"unknown param", smtpmail.Config{URL: "smtp://u:" + secret + "@h?tls=yes", From: "a@example.com"}, `unknown query parameter "tls"`},
		{"param holding a secret", smtpmail.Config{URL: "smtp://h?password=" + secret, From: "a@example.com"}, `unknown query parameter "password"`},
		{"bad starttls", smtpmail.Config{URL: "smtp://h?starttls=maybe", From: "a@example.com"}, `"maybe" is not`},
		{"starttls twice", smtpmail.Config{URL: "smtp://h?starttls=off&starttls=off", From: "a@example.com"}, "once"},
		{"starttls with smtps", smtpmail.Config{URL: "smtps://h?starttls=off", From: "a@example.com"}, "does not apply to smtps"},
		{"unparsable with password", smtpmail.Config{URL: "smtp://u:" + secret + "/x@h:bad", From: "a@example.com"}, "malformed"},
		{"unparsable without password", smtpmail.Config{URL: "smtp://h:bad", From: "a@example.com"}, "url:"},
		{"no from", smtpmail.Config{URL: "smtp://h"}, "from: is required"},
		{"bad from", smtpmail.Config{URL: "smtp://h", From: "flashstock noreply"}, "not an RFC 5322 address"},
		{"from without domain", smtpmail.Config{URL: "smtp://h", From: "noreply"}, "from:"},
		{"negative timeout", smtpmail.Config{URL: "smtp://h", From: "a@example.com", Timeout: -time.Second}, "timeout"},
		{"huge timeout", smtpmail.Config{URL: "smtp://h", From: "a@example.com", Timeout: time.Hour}, "timeout"},
		{"bad helo", smtpmail.Config{URL: "smtp://h", From: "a@example.com", HeloName: "a b"}, "helo name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.cfg.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				if _, err := smtpmail.New(tt.cfg); err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate: nil, want an error containing %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Validate: %v, want it to contain %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("Validate leaks the password: %v", err)
			}
			if _, nerr := smtpmail.New(tt.cfg); nerr == nil {
				t.Errorf("New accepted a config Validate refuses")
			}
		})
	}
}

func TestConfigValidateReportsEveryField(t *testing.T) {
	t.Parallel()
	err := smtpmail.Config{URL: "ftp://h", From: "nobody", Timeout: -1}.Validate()
	if err == nil {
		t.Fatal("Validate: nil")
	}
	for _, want := range []string{"url", "from", "timeout"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate: %v, want it to mention %s", err, want)
		}
	}
}

func TestConfigRedactedURL(t *testing.T) {
	t.Parallel()
	for raw, want := range map[string]string{
		"smtp://u:" + secret + "@h:587?starttls=required": "smtp://u:xxxxx@h:587?starttls=required",
		"smtp://h":                        "smtp://h",
		"smtp://u:" + secret + "/x@h:bad": "(malformed URL with user information)",
	} {
		got := smtpmail.Config{URL: raw}.RedactedURL()
		if got != want {
			t.Errorf("RedactedURL(%q) = %q, want %q", raw, got, want)
		}
	}
}
