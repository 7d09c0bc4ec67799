package engine

import (
	"strconv"
	"unicode/utf8"
)

// Text rules for strings that come from outside and are stored or used in a
// query. PostgreSQL's text type refuses NUL and invalid UTF-8 (SQLSTATE
// 22021), so such a string must be refused at the edge as a field error
// (400), never reach the database as a driver error (500). Every string a
// client sends passes through one of these checks, or through a stricter
// rule of its own (usernames, SKUs, currencies, idempotency keys and
// webhook fields allow only a small ASCII set), in the constructor or
// validator that turns it into a domain value.
//
// Each check returns "" for a good string and otherwise the message of the
// FieldError to report, so validators can name the field themselves.

// CheckText checks free text: valid UTF-8, no NUL character, at most
// bytesMax bytes.
func CheckText(s string, bytesMax int) string {
	return checkText(s, bytesMax, false)
}

// CheckLine checks one line of human-readable text, such as a name: what
// CheckText checks, and no control characters either (C0, including tab
// and line breaks, DEL and C1).
func CheckLine(s string, bytesMax int) string {
	return checkText(s, bytesMax, true)
}

func checkText(s string, bytesMax int, line bool) string {
	if len(s) > bytesMax {
		return "must be at most " + strconv.Itoa(bytesMax) + " bytes"
	}
	control := false
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			return "must be valid UTF-8"
		case r == 0:
			return "must not contain NUL characters"
		case isControl(r):
			control = true
		}
		i += size
	}
	if line && control {
		return "must not contain control characters"
	}
	return ""
}

// isControl reports the Unicode control characters: C0, DEL and C1.
func isControl(r rune) bool {
	return r < 0x20 || r >= 0x7f && r < 0xa0
}
