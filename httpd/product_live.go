package httpd

import (
	"encoding/binary"
	"encoding/json"
	"time"

	"github.com/valyala/fasthttp"
)

// With Deps.Live, a product list shows live stock: the cache keeps each
// page as read from the database, stamped with when it was read, and every
// answer overlays the stock of the products whose SKU actors are live
// (which is where stock changes). A cached page is used only if no actor
// whose stock had changed was stopped since it was read: that actor's
// stock can no longer be overlaid, and the page's copy may be older.

// livePageStampBytes is the size of a cached page's read time (unix
// nanoseconds, big-endian) in front of its JSON.
const livePageStampBytes = 8

// listLive serves a page with live stock.
func (s *Server) listLive(c *call, pg page, key string, look cacheLookup) error {
	out, ok := s.cachedLivePage(look.page)
	if !ok {
		readAt := time.Now()
		var err error
		if out, err = s.readPage(c, pg); err != nil {
			return err
		}
		stamped := binary.BigEndian.AppendUint64(make([]byte, 0, livePageStampBytes+pageBytes(len(out.Items))),
			uint64(readAt.UnixNano()))
		if stamped, err = encodeProductPage(stamped, out); err != nil {
			return err
		}
		s.storePage(c, key, look, stamped)
	}
	for i, item := range out.Items {
		if p, live := s.deps.Live.LiveProduct(item.ID); live {
			out.Items[i].Stock = p.Stock
		}
	}
	bp := encodeBufs.Get().(*[]byte)
	body, err := encodeProductPage((*bp)[:0], out)
	if err != nil {
		encodeBufs.Put(bp)
		return err
	}
	c.ctx.Response.Header.Set(fasthttp.HeaderCacheControl, listCacheControl)
	c.respondTagged(body) // copies body
	putEncodeBuf(bp, body)
	return nil
}

// cachedLivePage decodes a cached page, unless there is none, it is not
// one of ours, or it may hold stock that live reads can no longer correct.
func (s *Server) cachedLivePage(cached []byte) (productPageJSON, bool) {
	if len(cached) <= livePageStampBytes {
		return productPageJSON{}, false
	}
	readAt := time.Unix(0, int64(binary.BigEndian.Uint64(cached)))
	if s.deps.Live.StockEvictedSince(readAt) {
		return productPageJSON{}, false
	}
	var out productPageJSON
	if err := json.Unmarshal(cached[livePageStampBytes:], &out); err != nil {
		return productPageJSON{}, false
	}
	return out, true
}
