package httpd

import (
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/flashstock/flashstock/engine"
)

// Append-style encoding of an order, the body of every successful order
// response. It writes exactly what json.Marshal(newOrderJSON(o)) writes
// (order_encode_test.go compares the two), without reflection and into a
// pooled buffer: encoding/json was 7% of the CPU of an order.

// encodeBufBytesMax bounds the buffers kept in encodeBufs; a larger one (an
// order of many long-named items) is left to the garbage collector.
const encodeBufBytesMax = 64 << 10

// encodeBufs holds buffers for response bodies. fasthttp copies a body
// given to SetBody, so a buffer goes back as soon as that is done.
var encodeBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// respondOrder writes o as the JSON body of an order response.
func (c *call) respondOrder(status int, o engine.Order) error {
	bp := encodeBufs.Get().(*[]byte)
	b, ok := appendOrderJSON((*bp)[:0], o)
	if !ok { // a time json.Marshal refuses: let it say so
		encodeBufs.Put(bp)
		return c.respond(status, newOrderJSON(o))
	}
	c.respondRaw(status, b)
	if cap(b) <= encodeBufBytesMax {
		*bp = b
		encodeBufs.Put(bp)
	}
	return nil
}

// appendOrderJSON appends o in the orderJSON wire form. It reports false
// for a time json.Marshal cannot encode (year outside 0..9999), and then
// b is unusable.
func appendOrderJSON(b []byte, o engine.Order) ([]byte, bool) {
	b = append(b, `{"id":`...)
	b = appendIDJSON(b, o.ID)
	b = append(b, `,"reference":`...)
	b = appendStringJSON(b, o.Reference)
	b = append(b, `,"user_id":`...)
	b = appendIDJSON(b, o.UserID)
	b = append(b, `,"status":`...)
	b = appendStringJSON(b, string(o.Status))
	b = append(b, `,"payment_status":`...)
	b = appendStringJSON(b, string(o.PaymentStatus))
	b = append(b, `,"total":`...)
	b = strconv.AppendInt(b, o.Total.Amount, 10)
	b = append(b, `,"currency":`...)
	b = appendStringJSON(b, string(o.Total.Currency))
	b = append(b, `,"items":[`...)
	for i, it := range o.Items {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendOrderItemJSON(b, it)
	}
	ok := true
	for _, f := range [...]struct {
		name string
		t    time.Time
	}{{`],"created_at":`, o.CreatedAt}, {`,"updated_at":`, o.UpdatedAt}, {`,"expires_at":`, o.ExpiresAt}} {
		b = append(b, f.name...)
		b, ok = appendTimeJSON(b, f.t)
		if !ok {
			return b, false
		}
	}
	b = append(b, `,"cancel_reason":`...)
	b = appendStringJSON(b, o.CancelReason)
	return append(b, '}'), true
}

func appendOrderItemJSON(b []byte, it engine.OrderItem) []byte {
	b = append(b, `{"product_id":`...)
	b = appendIDJSON(b, it.ProductID)
	b = append(b, `,"product_name":`...)
	b = appendStringJSON(b, it.ProductName)
	b = append(b, `,"quantity":`...)
	b = strconv.AppendInt(b, it.Quantity, 10)
	b = append(b, `,"unit_price":`...)
	b = strconv.AppendInt(b, it.UnitPrice.Amount, 10)
	b = append(b, `,"subtotal":`...)
	b = strconv.AppendInt(b, it.Subtotal.Amount, 10)
	return append(b, '}')
}

// appendIDJSON appends id as a JSON string (its MarshalText form).
func appendIDJSON(b []byte, id engine.ID) []byte {
	b = append(b, '"')
	b, _ = id.AppendText(b) // never fails
	return append(b, '"')
}

// appendTimeJSON appends t in UTC as time.Time.MarshalJSON does (RFC 3339
// with nanoseconds, trailing zeros dropped), or reports false where
// MarshalJSON fails.
func appendTimeJSON(b []byte, t time.Time) ([]byte, bool) {
	t = t.UTC()
	if y := t.Year(); y < 0 || y > 9999 {
		return b, false
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"'), true
}

// appendStringJSON appends s as json.Marshal does: HTML-sensitive <, > and
// & escaped, control characters escaped (\b \f \n \r \t by name), invalid
// UTF-8 replaced by U+FFFD, U+2028 and U+2029 escaped.
func appendStringJSON(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
