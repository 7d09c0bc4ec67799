package engine

import (
	"encoding/binary"
	"fmt"
	"io"
	"time"
)

// ID identifies users, products and orders: a UUID, generated as version 7
// (time-ordered) so that new rows land at the end of their index and ids sort
// by creation time.
type ID [16]byte

// NilID is the zero ID; it never identifies anything.
var NilID ID

// NewID returns a UUIDv7 for the given time, with random bits from r
// (crypto/rand.Reader in production).
func NewID(now time.Time, r io.Reader) (ID, error) {
	var id ID
	if _, err := io.ReadFull(r, id[6:]); err != nil {
		return NilID, fmt.Errorf("new id: %w", err)
	}
	ms := uint64(now.UnixMilli())
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], ms<<16)
	copy(id[:6], ts[:6])
	id[6] = 0x70 | (id[6] & 0x0f) // version 7
	id[8] = 0x80 | (id[8] & 0x3f) // RFC 4122 variant
	return id, nil
}

// FirstIDAt returns the smallest UUIDv7 of t's millisecond: every id made
// by NewID at t or later sorts at or after it, every id made earlier sorts
// before it. A range of ids is thus a range of creation times.
func FirstIDAt(t time.Time) ID {
	var id ID
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], uint64(t.UnixMilli())<<16)
	copy(id[:6], ts[:6])
	id[6], id[8] = 0x70, 0x80
	return id
}

// ParseID parses the canonical 36-character form (8-4-4-4-12 hex digits,
// either case). Anything else is ErrInvalid.
func ParseID(s string) (ID, error) { return parseID(s) }

// ParseIDBytes is ParseID for bytes, without copying them to a string.
func ParseIDBytes(b []byte) (ID, error) { return parseID(b) }

func parseID[T string | []byte](s T) (ID, error) {
	var id ID
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return NilID, Invalid("id", "must be a UUID")
	}
	for i, at := range idHexAt {
		hi, ok1 := fromHex(s[at])
		lo, ok2 := fromHex(s[at+1])
		if !ok1 || !ok2 {
			return NilID, Invalid("id", "must be a UUID")
		}
		id[i] = hi<<4 | lo
	}
	return id, nil
}

// idHexAt is where each byte's two hex digits start in the canonical form.
var idHexAt = [16]int{0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34}

// fromHex is the value of one hex digit, either case.
func fromHex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// IsZero reports whether id is NilID.
func (id ID) IsZero() bool { return id == NilID }

// String returns the canonical lower-case form.
func (id ID) String() string {
	var b [36]byte
	return string(id.appendText(b[:0]))
}

// AppendText implements encoding.TextAppender: the canonical form appended
// to b, without allocating when b has room for 36 more bytes. It never fails.
func (id ID) AppendText(b []byte) ([]byte, error) { return id.appendText(b), nil }

func (id ID) appendText(b []byte) []byte {
	const digits = "0123456789abcdef"
	for i, c := range id {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b = append(b, '-')
		}
		b = append(b, digits[c>>4], digits[c&0x0f])
	}
	return b
}

// MarshalText implements encoding.TextMarshaler.
func (id ID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (id *ID) UnmarshalText(b []byte) error {
	parsed, err := ParseID(string(b))
	if err != nil {
		return err
	}
	*id = parsed
	return nil
}
