package persist

import (
	"strings"
	"unicode/utf8"
)

// errorTextBytesMax bounds an error message stored with a mail, a task run
// or a dead letter: enough for any SMTP reply or wrapped Go error, while a
// runaway message cannot bloat the rows the mailer and operators read.
const errorTextBytesMax = 2000

// boundedText returns s cut to at most n bytes on a rune boundary, with
// invalid UTF-8 and NUL bytes (which PostgreSQL text refuses) replaced:
// error messages from outside go into text columns through it.
func boundedText(s string, n int) string {
	s = strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", "\uFFFD"), "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
