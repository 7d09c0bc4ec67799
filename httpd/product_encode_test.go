package httpd

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/flashstock/flashstock/engine"
)

// appendProductJSON and appendProductPageJSON must write byte for byte what
// encoding/json writes for productJSON and productPageJSON: the wire form
// is a contract, and tests elsewhere compare decoded values only.

// encodeTestProduct is a product with every field set from the given text,
// amount and time (none zero, so that a field the encoder leaves out shows
// even if it is declared omitempty).
func encodeTestProduct(text string, amount int64, at time.Time, active bool) productJSON {
	return productJSON{ID: engine.ID{0x01, 0x90, 0xab, 3, 4, 5, 0x70, 6, 0x80, 7, 8, 9, 10, 11, 12, byte(amount)},
		SKU: "S" + text, Name: "N" + text, Price: amount, Currency: "C" + text, Stock: -amount, IsActive: active,
		LowStockThreshold: amount ^ 1, CreatedAt: at, UpdatedAt: at.Add(time.Nanosecond)}
}

// TestEncodeTestProductSetsEveryField keeps the comparison below honest as
// productJSON grows: a new field must get a non-zero value in
// encodeTestProduct (and then, to pass, a place in appendProductJSON).
func TestEncodeTestProductSetsEveryField(t *testing.T) {
	v := reflect.ValueOf(encodeTestProduct("x", 7, time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC), true))
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Errorf("encodeTestProduct leaves productJSON.%s zero", v.Type().Field(i).Name)
		}
	}
}

func wantProductSameAsEncodingJSON(t *testing.T, p productJSON) {
	t.Helper()
	want, wantErr := json.Marshal(p)
	got, ok := appendProductJSON([]byte("prefix"), p)
	if wantErr != nil || !ok {
		if (wantErr == nil) != ok {
			t.Fatalf("encoding/json error %v, appendProductJSON ok=%v for %+v", wantErr, ok, p)
		}
		return
	}
	if string(got) != "prefix"+string(want) {
		t.Fatalf("appendProductJSON:\n got %s\nwant prefix%s", got, want)
	}
}

func wantPageSameAsEncodingJSON(t *testing.T, page productPageJSON) {
	t.Helper()
	want, wantErr := json.Marshal(page)
	got, err := encodeProductPage(nil, page)
	if wantErr != nil || err != nil {
		if (wantErr == nil) != (err == nil) {
			t.Fatalf("encoding/json error %v, encodeProductPage error %v for %+v", wantErr, err, page)
		}
		return
	}
	if string(got) != string(want) {
		t.Fatalf("encodeProductPage:\n got %s\nwant %s", got, want)
	}
}

func TestAppendProductJSONMatchesEncodingJSON(t *testing.T) {
	berlin, far := time.FixedZone("CET", 3600), time.FixedZone("", -(24*3600+30))
	texts := []string{"", "SKU-0000042", "Hot thing", `quote " backslash \ slash /`, "<script>&amp;</script>",
		"tab\there\nnew\rline\bback\fform", "\x00\x01\x1f\x7f", "héllo wörld €", "\u2028\u2029 separators",
		"\xff\xfe invalid \xc3", "emoji 🙂 and \U0010FFFF", "\xed\xa0\x80 surrogate"}
	times := []time.Time{time.Date(2030, 1, 2, 3, 4, 5, 123456000, time.UTC), time.Date(2030, 1, 2, 3, 4, 5, 0, berlin),
		time.Date(1999, 12, 31, 23, 59, 59, 999999999, time.UTC), {}, time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2030, 1, 2, 3, 4, 5, 6, time.FixedZone("", -(9*3600+30*60+15))),
		time.Date(2030, 1, 2, 3, 4, 5, 6, far), time.Date(2030, 1, 2, 3, 4, 5, 6, time.FixedZone("", 100*3600))}
	amounts := []int64{0, 1, -1, 1250, math.MaxInt64, math.MinInt64}
	for _, text := range texts {
		for _, at := range times {
			for i, amount := range amounts {
				wantProductSameAsEncodingJSON(t, encodeTestProduct(text, amount, at, i%2 == 0))
			}
		}
	}
	// newProductJSON's own output, from an engine product in another zone.
	at := time.Date(2030, 6, 1, 12, 0, 0, 5000, berlin)
	wantProductSameAsEncodingJSON(t, newProductJSON(engine.Product{ID: orderProductA, SKU: "A-1", Name: "Ä <b>",
		Price: engine.Money{Amount: 99, Currency: "EUR"}, Stock: 3, IsActive: true, CreatedAt: at, UpdatedAt: at}))
}

func TestEncodeProductPageMatchesEncodingJSON(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 123456000, time.UTC)
	cursor, odd := encodeCursor(orderProductA), "<\u2028\xff\""
	items := []productJSON{encodeTestProduct("a", 1, at, true), encodeTestProduct("b\n", math.MaxInt64, at, false),
		encodeTestProduct("ü", -3, at.Add(time.Hour), true)}
	for _, next := range []*string{nil, &cursor, &odd} {
		for _, page := range [][]productJSON{nil, {}, items[:1], items} {
			wantPageSameAsEncodingJSON(t, productPageJSON{Items: page, NextCursor: next})
		}
	}
	bad := append([]productJSON{}, items...)
	bad[2].UpdatedAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	wantPageSameAsEncodingJSON(t, productPageJSON{Items: bad})
}

func FuzzAppendProductJSON(f *testing.F) {
	f.Add("Hot thing", int64(1250), int64(1_900_000_000_123_456_000), int32(0), true, "")
	f.Add("<\u2028\xff\"", int64(-7), int64(0), int32(3600), false, "AZBjBA")
	f.Add("x", int64(math.MaxInt64), int64(math.MinInt64), int32(-100*3600-59), true, "\x00")
	f.Fuzz(func(t *testing.T, text string, amount, unixNano int64, zoneSeconds int32, active bool, cursor string) {
		at := time.Unix(0, unixNano).In(time.FixedZone("", int(zoneSeconds)))
		p := encodeTestProduct(text, amount, at, active)
		wantProductSameAsEncodingJSON(t, p)
		wantPageSameAsEncodingJSON(t, productPageJSON{Items: []productJSON{p, p}, NextCursor: &cursor})
	})
}

func TestAppendProductJSONAllocations(t *testing.T) {
	p := encodeTestProduct("Hot thing", 1250, time.Date(2030, 1, 2, 3, 4, 5, 123456000, time.UTC), true)
	b := make([]byte, 0, 1024)
	if n := testing.AllocsPerRun(100, func() { b, _ = appendProductJSON(b[:0], p) }); n != 0 {
		t.Errorf("appendProductJSON into a roomy buffer allocates %v times", n)
	}
}
