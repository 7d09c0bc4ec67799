package engine_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/flashstock/flashstock/engine"
)

// fieldErrors asserts that err is a *ValidationError matching ErrInvalid and
// returns its fields.
func fieldErrors(t testing.TB, err error) []engine.FieldError {
	t.Helper()
	if !errors.Is(err, engine.ErrInvalid) {
		t.Fatalf("error %v does not match ErrInvalid", err)
	}
	var ve *engine.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v (%T) is not a *ValidationError", err, err)
	}
	return ve.Fields
}

// fieldNames returns the Field of each error, in order.
// checkInvalidFields fails the test unless err names exactly the fields
// want, in order (want nil: err must be nil).
func checkInvalidFields(t testing.TB, name string, err error, want []string) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
		return
	}
	if got := fieldNames(fieldErrors(t, err)); !slices.Equal(got, want) {
		t.Errorf("%s: invalid fields %v, want %v", name, got, want)
	}
}

func fieldNames(fs []engine.FieldError) []string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.Field
	}
	return names
}

func TestValidationError(t *testing.T) {
	err := &engine.ValidationError{Fields: []engine.FieldError{
		{Field: "sku", Message: "is required"},
		{Field: "price", Message: "must not be negative"},
	}}
	if got, want := err.Error(), "invalid input: sku: is required; price: must not be negative"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	wrapped := fmt.Errorf("create product: %w", err)
	if !errors.Is(wrapped, engine.ErrInvalid) {
		t.Error("wrapped ValidationError does not match ErrInvalid")
	}
	var ve *engine.ValidationError
	if !errors.As(wrapped, &ve) || ve != err {
		t.Error("errors.As does not recover the ValidationError")
	}
	for _, other := range []error{engine.ErrNotFound, engine.ErrConflict, engine.ErrInsufficientStock,
		engine.ErrUnauthorized, engine.ErrForbidden, engine.ErrOverloaded, engine.ErrUnavailable} {
		if errors.Is(wrapped, other) {
			t.Errorf("ValidationError matches %v", other)
		}
	}

	single := engine.Invalid("limit", "must be between 1 and 100")
	if fs := fieldErrors(t, single); len(fs) != 1 || fs[0] != (engine.FieldError{Field: "limit", Message: "must be between 1 and 100"}) {
		t.Errorf("Invalid() fields = %v", fs)
	}
	if single.Error() != "invalid input: limit: must be between 1 and 100" {
		t.Errorf("Invalid().Error() = %q", single.Error())
	}
}

func TestRegistrationValid(t *testing.T) {
	for name, r := range map[string]engine.Registration{
		"minimal":              {Username: "alice", Password: "s3cret-pw"},
		"with e-mail":          {Username: "alice", Email: "alice@example.com", Password: "s3cret-pw"},
		"admin":                {Username: "root", Email: "root@example.org", Password: "correct horse", IsAdmin: true},
		"every username char":  {Username: "aZ09@.+-_", Password: "s3cret-pw"},
		"150-byte username":    {Username: strings.Repeat("u", 150), Password: "s3cret-pw"},
		"1-byte username":      {Username: "u", Password: "s3cret-pw"},
		"username is an email": {Username: "bob@example.com", Password: "s3cret-pw"},
		"8-byte password":      {Username: "alice", Password: "abcdefgh"},
		"72-byte password":     {Username: "alice", Password: strings.Repeat("p", 72)},
		"multibyte password":   {Username: "alice", Password: strings.Repeat("é", 36)}, // 72 bytes
		"digits and a letter":  {Username: "alice", Password: "1234567a"},
		"plus address":         {Username: "alice", Email: "alice+shop@mail.example.com", Password: "s3cret-pw"},
		"254-byte e-mail":      {Username: "alice", Email: strings.Repeat("a", 64) + "@" + strings.Repeat("b", 185) + ".com", Password: "s3cret-pw"},
	} {
		if err := r.Validate(); err != nil {
			t.Errorf("%s: Validate() = %v, want nil", name, err)
		}
	}
}

func TestRegistrationRules(t *testing.T) {
	const pw = "s3cret-pw"
	longEmail := strings.Repeat("a", 64) + "@" + strings.Repeat("b", 186) + ".com" // 255 bytes
	tests := []struct {
		name  string
		reg   engine.Registration
		field string
		msg   string
	}{
		{"empty username", engine.Registration{Password: pw}, "username", "must be 1 to 150 characters"},
		{"151-byte username", engine.Registration{Username: strings.Repeat("u", 151), Password: pw}, "username", "must be 1 to 150 characters"},
		{"space in username", engine.Registration{Username: "al ice", Password: pw}, "username", "may contain only letters, digits and @.+-_"},
		{"slash in username", engine.Registration{Username: "al/ice", Password: pw}, "username", "may contain only letters, digits and @.+-_"},
		{"non-ASCII username", engine.Registration{Username: "jürgen", Password: pw}, "username", "may contain only letters, digits and @.+-_"},
		{"NUL in username", engine.Registration{Username: "al\x00ice", Password: pw}, "username", "may contain only letters, digits and @.+-_"},
		{"e-mail without @", engine.Registration{Username: "a", Email: "alice.example.com", Password: pw}, "email", "must be a valid e-mail address"},
		{"e-mail without local part", engine.Registration{Username: "a", Email: "@example.com", Password: pw}, "email", "must be a valid e-mail address"},
		{"e-mail without domain", engine.Registration{Username: "a", Email: "alice@", Password: pw}, "email", "must be a valid e-mail address"},
		{"e-mail with display name", engine.Registration{Username: "a", Email: "Alice <alice@example.com>", Password: pw}, "email", "must be a valid e-mail address"},
		{"e-mail in angle brackets", engine.Registration{Username: "a", Email: "<alice@example.com>", Password: pw}, "email", "must be a valid e-mail address"},
		{"e-mail with trailing space", engine.Registration{Username: "a", Email: "alice@example.com ", Password: pw}, "email", "must be a valid e-mail address"},
		{"e-mail with comment", engine.Registration{Username: "a", Email: "alice@example.com (home)", Password: pw}, "email", "must be a valid e-mail address"},
		{"two e-mails", engine.Registration{Username: "a", Email: "a@example.com, b@example.com", Password: pw}, "email", "must be a valid e-mail address"},
		{"255-byte e-mail", engine.Registration{Username: "a", Email: longEmail, Password: pw}, "email", "must be a valid e-mail address"},
		{"empty password", engine.Registration{Username: "alice"}, "password", "must be at least 8 bytes"},
		{"7-byte password", engine.Registration{Username: "alice", Password: "abcdefg"}, "password", "must be at least 8 bytes"},
		{"3 two-byte runes", engine.Registration{Username: "alice", Password: "ééé"}, "password", "must be at least 8 bytes"},
		{"73-byte password", engine.Registration{Username: "alice", Password: strings.Repeat("p", 73)}, "password", "must be at most 72 bytes"},
		{"37 two-byte runes", engine.Registration{Username: "alice", Password: strings.Repeat("é", 37)}, "password", "must be at most 72 bytes"},
		{"invalid UTF-8 password", engine.Registration{Username: "alice", Password: "abc\xffdefgh"}, "password", "must be valid UTF-8"},
		{"password equals username", engine.Registration{Username: "alice-1234", Password: "alice-1234"}, "password", "must differ from the username"},
		{"numeric password", engine.Registration{Username: "alice", Password: "12345678"}, "password", "must not be entirely numeric"},
		{"long numeric password", engine.Registration{Username: "alice", Password: strings.Repeat("9", 72)}, "password", "must not be entirely numeric"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := fieldErrors(t, tt.reg.Validate())
			want := []engine.FieldError{{Field: tt.field, Message: tt.msg}}
			if !slices.Equal(fs, want) {
				t.Errorf("fields = %v, want %v", fs, want)
			}
		})
	}
}

func TestRegistrationReportsEveryError(t *testing.T) {
	r := engine.Registration{Username: "no spaces", Email: "nope", Password: "short"}
	fs := fieldErrors(t, r.Validate())
	want := []engine.FieldError{
		{Field: "username", Message: "may contain only letters, digits and @.+-_"},
		{Field: "email", Message: "must be a valid e-mail address"},
		{Field: "password", Message: "must be at least 8 bytes"},
	}
	if !slices.Equal(fs, want) {
		t.Errorf("fields = %v, want %v", fs, want)
	}

	r = engine.Registration{Username: "", Email: "x@example.com", Password: "12345678"}
	if got := fieldNames(fieldErrors(t, r.Validate())); !slices.Equal(got, []string{"username", "password"}) {
		t.Errorf("fields = %v, want username and password", got)
	}
}
