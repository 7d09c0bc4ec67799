package persist

import (
	"context"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/flashstock/flashstock/engine"
)

// pageBytesMax is the largest page the list cache stores; a bigger one is
// refused (the caller treats that as "not cached").
const pageBytesMax = 1 << 20

// ListCache keeps rendered product-list pages in Redis, under a generation
// number:
//
//	<prefix>products:gen                 the generation, an integer (missing = 0)
//	<prefix>products:list:<gen>:<key>    one page, expiring after ListTTL
//
// Invalidate increments the generation. Get reads the generation and the
// page key of that generation, and returns the generation it saw; Set takes
// that generation back and stores the page only if the generation still
// equals it. Each runs as one Lua script: one round trip, and atomic, since
// Redis runs a script with no other command in between.
//
// The promise: once an Invalidate has returned, no Get returns a page
// rendered from a database read that began before that Invalidate's write
// committed.
//
// Why. Handlers Get before they read the database, and writers commit
// before they Invalidate. Set stores a page only under the generation it is
// given, and only if that is still the current one; the generation only
// grows (nothing but INCR writes it, and it has no TTL), so a page is stored
// only if no Invalidate ran between the Get that observed gen and the Set.
// A stored page was therefore read after every write whose Invalidate
// preceded the Set: such an Invalidate also preceded the Get, hence the
// read. Now take an Invalidate whose INCR produced g+1. A Get whose script
// runs after the INCR reads a generation h ≥ g+1 and looks only at keys of
// h; a page there was Set with h, which a Get returned after the INCR, so
// it was read after the Invalidate's write committed. Old pages are not
// deleted; they expire after ListTTL.
//
// The argument needs the generation key to survive: it has no TTL, so
// volatile-* eviction never picks it, and it is read by every Get, so
// LRU/LFU eviction would pick the pages first; a FLUSH removes the pages
// along with it. A writer whose Invalidate fails leaves its change invisible
// until ListTTL; ListTTL bounds that staleness.
//
// ListCache needs a standalone Redis (the scripts touch keys they compute,
// which Redis Cluster forbids). It is safe for concurrent use.
type ListCache struct {
	client  *redis.Client
	genKey  string
	pageKey string // prefix of page keys, before "<gen>:<key>"
	ttlMs   int64
}

// getPage returns {generation, page}, the page being false when absent. The
// generation travels as the decimal string Redis stores, so it is compared
// exactly, never through a Lua number.
// KEYS[1] = generation key; ARGV = page key prefix, page key.
var getPage = redis.NewScript(`
local gen = redis.call('GET', KEYS[1]) or '0'
return {gen, redis.call('GET', ARGV[1] .. gen .. ':' .. ARGV[2])}`)

// setPage stores a page under generation ARGV[3] if that is still the
// current generation, and returns 1; otherwise it returns 0 and stores
// nothing.
// KEYS[1] = generation key; ARGV = page key prefix, page key, generation,
// body, TTL in ms.
var setPage = redis.NewScript(`
local gen = redis.call('GET', KEYS[1]) or '0'
if gen ~= ARGV[3] then
	return 0
end
redis.call('SET', ARGV[1] .. gen .. ':' .. ARGV[2], ARGV[4], 'PX', ARGV[5])
return 1`)

// ListCache returns the product-list cache on r.
func (r *Redis) ListCache() *ListCache {
	return &ListCache{
		client:  r.client,
		genKey:  r.cfg.Prefix + "products:gen",
		pageKey: r.cfg.Prefix + "products:list:",
		ttlMs:   r.cfg.ListTTL.Milliseconds(),
	}
}

// Get returns the page cached under key in the current generation, if any,
// and that generation, to hand to Set on a miss. Redis failures are
// engine.ErrUnavailable.
func (c *ListCache) Get(ctx context.Context, key string) (body []byte, gen int64, ok bool, err error) {
	reply, err := getPage.Run(ctx, c.client, []string{c.genKey}, c.pageKey, key).Slice()
	if err != nil {
		return nil, 0, false, wrapRedisError("list cache get", err)
	}
	return parsePageReply(reply)
}

// parsePageReply decodes getPage's {generation, page-or-false}. Lua's false
// arrives as a nil under RESP2 and as a boolean under RESP3.
func parsePageReply(reply []any) (body []byte, gen int64, ok bool, err error) {
	if len(reply) != 2 {
		return nil, 0, false, fmt.Errorf("list cache get: reply of %d elements, want 2", len(reply))
	}
	genText, isText := reply[0].(string)
	if !isText {
		return nil, 0, false, fmt.Errorf("list cache get: generation of type %T", reply[0])
	}
	gen, err = strconv.ParseInt(genText, 10, 64)
	if err != nil {
		return nil, 0, false, fmt.Errorf("list cache get: generation: %w", err)
	}
	switch page := reply[1].(type) {
	case string:
		return []byte(page), gen, true, nil
	case nil, bool:
		return nil, gen, false, nil
	default:
		return nil, 0, false, fmt.Errorf("list cache get: page of type %T", page)
	}
}

// Set stores body under key for ListTTL if gen, as returned by a Get, is
// still the current generation; if an Invalidate ran since, body may have
// been rendered from data older than that Invalidate's write, and Set
// silently stores nothing. A body over pageBytesMax is refused with
// engine.ErrInvalid.
func (c *ListCache) Set(ctx context.Context, key string, gen int64, body []byte) error {
	if len(body) > pageBytesMax {
		return fmt.Errorf("list cache set: %w", engine.Invalid("body", "larger than the cache accepts"))
	}
	err := setPage.Run(ctx, c.client, []string{c.genKey}, c.pageKey, key, gen, body, c.ttlMs).Err()
	if err != nil {
		return wrapRedisError("list cache set", err)
	}
	return nil
}

// Invalidate starts a new generation: once it returns, no Get returns a
// page Set before it, and no Set given an older generation stores anything.
func (c *ListCache) Invalidate(ctx context.Context) error {
	if err := c.client.Incr(ctx, c.genKey).Err(); err != nil {
		return wrapRedisError("list cache invalidate", err)
	}
	return nil
}
