package engine

import (
	"encoding/binary"
	"encoding/hex"
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

// ParseID parses the canonical 36-character form (8-4-4-4-12 hex digits,
// either case). Anything else is ErrInvalid.
func ParseID(s string) (ID, error) {
	var id ID
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return NilID, Invalid("id", "must be a UUID")
	}
	src := []byte(s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:36])
	if _, err := hex.Decode(id[:], src); err != nil {
		return NilID, Invalid("id", "must be a UUID")
	}
	return id, nil
}

// IsZero reports whether id is NilID.
func (id ID) IsZero() bool { return id == NilID }

// String returns the canonical lower-case form.
func (id ID) String() string {
	var b [36]byte
	hex.Encode(b[0:8], id[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], id[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], id[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], id[8:10])
	b[23] = '-'
	hex.Encode(b[24:36], id[10:16])
	return string(b[:])
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
