package httpd

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/flashstock/flashstock/engine"
)

// appendOrderJSON must write byte for byte what encoding/json writes for
// newOrderJSON: the wire form is a contract, and tests elsewhere compare
// decoded values only.

// encodeTestOrder is an order with the given free-text fields, amounts and
// time.
func encodeTestOrder(text string, amount int64, at time.Time, items int) engine.Order {
	o := engine.Order{ID: engine.ID{0x01, 0x90, 0xab, 3, 4, 5, 0x70, 6, 0x80, 7, 8, 9, 10, 11, 12, 0xff},
		Reference: text, UserID: engine.ID{0xfe, 1}, Status: engine.Status(text), PaymentStatus: engine.PaymentStatus(text),
		Total: engine.Money{Amount: amount, Currency: engine.Currency(text)}, CreatedAt: at, UpdatedAt: at.Add(time.Nanosecond),
		ExpiresAt: at.Add(15 * time.Minute), CancelReason: text}
	for i := range items {
		o.Items = append(o.Items, engine.OrderItem{ProductID: engine.ID{byte(i), 2}, ProductName: text, Quantity: amount - int64(i),
			UnitPrice: engine.Money{Amount: -amount, Currency: "EUR"}, Subtotal: engine.Money{Amount: amount * 3, Currency: "EUR"}})
	}
	return o
}

func wantSameAsEncodingJSON(t *testing.T, o engine.Order) {
	t.Helper()
	want, wantErr := json.Marshal(newOrderJSON(o))
	got, ok := appendOrderJSON([]byte("prefix"), o)
	if wantErr != nil || !ok {
		if (wantErr == nil) != ok {
			t.Fatalf("encoding/json error %v, appendOrderJSON ok=%v for %+v", wantErr, ok, o)
		}
		return
	}
	if string(got) != "prefix"+string(want) {
		t.Fatalf("appendOrderJSON:\n got %s\nwant prefix%s", got, want)
	}
}

func TestAppendOrderJSONMatchesEncodingJSON(t *testing.T) {
	berlin := time.FixedZone("CET", 3600)
	texts := []string{"", "ORD-0123456789AB", "pending", `quote " backslash \ slash /`, "<script>&amp;</script>",
		"tab\there\nnew\rline\bback\fform", "\x00\x01\x1f\x7f", "héllo wörld €", "\u2028\u2029 separators",
		"\xff\xfe invalid \xc3", "emoji 🙂 and \U0010FFFF", "\xed\xa0\x80 surrogate"}
	times := []time.Time{time.Date(2030, 1, 2, 3, 4, 5, 123456000, time.UTC), time.Date(2030, 1, 2, 3, 4, 5, 0, berlin),
		time.Date(1999, 12, 31, 23, 59, 59, 999999999, time.UTC), {}, time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)}
	amounts := []int64{0, 1, -1, 1250, math.MaxInt64, math.MinInt64}
	for _, text := range texts {
		for _, at := range times {
			for i, amount := range amounts {
				wantSameAsEncodingJSON(t, encodeTestOrder(text, amount, at, i%3))
			}
		}
	}
}

func FuzzAppendOrderJSON(f *testing.F) {
	f.Add("ORD-0123456789AB", int64(1250), int64(1_900_000_000_123_456_000), uint8(1))
	f.Add("<\u2028\xff\"", int64(-7), int64(0), uint8(0))
	f.Add("x", int64(math.MaxInt64), int64(math.MinInt64), uint8(3))
	f.Fuzz(func(t *testing.T, text string, amount, unixNano int64, items uint8) {
		wantSameAsEncodingJSON(t, encodeTestOrder(text, amount, time.Unix(0, unixNano), int(items%5)))
	})
}

func TestRespondOrderAllocations(t *testing.T) {
	o := encodeTestOrder("Hot thing", 1250, time.Date(2030, 1, 2, 3, 4, 5, 123456000, time.UTC), 1)
	b := make([]byte, 0, 1024)
	if n := testing.AllocsPerRun(100, func() { b, _ = appendOrderJSON(b[:0], o) }); n != 0 {
		t.Errorf("appendOrderJSON into a roomy buffer allocates %v times", n)
	}
}
