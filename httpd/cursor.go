package httpd

import (
	"encoding/base64"
	"strconv"

	"github.com/flashstock/flashstock/engine"
)

// Cursor pagination shared by list endpoints: `?limit=&cursor=`. A cursor is
// opaque to clients: the unpadded base64url form of the last id of the
// previous page. Lists are in id order and ids are UUIDv7, so "ids greater
// than the cursor" is stable under inserts and needs no OFFSET.

// page is one validated list request.
type page struct {
	limit int       // 1..engine.PageLimitMax
	after engine.ID // engine.NilID = from the start
}

// cursorBytes is the decoded size of a cursor: one engine.ID.
const cursorBytes = len(engine.ID{})

// pageParams reads limit and cursor from the query string. An absent limit
// takes engine.PageLimitDefault; a present one must be an integer 1..100.
// Both errors name their field.
func (c *call) pageParams() (page, error) {
	args := c.ctx.QueryArgs()
	limit := 0
	if args.Has("limit") {
		n, err := strconv.Atoi(string(args.Peek("limit")))
		if err != nil || n == 0 { // 0 would silently mean "default": refuse it
			return page{}, engine.Invalid("limit", "must be an integer between 1 and 100")
		}
		limit = n
	}
	limit, err := engine.PageLimit(limit)
	if err != nil {
		return page{}, err
	}
	after, err := decodeCursor(string(args.Peek("cursor")))
	if err != nil {
		return page{}, err
	}
	return page{limit: limit, after: after}, nil
}

// encodeCursor returns the cursor for the page that follows id.
func encodeCursor(id engine.ID) string {
	return base64.RawURLEncoding.EncodeToString(id[:])
}

// decodeCursor parses a cursor made by encodeCursor; "" is the first page.
// Anything else, including non-canonical encodings, is a validation error on
// field "cursor", so each position has exactly one cursor (and cache key).
func decodeCursor(s string) (engine.ID, error) {
	if s == "" {
		return engine.NilID, nil
	}
	if base64.RawURLEncoding.DecodedLen(len(s)) != cursorBytes {
		return engine.NilID, errBadCursor
	}
	var id engine.ID
	n, err := base64.RawURLEncoding.Strict().Decode(id[:], []byte(s))
	if err != nil || n != cursorBytes || id.IsZero() {
		return engine.NilID, errBadCursor
	}
	return id, nil
}

var errBadCursor = engine.Invalid("cursor", "is not a cursor returned by this API")
