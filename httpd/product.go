package httpd

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/flashstock/flashstock/engine"
)

// Products endpoints (DESIGN.md "Products"): a public catalogue (a cached,
// cursor-paginated list of active products and a live detail view) and admin
// writes. Every successful write invalidates the list cache after it commits,
// and a page is cached only if no invalidation ran between the cache lookup
// and the store (ListCache): once a write has answered, a list requested
// after it shows it (or, if the invalidation failed, within the cache TTL).
// The detail view is never cached.

func (s *Server) registerProducts() {
	s.handle("GET", "/products/", s.listProducts)
	s.handle("POST", "/products/", s.createProduct)
	s.handle("GET", "/products/{id}", s.productDetail)
	s.handle("PATCH", "/products/{id}", s.patchProduct)
	s.handle("POST", "/products/{id}/restock", s.restockProduct)
}

// Cache-Control values. The list says "no-cache": any cache may keep it but
// must revalidate each time, which the ETag makes a cheap 304; so an admin's
// write shows on the very next request instead of after a client-side
// max-age, and the server-side ListCache already absorbs the load. The detail
// carries live stock and may be an admin-only (inactive) product: not stored.
const (
	listCacheControl   = "public, no-cache"
	detailCacheControl = "no-store"
)

// listProducts serves one page of active products, from the list cache when
// it has the page.
func (s *Server) listProducts(c *call) error {
	pg, err := c.pageParams()
	if err != nil {
		return err
	}
	key := listCacheKey(pg)
	look := s.cachedPage(c, key)
	body := look.page
	if s.deps.Live != nil {
		return s.listLive(c, pg, key, look)
	}
	if body == nil {
		if body, err = s.renderPage(c, pg); err != nil {
			return err
		}
		s.storePage(c, key, look, body)
	}
	c.ctx.Response.Header.Set(fasthttp.HeaderCacheControl, listCacheControl)
	c.respondTagged(body)
	return nil
}

// listCacheKey names a page by its normalized parameters, so "?limit=20" and
// no limit share one entry.
func listCacheKey(pg page) string {
	return fmt.Sprintf("products:limit=%d:cursor=%s", pg.limit, cursorOrStart(pg.after))
}

func cursorOrStart(after engine.ID) string {
	if after.IsZero() {
		return "start"
	}
	return encodeCursor(after)
}

// renderPage reads one page plus one product, to know whether another page
// follows, and encodes it.
func (s *Server) renderPage(c *call, pg page) ([]byte, error) {
	out, err := s.readPage(c, pg)
	if err != nil {
		return nil, err
	}
	return encodeProductPage(make([]byte, 0, pageBytes(len(out.Items))), out)
}

// readPage reads one page plus one product, to know whether another page
// follows.
func (s *Server) readPage(c *call, pg page) (productPageJSON, error) {
	products, err := s.deps.Products.ListProducts(c.context, pg.after, pg.limit+1)
	if err != nil {
		return productPageJSON{}, fmt.Errorf("list products: %w", err)
	}
	out := productPageJSON{Items: make([]productJSON, 0, min(len(products), pg.limit))}
	if len(products) > pg.limit {
		products = products[:pg.limit]
		next := encodeCursor(products[len(products)-1].ID)
		out.NextCursor = &next
	}
	for _, p := range products {
		out.Items = append(out.Items, newProductJSON(p))
	}
	return out, nil
}

// cacheLookup is what cachedPage found: the page on a hit, nil on a miss;
// and the generation the cache saw, if known (there is a cache and it
// answered), which storePage hands back so that a page read after the
// lookup is stored only if no write invalidated the cache meanwhile.
type cacheLookup struct {
	page  []byte
	gen   int64
	known bool
}

// cachedPage looks the page up before the database is read (ListCache's
// argument needs that order); a cache error is logged and is a miss.
func (s *Server) cachedPage(c *call, key string) cacheLookup {
	if s.deps.Cache == nil {
		return cacheLookup{}
	}
	body, gen, ok, err := s.deps.Cache.Get(c.context, key)
	if err != nil {
		s.log.Warn().Str("request_id", c.requestID).Str("key", key).AnErr("error", err).Msg("product list cache get failed")
		return cacheLookup{}
	}
	if !ok || len(body) == 0 {
		body = nil
	}
	return cacheLookup{page: body, gen: gen, known: true}
}

// storePage caches a page rendered after look missed, unless the generation
// is unknown (no cache, or the lookup failed); a failure is logged and
// otherwise ignored.
func (s *Server) storePage(c *call, key string, look cacheLookup, body []byte) {
	if !look.known {
		return
	}
	if err := s.deps.Cache.Set(c.context, key, look.gen, body); err != nil {
		s.log.Warn().Str("request_id", c.requestID).Str("key", key).AnErr("error", err).Msg("product list cache set failed")
	}
}

// invalidateList drops every cached page after a write; a failure is logged
// (pages then expire with the cache TTL).
func (s *Server) invalidateList(c *call) {
	if s.deps.Cache == nil {
		return
	}
	if err := s.deps.Cache.Invalidate(c.context); err != nil {
		s.log.Warn().Str("request_id", c.requestID).AnErr("error", err).Msg("product list cache invalidate failed")
	}
}

// productDetail serves one product with live stock. An inactive product is
// visible to admins only; anyone else, including a caller with a bad token,
// gets not_found, so inactive ids are not revealed.
func (s *Server) productDetail(c *call) error {
	id, err := c.pathID()
	if err != nil {
		return err
	}
	p, err := s.deps.Products.Product(c.context, id)
	if err != nil {
		return fmt.Errorf("product %s: %w", id, err)
	}
	if !p.IsActive && c.requireAdmin() != nil {
		return fmt.Errorf("product %s: %w", id, engine.ErrNotFound)
	}
	c.ctx.Response.Header.Set(fasthttp.HeaderCacheControl, detailCacheControl)
	return c.respondProduct(fasthttp.StatusOK, p)
}

// createProduct adds a product (admin).
func (s *Server) createProduct(c *call) error {
	if err := c.requireAdmin(); err != nil {
		return err
	}
	var req productCreateRequest
	if err := c.decode(&req); err != nil {
		return err
	}
	now := productNow()
	id, err := engine.NewID(now, rand.Reader)
	if err != nil {
		return err
	}
	p, err := req.product(id, now)
	if err != nil {
		return err
	}
	if err := s.deps.Products.CreateProduct(c.context, p); err != nil {
		return fmt.Errorf("create product sku %q: %w", p.SKU, skuTaken(err))
	}
	s.invalidateList(c)
	return c.respondProduct(fasthttp.StatusCreated, p)
}

// patchProduct changes some catalogue fields (admin).
func (s *Server) patchProduct(c *call) error {
	if err := c.requireAdmin(); err != nil {
		return err
	}
	id, err := c.pathID()
	if err != nil {
		return err
	}
	var req productPatchRequest
	if err := c.decode(&req); err != nil {
		return err
	}
	pp, err := req.patch()
	if err != nil {
		return err
	}
	now := productNow()
	return s.updateProduct(c, id, func(p engine.Product) (engine.Product, error) { return p.Apply(pp, now) })
}

// restockProduct adds units to a product's stock (admin).
func (s *Server) restockProduct(c *call) error {
	if err := c.requireAdmin(); err != nil {
		return err
	}
	id, err := c.pathID()
	if err != nil {
		return err
	}
	var req restockRequest
	if err := c.decode(&req); err != nil {
		return err
	}
	quantity, err := req.quantity()
	if err != nil {
		return err
	}
	now := productNow()
	return s.updateProduct(c, id, func(p engine.Product) (engine.Product, error) { return p.Restock(quantity, now) })
}

// updateProduct applies change atomically, invalidates the list and answers
// with the stored product.
func (s *Server) updateProduct(c *call, id engine.ID, change func(engine.Product) (engine.Product, error)) error {
	p, err := s.deps.Products.UpdateProduct(c.context, id, change)
	if err != nil {
		return fmt.Errorf("update product %s: %w", id, skuTaken(err))
	}
	s.invalidateList(c)
	return c.respondProduct(fasthttp.StatusOK, p)
}

// skuTaken gives a conflict from a product write its client sentence: the
// SKU is the one unique value a client chooses. Other errors pass as they are.
func skuTaken(err error) error {
	if errors.Is(err, engine.ErrConflict) {
		return engine.WithDetail(err, "sku is already in use")
	}
	return err
}

// productNow is the time of a catalogue write, in UTC and truncated to what
// PostgreSQL stores (microseconds), so a response shows the same timestamps
// a later read returns.
func productNow() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// respondTagged answers 200 with body and a strong ETag computed from it, or
// 304 with no body when If-None-Match matches that tag.
func (c *call) respondTagged(body []byte) {
	tag := entityTag(body)
	c.ctx.Response.Header.Set(fasthttp.HeaderETag, tag)
	if noneMatch(c.ctx.Request.Header.PeekAll(fasthttp.HeaderIfNoneMatch), tag) {
		c.ctx.Response.ResetBody() // not ctx.NotModified: that drops X-Request-ID
		c.ctx.SetStatusCode(fasthttp.StatusNotModified)
		return
	}
	c.respondRaw(fasthttp.StatusOK, body)
}

// entityTag is a strong tag: 128 bits of the body's SHA-256.
func entityTag(body []byte) string {
	sum := sha256.Sum256(body)
	return `"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`
}

// noneMatch reports whether any If-None-Match header value matches tag:
// "*", or a listed tag equal to it under the weak comparison of RFC 9110
// section 8.8.3.2 (a W/ prefix is ignored). Our tags contain no commas, so a
// comma split cannot break one of them apart.
func noneMatch(headers [][]byte, tag string) bool {
	for _, h := range headers {
		for _, t := range bytes.Split(h, []byte(",")) {
			t = bytes.TrimSpace(t)
			if string(t) == "*" || string(bytes.TrimPrefix(t, []byte("W/"))) == tag {
				return true
			}
		}
	}
	return false
}
