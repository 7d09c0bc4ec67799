package httpd

import (
	"errors"
	"strconv"
	"time"

	"github.com/flashstock/flashstock/engine"
)

// Append-style encoding of products, the body of every product answer and
// of the list's pages. It writes exactly what json.Marshal writes for
// productJSON and productPageJSON (product_encode_test.go compares the two
// over every field), without reflection: encoding/json was 8% of the
// server's CPU in the catalog benchmark. A field added to productJSON is
// added here, in its declaration order.

// respondProduct writes p as the JSON body of a product answer.
func (c *call) respondProduct(status int, p engine.Product) error {
	bp := encodeBufs.Get().(*[]byte)
	b, ok := appendProductJSON((*bp)[:0], newProductJSON(p))
	if !ok { // a time json.Marshal refuses: let it say so
		encodeBufs.Put(bp)
		return c.respond(status, newProductJSON(p))
	}
	c.respondRaw(status, b)
	putEncodeBuf(bp, b)
	return nil
}

// putEncodeBuf gives back to encodeBufs the buffer bp, now grown to b,
// unless it grew past encodeBufBytesMax.
func putEncodeBuf(bp *[]byte, b []byte) {
	if cap(b) <= encodeBufBytesMax {
		*bp = b
		encodeBufs.Put(bp)
	}
}

// errEncodeTime is what encodeProductPage returns for a time json.Marshal
// cannot encode.
var errEncodeTime = errors.New("encode product page: a time outside years 0-9999")

// encodeProductPage appends page in its wire form to b, which may be kept
// in the list cache.
func encodeProductPage(b []byte, page productPageJSON) ([]byte, error) {
	b, ok := appendProductPageJSON(b, page)
	if !ok {
		return nil, errEncodeTime
	}
	return b, nil
}

// pageBytes is room enough for most pages of n products.
func pageBytes(n int) int { return 64 + 320*n }

// appendProductJSON appends p in its wire form. It reports false for a time
// json.Marshal cannot encode (appendZonedTimeJSON), and then b is unusable.
func appendProductJSON(b []byte, p productJSON) ([]byte, bool) {
	b = append(b, `{"id":`...)
	b = appendIDJSON(b, p.ID)
	b = append(b, `,"sku":`...)
	b = appendStringJSON(b, p.SKU)
	b = append(b, `,"name":`...)
	b = appendStringJSON(b, p.Name)
	b = append(b, `,"price":`...)
	b = strconv.AppendInt(b, p.Price, 10)
	b = append(b, `,"currency":`...)
	b = appendStringJSON(b, p.Currency)
	b = append(b, `,"stock":`...)
	b = strconv.AppendInt(b, p.Stock, 10)
	b = append(b, `,"is_active":`...)
	b = strconv.AppendBool(b, p.IsActive)
	b = append(b, `,"low_stock_threshold":`...)
	b = strconv.AppendInt(b, p.LowStockThreshold, 10)
	b = append(b, `,"created_at":`...)
	b, ok := appendZonedTimeJSON(b, p.CreatedAt)
	if !ok {
		return b, false
	}
	b = append(b, `,"updated_at":`...)
	if b, ok = appendZonedTimeJSON(b, p.UpdatedAt); !ok {
		return b, false
	}
	return append(b, '}'), true
}

// appendProductPageJSON appends page in its wire form, or reports false as
// appendProductJSON does.
func appendProductPageJSON(b []byte, page productPageJSON) ([]byte, bool) {
	b = append(b, `{"items":`...)
	if page.Items == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, p := range page.Items {
			if i > 0 {
				b = append(b, ',')
			}
			var ok bool
			if b, ok = appendProductJSON(b, p); !ok {
				return b, false
			}
		}
		b = append(b, ']')
	}
	b = append(b, `,"next_cursor":`...)
	if page.NextCursor == nil {
		b = append(b, "null"...)
	} else {
		b = appendStringJSON(b, *page.NextCursor)
	}
	return append(b, '}'), true
}

// appendZonedTimeJSON appends t in its own zone as time.Time.MarshalJSON
// does (productJSON's times are UTC already), or reports false where
// MarshalJSON fails: a year that is not 4 digits, or a zone offset of 24
// hours or more (MarshalJSON's checks, in time.Time.appendStrictRFC3339).
func appendZonedTimeJSON(b []byte, t time.Time) ([]byte, bool) {
	b = append(b, '"')
	start := len(b)
	b = t.AppendFormat(b, time.RFC3339Nano)
	if b[start+len("9999")] != '-' {
		return b, false
	}
	if b[len(b)-1] != 'Z' {
		c := b[len(b)-len("Z07:00")]
		hour := 10*(b[len(b)-len("07:00")]-'0') + b[len(b)-len("7:00")] - '0'
		if '0' <= c && c <= '9' || hour >= 24 {
			return b, false
		}
	}
	return append(b, '"'), true
}
