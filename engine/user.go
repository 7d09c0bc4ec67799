package engine

import (
	"net/mail"
	"time"
)

// Limits on account fields.
const (
	UsernameBytesMax = 150
	PasswordBytesMin = 8
	PasswordBytesMax = 72 // bcrypt ignores bytes past 72: refuse rather than truncate.
	EmailBytesMax    = 254
)

// User is an account. PasswordHash is opaque to the domain (bcrypt today).
type User struct {
	ID           ID
	Username     string
	Email        string
	IsAdmin      bool
	PasswordHash []byte
	CreatedAt    time.Time
}

// Registration is the input for creating an account, before hashing.
type Registration struct {
	Username string
	Email    string
	Password string
	IsAdmin  bool
}

// Validate checks username, e-mail and password rules together and reports
// every broken one.
func (r Registration) Validate() error {
	var v validator
	if err := CheckUsername(r.Username); err != "" {
		v.add("username", err)
	}
	if r.Email != "" && !validEmail(r.Email) {
		v.add("email", "must be a valid e-mail address")
	}
	if err := validPassword(r.Username, r.Password); err != "" {
		v.add("password", err)
	}
	return v.err()
}

// CheckUsername returns what is wrong with s as a username, or "" if it is
// one: 1–150 bytes of ASCII letters, digits and @.+-_ (Django's rule). No
// account has a username that fails it, so a login naming one is an
// unknown user without asking the store.
func CheckUsername(s string) string {
	if len(s) == 0 || len(s) > UsernameBytesMax {
		return "must be 1 to 150 characters"
	}
	for _, c := range []byte(s) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '@' || c == '.' || c == '+' || c == '-' || c == '_'
		if !ok {
			return "may contain only letters, digits and @.+-_"
		}
	}
	return ""
}

// validPassword: 8–72 bytes of text (any characters but NUL), neither the
// username nor all digits. The password is never stored, only its hash;
// NUL is refused all the same, as bcrypt implementations in other languages
// stop at it.
func validPassword(username, pw string) string {
	text := CheckText(pw, PasswordBytesMax)
	switch {
	case len(pw) < PasswordBytesMin:
		return "must be at least 8 bytes"
	case len(pw) > PasswordBytesMax:
		return "must be at most 72 bytes"
	case text != "":
		return text
	case pw == username:
		return "must differ from the username"
	case allDigits(pw):
		return "must not be entirely numeric"
	}
	return ""
}

func allDigits(s string) bool {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// validEmail: one address, as net/mail parses it, of at most 254 bytes of
// one-line text.
func validEmail(s string) bool {
	if CheckLine(s, EmailBytesMax) != "" {
		return false
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && a.Name == ""
}
