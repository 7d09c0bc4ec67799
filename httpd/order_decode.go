package httpd

import (
	"github.com/flashstock/flashstock/engine"
)

// A fast path for the body of POST /orders/. Strict decoding with
// encoding/json (call.decode, then every line again) was an eighth of the
// CPU of an order. Almost every body is the plain shape
//
//	{"items":[{"product_id":"<uuid>","quantity":<integer>}, ...]}
//
// which scanOrderCreate reads by hand, without allocating. It accepts only
// bodies where the strict decoder could not do anything else: every member
// named exactly (encoding/json also matches other cases), no member twice,
// strings without escapes, integers in int64 range without fraction or
// exponent, valid UUIDs, at most the line limit. Anything else, valid or
// not, it leaves to the strict decoder, so every error and its message
// still comes from there. order_decode_test.go holds both paths to the same
// outcome.

// decodeOrderItems reads the body of POST /orders/ into merged, validated
// items (orderCreateRequest.items).
func (c *call) decodeOrderItems(l engine.Limits) ([]engine.ItemRequest, error) {
	if items, ok := scanOrderCreate(c.ctx.Request.Body()); ok {
		return engine.MergeItems(items, l)
	}
	var req orderCreateRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	return req.items(l)
}

// orderScanner reads one body; at is the next byte.
type orderScanner struct {
	b  []byte
	at int
}

// scanOrderCreate returns the lines of a body in the plain shape, unmerged,
// or false for any other body.
func scanOrderCreate(body []byte) ([]engine.ItemRequest, bool) {
	s := orderScanner{b: body}
	if !s.literal(`{`) || !s.literal(`"items"`) || !s.literal(`:`) || !s.literal(`[`) {
		return nil, false
	}
	var items []engine.ItemRequest
	if !s.literal(`]`) {
		for {
			if len(items) == engine.ItemsPerOrderMax*linesPerItemMax { // the strict path words the refusal
				return nil, false
			}
			it, ok := s.line()
			if !ok {
				return nil, false
			}
			if items == nil {
				items = make([]engine.ItemRequest, 0, 1)
			}
			items = append(items, it)
			if s.literal(`]`) {
				break
			}
			if !s.literal(`,`) {
				return nil, false
			}
		}
	}
	if !s.literal(`}`) {
		return nil, false
	}
	s.space()
	return items, s.at == len(s.b)
}

// line reads {"product_id":"<uuid>","quantity":<integer>}, members in
// either order, both required.
func (s *orderScanner) line() (engine.ItemRequest, bool) {
	var it engine.ItemRequest
	var haveID, haveQuantity bool
	if !s.literal(`{`) {
		return it, false
	}
	for { // twice at most: each round takes one member not yet seen
		switch {
		case !haveID && s.literal(`"product_id"`):
			if !s.literal(`:`) || !s.id(&it.ProductID) {
				return it, false
			}
			haveID = true
		case !haveQuantity && s.literal(`"quantity"`):
			if !s.literal(`:`) || !s.integer(&it.Quantity) {
				return it, false
			}
			haveQuantity = true
		default:
			return it, false
		}
		if haveID && haveQuantity {
			return it, s.literal(`}`)
		}
		if !s.literal(`,`) {
			return it, false
		}
	}
}

// space skips JSON whitespace.
func (s *orderScanner) space() {
	for s.at < len(s.b) {
		switch s.b[s.at] {
		case ' ', '\t', '\n', '\r':
			s.at++
		default:
			return
		}
	}
}

// literal skips whitespace, then lit if it comes next.
func (s *orderScanner) literal(lit string) bool {
	s.space()
	if len(s.b)-s.at < len(lit) || string(s.b[s.at:s.at+len(lit)]) != lit {
		return false
	}
	s.at += len(lit)
	return true
}

// id reads a string holding a UUID in its canonical form.
func (s *orderScanner) id(dst *engine.ID) bool {
	const idBytes = 36
	s.space()
	if len(s.b)-s.at < idBytes+2 || s.b[s.at] != '"' || s.b[s.at+idBytes+1] != '"' {
		return false
	}
	id, err := engine.ParseIDBytes(s.b[s.at+1 : s.at+1+idBytes])
	if err != nil {
		return false
	}
	*dst = id
	s.at += idBytes + 2
	return true
}

// integerDigitsMax keeps integer within int64 without an overflow check.
const integerDigitsMax = 18

// integer reads -?(0|[1-9][0-9]*) of at most integerDigitsMax digits, not
// followed by a fraction or exponent.
func (s *orderScanner) integer(dst *int64) bool {
	s.space()
	neg := s.at < len(s.b) && s.b[s.at] == '-'
	if neg {
		s.at++
	}
	start := s.at
	var n int64
	for s.at < len(s.b) && s.b[s.at] >= '0' && s.b[s.at] <= '9' {
		n = n*10 + int64(s.b[s.at]-'0')
		s.at++
	}
	digits := s.at - start
	if digits == 0 || digits > integerDigitsMax || (digits > 1 && s.b[start] == '0') {
		return false
	}
	if s.at < len(s.b) && (s.b[s.at] == '.' || s.b[s.at] == 'e' || s.b[s.at] == 'E') {
		return false
	}
	if neg {
		n = -n
	}
	*dst = n
	return true
}
