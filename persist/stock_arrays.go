package persist

import (
	"encoding/binary"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// Array parameters of a group commit, written in PostgreSQL's binary array
// format without pgx's generic path. pgx encodes a []T parameter element
// by element through interfaces (each element boxed, its plan looked up);
// for the unnest arrays of a batch that was most of the commit's CPU. The
// column types below write the same bytes directly (stock_arrays_test.go
// compares them with pgx's own encoding), and arrayCodec, registered on a
// connection by useArrayColumns, hands them to PostgreSQL as they are.

// binaryArray is a one-dimensional array parameter that encodes itself:
// appendBinary appends its binary form to buf, or returns nil for NULL (a
// nil slice).
type binaryArray interface {
	appendBinary(buf []byte) []byte
}

type (
	uuidColumn        [][16]byte
	textColumn        []string
	int8Column        []int64
	timestamptzColumn []time.Time
)

func (c uuidColumn) appendBinary(buf []byte) []byte {
	if c == nil {
		return nil // NULL, as pgx sends a nil slice
	}
	buf = appendArrayHeader(buf, pgtype.UUIDOID, len(c))
	for _, v := range c {
		buf = binary.BigEndian.AppendUint32(buf, 16)
		buf = append(buf, v[:]...)
	}
	return buf
}

func (c textColumn) appendBinary(buf []byte) []byte {
	if c == nil {
		return nil // NULL, as pgx sends a nil slice
	}
	buf = appendArrayHeader(buf, pgtype.TextOID, len(c))
	for _, v := range c {
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(v)))
		buf = append(buf, v...)
	}
	return buf
}

func (c int8Column) appendBinary(buf []byte) []byte {
	if c == nil {
		return nil // NULL, as pgx sends a nil slice
	}
	buf = appendArrayHeader(buf, pgtype.Int8OID, len(c))
	for _, v := range c {
		buf = binary.BigEndian.AppendUint32(buf, 8)
		buf = binary.BigEndian.AppendUint64(buf, uint64(v))
	}
	return buf
}

// microsecondsUnixToY2K is PostgreSQL's epoch (2000-01-01 UTC) in
// microseconds since the Unix epoch.
const microsecondsUnixToY2K = 946684800 * 1_000_000

func (c timestamptzColumn) appendBinary(buf []byte) []byte {
	if c == nil {
		return nil // NULL, as pgx sends a nil slice
	}
	buf = appendArrayHeader(buf, pgtype.TimestamptzOID, len(c))
	for _, t := range c {
		us := t.Unix()*1_000_000 + int64(t.Nanosecond())/1000 - microsecondsUnixToY2K
		buf = binary.BigEndian.AppendUint32(buf, 8)
		buf = binary.BigEndian.AppendUint64(buf, uint64(us))
	}
	return buf
}

// appendArrayHeader writes the header of a one-dimensional array without
// NULLs: dimensions, has-null flag, element type, then length and lower
// bound (1) of the one dimension.
func appendArrayHeader(buf []byte, elementOID uint32, n int) []byte {
	buf = binary.BigEndian.AppendUint32(buf, 1)
	buf = binary.BigEndian.AppendUint32(buf, 0)
	buf = binary.BigEndian.AppendUint32(buf, elementOID)
	buf = binary.BigEndian.AppendUint32(buf, uint32(n))
	return binary.BigEndian.AppendUint32(buf, 1)
}

// arrayCodec is an array type's codec that encodes a binaryArray itself
// and leaves every other value to the codec it wraps.
type arrayCodec struct{ pgtype.Codec }

// PlanEncode implements pgtype.Codec.
func (c arrayCodec) PlanEncode(m *pgtype.Map, oid uint32, format int16, value any) pgtype.EncodePlan {
	if _, ok := value.(binaryArray); ok && format == pgtype.BinaryFormatCode {
		return binaryArrayPlan{}
	}
	return c.Codec.PlanEncode(m, oid, format, value)
}

type binaryArrayPlan struct{}

// Encode implements pgtype.EncodePlan.
func (binaryArrayPlan) Encode(value any, buf []byte) ([]byte, error) {
	return value.(binaryArray).appendBinary(buf), nil
}

// arrayColumnOIDs are the array types the column types above encode.
var arrayColumnOIDs = [...]uint32{pgtype.UUIDArrayOID, pgtype.TextArrayOID, pgtype.Int8ArrayOID, pgtype.TimestamptzArrayOID}

// useArrayColumns wraps the codecs of arrayColumnOIDs in m (a connection's
// type map, used by one goroutine at a time) in arrayCodec, once.
func useArrayColumns(m *pgtype.Map) {
	for _, oid := range arrayColumnOIDs {
		t, ok := m.TypeForOID(oid)
		if !ok {
			continue
		}
		if _, done := t.Codec.(arrayCodec); done {
			continue
		}
		m.RegisterType(&pgtype.Type{Name: t.Name, OID: t.OID, Codec: arrayCodec{t.Codec}})
	}
}
