package persist

import (
	"bytes"
	"math"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// The column types must put on the wire exactly the bytes pgx writes for
// the plain slices they replace.

func TestArrayColumnsEncodeLikePgx(t *testing.T) {
	berlin := time.FixedZone("CET", 3600)
	cases := []struct {
		name        string
		oid         uint32
		plain, fast any
	}{
		{"uuid", pgtype.UUIDArrayOID, [][16]byte{{1, 2, 3}, {15: 0xff}}, uuidColumn{{1, 2, 3}, {15: 0xff}}},
		{"uuid empty", pgtype.UUIDArrayOID, [][16]byte{}, uuidColumn{}},
		{"uuid nil", pgtype.UUIDArrayOID, [][16]byte(nil), uuidColumn(nil)},
		{"text", pgtype.TextArrayOID, []string{"", "pending", "héllo \x00 \"q\" {a,b}", "NULL"},
			textColumn{"", "pending", "héllo \x00 \"q\" {a,b}", "NULL"}},
		{"text empty", pgtype.TextArrayOID, []string{}, textColumn{}},
		{"int8", pgtype.Int8ArrayOID, []int64{0, 1, -1, math.MaxInt64, math.MinInt64}, int8Column{0, 1, -1, math.MaxInt64, math.MinInt64}},
		{"int8 nil", pgtype.Int8ArrayOID, []int64(nil), int8Column(nil)},
		{"timestamptz", pgtype.TimestamptzArrayOID,
			[]time.Time{time.Date(2030, 1, 2, 3, 4, 5, 123456789, time.UTC), time.Date(2030, 1, 2, 3, 4, 5, 999, berlin),
				time.Date(1960, 5, 6, 7, 8, 9, 987654321, time.UTC), time.Unix(0, -1), {}},
			timestamptzColumn{time.Date(2030, 1, 2, 3, 4, 5, 123456789, time.UTC), time.Date(2030, 1, 2, 3, 4, 5, 999, berlin),
				time.Date(1960, 5, 6, 7, 8, 9, 987654321, time.UTC), time.Unix(0, -1), {}}},
	}
	plainMap, fastMap := pgtype.NewMap(), pgtype.NewMap()
	useArrayColumns(fastMap)
	useArrayColumns(fastMap) // idempotent
	for _, tc := range cases {
		want, err := plainMap.Encode(tc.oid, pgtype.BinaryFormatCode, tc.plain, nil)
		if err != nil {
			t.Fatalf("%s: pgx: %v", tc.name, err)
		}
		got, err := fastMap.Encode(tc.oid, pgtype.BinaryFormatCode, tc.fast, nil)
		if err != nil {
			t.Fatalf("%s: column: %v", tc.name, err)
		}
		if !bytes.Equal(got, want) || (got == nil) != (want == nil) {
			t.Errorf("%s:\n got % x\nwant % x", tc.name, got, want)
		}
		// The wrapped codec still encodes plain slices as before.
		again, err := fastMap.Encode(tc.oid, pgtype.BinaryFormatCode, tc.plain, nil)
		if err != nil || !bytes.Equal(again, want) {
			t.Errorf("%s: plain slice through the wrapped codec: % x, %v", tc.name, again, err)
		}
	}
}

func TestArrayColumnsAppendWithoutAllocating(t *testing.T) {
	col := timestamptzColumn{time.Now(), time.Now()}
	buf := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() { buf = col.appendBinary(buf[:0]) }); n != 0 {
		t.Errorf("appendBinary allocates %v times", n)
	}
}
