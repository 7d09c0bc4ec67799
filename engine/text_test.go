package engine_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/flashstock/flashstock/engine"
)

func TestCheckTextAndLine(t *testing.T) {
	for _, tt := range []struct {
		name       string
		s          string
		max        int
		text, line string // want; "" = accepted
	}{
		{"empty", "", 10, "", ""},
		{"ASCII", "Red T-shirt", 20, "", ""},
		{"non-ASCII", "Grüße, 東京 🎉", 30, "", ""},
		{"at the limit", "abcd", 4, "", ""},
		{"over the limit", "abcde", 4, "must be at most 4 bytes", "must be at most 4 bytes"},
		{"multi-byte over the limit", "éé", 3, "must be at most 3 bytes", "must be at most 3 bytes"},
		{"NUL", "a\x00b", 10, "must not contain NUL characters", "must not contain NUL characters"},
		{"only NUL", "\x00", 10, "must not contain NUL characters", "must not contain NUL characters"},
		{"invalid byte", "a\xffb", 10, "must be valid UTF-8", "must be valid UTF-8"},
		{"truncated rune", "caf\xc3", 10, "must be valid UTF-8", "must be valid UTF-8"},
		{"surrogate half", "\xed\xa0\x80", 10, "must be valid UTF-8", "must be valid UTF-8"},
		{"overlong NUL", "\xc0\x80", 10, "must be valid UTF-8", "must be valid UTF-8"},
		{"tab", "a\tb", 10, "", "must not contain control characters"},
		{"newline", "a\nb", 10, "", "must not contain control characters"},
		{"carriage return", "a\rb", 10, "", "must not contain control characters"},
		{"bell", "a\x07b", 10, "", "must not contain control characters"},
		{"escape", "\x1b[31mred", 20, "", "must not contain control characters"},
		{"DEL", "a\x7fb", 10, "", "must not contain control characters"},
		{"C1 (NEL)", "a\u0085b", 10, "", "must not contain control characters"},
		{"first after C1", "a\u00a0b", 10, "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := engine.CheckText(tt.s, tt.max); got != tt.text {
				t.Errorf("CheckText(%q, %d) = %q, want %q", tt.s, tt.max, got, tt.text)
			}
			if got := engine.CheckLine(tt.s, tt.max); got != tt.line {
				t.Errorf("CheckLine(%q, %d) = %q, want %q", tt.s, tt.max, got, tt.line)
			}
		})
	}
}

// Text PostgreSQL cannot store is refused by the domain rules of every
// client-chosen string that is not already limited to ASCII.
func TestProductNameRefusesUnstorableText(t *testing.T) {
	for _, tt := range []struct{ name, msg string }{
		{"Red\x00T-shirt", "must not contain NUL characters"},
		{"Red\xffT-shirt", "must be valid UTF-8"},
		{"Red\tT-shirt", "must not contain control characters"},
		{"Red T-shirt\n", "must not contain control characters"},
		{"\x1b[2J", "must not contain control characters"},
		{"", "must be 1 to 255 characters"},
		{strings.Repeat("\x00", 256), "must be 1 to 255 characters"},
	} {
		want := []engine.FieldError{{Field: "name", Message: tt.msg}}
		d := validDraft()
		d.Name = tt.name
		_, err := engine.NewProduct(d, productID, created)
		if fs := fieldErrors(t, err); !slices.Equal(fs, want) {
			t.Errorf("NewProduct(name %q): fields = %v, want %v", tt.name, fs, want)
		}
		_, err = validProduct(t).Apply(engine.ProductPatch{Name: ptr(tt.name)}, later)
		if fs := fieldErrors(t, err); !slices.Equal(fs, want) {
			t.Errorf("Apply(name %q): fields = %v, want %v", tt.name, fs, want)
		}
	}
}

// A name stored before control characters were refused still loads and
// may be patched in other fields; NUL never could be stored, so Validate
// refuses it.
func TestProductOldNameWithControlCharacterStillLoads(t *testing.T) {
	p := validProduct(t)
	p.Name = "Old\tname"
	if err := p.Validate(); err != nil {
		t.Fatalf("Validate(stored name with a tab) = %v", err)
	}
	if _, err := p.Apply(engine.ProductPatch{Price: ptr(int64(5))}, later); err != nil {
		t.Fatalf("Apply(price) to a product with an old name = %v", err)
	}
	p.Name = "a\x00b"
	if err := p.Validate(); !errors.Is(err, engine.ErrInvalid) {
		t.Fatalf("Validate(name with NUL) = %v, want ErrInvalid", err)
	}
}

func TestRegistrationRefusesUnstorableText(t *testing.T) {
	const pw = "s3cret-pw"
	for _, tt := range []struct {
		name       string
		reg        engine.Registration
		field, msg string
	}{
		{"NUL in password", engine.Registration{Username: "alice", Password: "pass\x00word"}, "password", "must not contain NUL characters"},
		{"NUL in e-mail", engine.Registration{Username: "alice", Email: "al\x00ice@example.com", Password: pw}, "email", "must be a valid e-mail address"},
		{"NUL in quoted e-mail", engine.Registration{Username: "alice", Email: "\"al\x00ice\"@example.com", Password: pw}, "email", "must be a valid e-mail address"},
		{"tab in quoted e-mail", engine.Registration{Username: "alice", Email: "\"al\tice\"@example.com", Password: pw}, "email", "must be a valid e-mail address"},
		{"invalid UTF-8 in e-mail", engine.Registration{Username: "alice", Email: "al\xffice@example.com", Password: pw}, "email", "must be a valid e-mail address"},
		{"invalid UTF-8 in username", engine.Registration{Username: "al\xffice", Password: pw}, "username", "may contain only letters, digits and @.+-_"},
		{"control in username", engine.Registration{Username: "al\x1bice", Password: pw}, "username", "may contain only letters, digits and @.+-_"},
	} {
		want := []engine.FieldError{{Field: tt.field, Message: tt.msg}}
		if fs := fieldErrors(t, tt.reg.Validate()); !slices.Equal(fs, want) {
			t.Errorf("%s: fields = %v, want %v", tt.name, fs, want)
		}
	}
	if engine.CheckUsername("alice.b+c@d-e_f") != "" {
		t.Errorf("CheckUsername refuses a good username")
	}
}

// FuzzCheckText holds the text checks to their contract: accepted text is
// valid UTF-8 without NUL within the limit (what PostgreSQL's text type
// stores), and a line is text without control characters.
func FuzzCheckText(f *testing.F) {
	for _, s := range []string{"", "plain", "a\x00b", "\xff", "tab\there", "é", "\u0085", "\x7f", "\xc0\x80"} {
		f.Add(s, 8)
	}
	f.Fuzz(func(t *testing.T, s string, max int) {
		text, line := engine.CheckText(s, max), engine.CheckLine(s, max)
		storable := utf8.ValidString(s) && !strings.ContainsRune(s, 0) && len(s) <= max
		if (text == "") != storable {
			t.Fatalf("CheckText(%q, %d) = %q; storable = %v", s, max, text, storable)
		}
		control := strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r >= 0x7f && r < 0xa0 }) >= 0
		if (line == "") != (storable && !control) {
			t.Fatalf("CheckLine(%q, %d) = %q; storable = %v, control = %v", s, max, line, storable, control)
		}
		if text != "" && line != text {
			t.Fatalf("CheckLine(%q) = %q, but CheckText refuses it with %q", s, line, text)
		}
	})
}
