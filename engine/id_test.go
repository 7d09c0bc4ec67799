package engine_test

import (
	"bytes"
	cryptorand "crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flashstock/flashstock/engine"
)

// testRand returns a deterministic random byte source.
func testRand(seed byte) io.Reader { return rand.NewChaCha8([32]byte{seed}) }

// failingReader always fails.
type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("entropy exhausted") }

func mustID(t testing.TB, now time.Time, r io.Reader) engine.ID {
	t.Helper()
	id, err := engine.NewID(now, r)
	if err != nil {
		t.Fatalf("NewID: %v", err)
	}
	return id
}

func TestNewIDLayout(t *testing.T) {
	times := []time.Time{
		time.UnixMilli(0),
		time.Date(2025, 3, 1, 12, 0, 0, 123_456_789, time.UTC),
		time.UnixMilli(1<<48 - 1), // the largest 48-bit millisecond timestamp
	}
	randoms := map[string][]byte{
		"zeros": bytes.Repeat([]byte{0x00}, 10),
		"ones":  bytes.Repeat([]byte{0xff}, 10),
		"mixed": {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x0f, 0xa5},
	}
	for _, now := range times {
		for name, rnd := range randoms {
			id := mustID(t, now, bytes.NewReader(rnd))
			if v := id[6] >> 4; v != 7 {
				t.Errorf("%v/%s: version %d, want 7", now, name, v)
			}
			if v := id[8] >> 6; v != 0b10 {
				t.Errorf("%v/%s: variant bits %02b, want 10", now, name, v)
			}
			var ms uint64
			for _, b := range id[:6] {
				ms = ms<<8 | uint64(b)
			}
			if ms != uint64(now.UnixMilli()) {
				t.Errorf("%v/%s: timestamp %d, want %d", now, name, ms, now.UnixMilli())
			}
			// Every random bit not overwritten by version or variant survives.
			if id[6]&0x0f != rnd[0]&0x0f || id[7] != rnd[1] || id[8]&0x3f != rnd[2]&0x3f ||
				!bytes.Equal(id[9:], rnd[3:]) {
				t.Errorf("%v/%s: random bits lost: % x from % x", now, name, id[6:], rnd)
			}
			if id.IsZero() {
				t.Errorf("%v/%s: IsZero", now, name)
			}
		}
	}
}

func TestNewIDReaderErrors(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_000)
	for name, r := range map[string]io.Reader{
		"failing": failingReader{},
		"short":   bytes.NewReader(make([]byte, 9)),
		"empty":   bytes.NewReader(nil),
	} {
		id, err := engine.NewID(now, r)
		if err == nil || id != engine.NilID {
			t.Errorf("%s: NewID = %v, %v; want NilID and an error", name, id, err)
		}
	}
	_, err := engine.NewID(now, bytes.NewReader(make([]byte, 3)))
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("short read: %v does not wrap io.ErrUnexpectedEOF", err)
	}
}

// TestNewIDTimeOrdered: ids made in distinct milliseconds sort, as bytes and as
// strings, in creation order whatever their random bits.
func TestNewIDTimeOrdered(t *testing.T) {
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	r := testRand(1)
	var made []engine.ID
	for i := range 500 {
		now := start.Add(time.Duration(i) * time.Millisecond)
		if i%2 == 1 {
			now = now.Add(999 * time.Microsecond) // sub-millisecond part is dropped
		}
		made = append(made, mustID(t, now, r))
	}
	// Adversarial random bits: the earlier id has all ones, the later all zeros.
	hi := mustID(t, start.Add(time.Hour), bytes.NewReader(bytes.Repeat([]byte{0xff}, 10)))
	lo := mustID(t, start.Add(time.Hour+time.Millisecond), bytes.NewReader(make([]byte, 10)))
	made = append(made, hi, lo)

	for i := 1; i < len(made); i++ {
		if bytes.Compare(made[i-1][:], made[i][:]) >= 0 {
			t.Fatalf("id %d (%s) does not sort after id %d (%s)", i, made[i], i-1, made[i-1])
		}
		if made[i-1].String() >= made[i].String() {
			t.Fatalf("string %d (%s) does not sort after %s", i, made[i], made[i-1])
		}
	}
	shuffled := slices.Clone(made)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) {
		shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
	})
	slices.SortFunc(shuffled, func(a, b engine.ID) int { return bytes.Compare(a[:], b[:]) })
	if !slices.Equal(shuffled, made) {
		t.Fatal("sorting by bytes does not restore creation order")
	}
}

func TestIDStringParseRoundTrip(t *testing.T) {
	r := testRand(2)
	ids := []engine.ID{engine.NilID, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}
	for i := range 200 {
		ids = append(ids, mustID(t, time.UnixMilli(int64(i)*7919), r))
	}
	for _, id := range ids {
		s := id.String()
		if len(s) != 36 || s != strings.ToLower(s) {
			t.Fatalf("String() = %q, want 36 lower-case characters", s)
		}
		for _, form := range []string{s, strings.ToUpper(s), mixedCase(s)} {
			got, err := engine.ParseID(form)
			if err != nil || got != id {
				t.Fatalf("ParseID(%q) = %v, %v; want %v", form, got, err, id)
			}
		}
	}
	const known = "0192f3a4-5b6c-7d8e-9fa0-b1c2d3e4f5a6"
	id, err := engine.ParseID(known)
	want := engine.ID{0x01, 0x92, 0xf3, 0xa4, 0x5b, 0x6c, 0x7d, 0x8e, 0x9f, 0xa0, 0xb1, 0xc2, 0xd3, 0xe4, 0xf5, 0xa6}
	if err != nil || id != want || id.String() != known {
		t.Fatalf("ParseID(%q) = % x, %v", known, id, err)
	}
}

func mixedCase(s string) string {
	b := []byte(s)
	for i := range b {
		if i%2 == 0 {
			b[i] = strings.ToUpper(string(b[i]))[0]
		}
	}
	return string(b)
}

func TestParseIDRejects(t *testing.T) {
	const good = "0192f3a4-5b6c-7d8e-9fa0-b1c2d3e4f5a6"
	bad := map[string]string{
		"empty":              "",
		"one short":          good[:35],
		"one long":           good + "0",
		"no dashes":          strings.ReplaceAll(good, "-", ""),
		"no dashes padded":   strings.ReplaceAll(good, "-", "") + "0000",
		"dash moved":         "0192f3a-45b6c-7d8e-9fa0-b1c2d3e4f5a6",
		"dash in hex":        "0192f3a4-5b6c-7d8e-9fa0-b1c2d3e4f5-6",
		"colon separators":   strings.ReplaceAll(good, "-", ":"),
		"non-hex letter":     "0192f3a4-5b6c-7d8e-9fa0-b1c2d3e4f5ag",
		"plus sign":          "+192f3a4-5b6c-7d8e-9fa0-b1c2d3e4f5a6",
		"space":              " 192f3a4-5b6c-7d8e-9fa0-b1c2d3e4f5a6",
		"braces":             "{" + good + "}",
		"braces same length": "{192f3a4-5b6c-7d8e-9fa0-b1c2d3e4f5a}",
		"urn":                "urn:uuid:" + good,
		"leading whitespace": " " + good,
		"trailing newline":   good + "\n",
		"multibyte":          "0192f3a4-5b6c-7d8e-9fa0-b1c2d3e4f5é",
		"nul":                "0192f3a4-5b6c-7d8e-9fa0-b1c2d3e4f5a\x00",
		"all dashes":         strings.Repeat("-", 36),
		"fullwidth digit":    "０" + good[3:],
		"base64 of 16 bytes": "AZLzpFtsfY6foLHC0+T1pg==",
		"hex with 0x prefix": "0x" + good[2:],
		"letters past f":     "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz",
	}
	for name, s := range bad {
		id, err := engine.ParseID(s)
		if !errors.Is(err, engine.ErrInvalid) || id != engine.NilID {
			t.Errorf("%s: ParseID(%q) = %v, %v; want NilID, ErrInvalid", name, s, id, err)
			continue
		}
		if fs := fieldErrors(t, err); len(fs) != 1 || fs[0].Field != "id" {
			t.Errorf("%s: fields %v, want one for id", name, fs)
		}
	}
}

func TestIDText(t *testing.T) {
	id := mustID(t, time.UnixMilli(1_700_000_000_000), testRand(3))
	text, err := id.MarshalText()
	if err != nil || string(text) != id.String() {
		t.Fatalf("MarshalText = %q, %v; want %q", text, err, id)
	}
	var back engine.ID
	if err := back.UnmarshalText(bytes.ToUpper(text)); err != nil || back != id {
		t.Fatalf("UnmarshalText(upper) = %v, %v; want %v", back, err, id)
	}
	if err := back.UnmarshalText([]byte("nope")); !errors.Is(err, engine.ErrInvalid) || back != id {
		t.Fatalf("UnmarshalText(bad) = %v and id %v; want ErrInvalid and id kept", err, back)
	}
}

func TestIDAppendText(t *testing.T) {
	id := mustID(t, time.UnixMilli(1_700_000_000_000), testRand(5))
	b, err := id.AppendText([]byte(`"`))
	if want := `"` + id.String(); err != nil || string(b) != want {
		t.Fatalf("AppendText = %q, %v; want %q", b, err, want)
	}
	buf := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() { buf, _ = id.AppendText(buf[:0]) }); n != 0 {
		t.Errorf("AppendText into a roomy buffer allocates %v times", n)
	}
}

func TestIDJSON(t *testing.T) {
	type doc struct {
		ID   engine.ID         `json:"id"`
		Seen map[engine.ID]int `json:"seen"`
	}
	id := mustID(t, time.UnixMilli(1_700_000_000_000), testRand(4))
	in := doc{ID: id, Seen: map[engine.ID]int{id: 2}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"id":"` + id.String() + `","seen":{"` + id.String() + `":2}}`; string(b) != want {
		t.Fatalf("json = %s, want %s", b, want)
	}
	var out doc
	if err := json.Unmarshal(b, &out); err != nil || out.ID != id || out.Seen[id] != 2 {
		t.Fatalf("round trip = %+v, %v", out, err)
	}
	for _, body := range []string{`{"id":"not-a-uuid"}`, `{"id":""}`, `{"seen":{"x":1}}`} {
		if err := json.Unmarshal([]byte(body), &out); !errors.Is(err, engine.ErrInvalid) {
			t.Errorf("json.Unmarshal(%s) = %v, want ErrInvalid", body, err)
		}
	}
	if err := json.Unmarshal([]byte(`{"id":42}`), &out); err == nil {
		t.Error("json number accepted as an id")
	}
}

func TestFirstIDAtBoundsNewIDs(t *testing.T) {
	at := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	first := engine.FirstIDAt(at)
	for _, tc := range []struct {
		when  time.Time
		after bool
	}{{at, true}, {at.Add(time.Millisecond), true}, {at.Add(24 * time.Hour), true},
		{at.Add(-time.Millisecond), false}, {at.Add(-time.Hour), false}} {
		for range 50 {
			id, err := engine.NewID(tc.when, cryptorand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			if got := bytes.Compare(id[:], first[:]) >= 0; got != tc.after {
				t.Fatalf("NewID(%v) = %s, >= FirstIDAt(%v) = %s: %v, want %v", tc.when, id, at, first, got, tc.after)
			}
		}
	}
}
