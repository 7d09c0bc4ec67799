package persist

import (
	"context"
	"errors"
	"fmt"

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
// Invalidate increments the generation; Get and Set each read the
// generation and then touch the page key of that generation, inside one Lua
// script: one round trip, and atomic, since Redis runs a script with no other
// command in between.
//
// Why no Get returns a page Set before an Invalidate that has returned: that
// Set's script ran entirely before the INCR, so it wrote under some
// generation g' ≤ g, where g+1 is the value the INCR produced. The
// generation only grows (nothing but INCR writes it, and it has no TTL), so a
// Get whose script runs after the INCR reads a generation ≥ g+1 and looks
// only at keys of that generation, never at g'. Old pages are not deleted;
// they expire after ListTTL. The argument needs the generation key to
// survive: it has no TTL, so volatile-* eviction never picks it, and it is
// read by every Get, so LRU/LFU eviction would pick the pages first; a
// FLUSH removes the pages along with it.
//
// What it does not promise: a page rendered from a database read that began
// before an Invalidate but Set after it is stored under the new generation
// and may be served until ListTTL. ListTTL bounds that staleness.
//
// ListCache needs a standalone Redis (the scripts touch keys they compute,
// which Redis Cluster forbids). It is safe for concurrent use.
type ListCache struct {
	client  *redis.Client
	genKey  string
	pageKey string // prefix of page keys, before "<gen>:<key>"
	ttlMs   int64
}

// getPage returns the page of the current generation, or nil.
// KEYS[1] = generation key; ARGV = page key prefix, page key.
var getPage = redis.NewScript(`
local gen = redis.call('GET', KEYS[1]) or '0'
return redis.call('GET', ARGV[1] .. gen .. ':' .. ARGV[2])`)

// setPage stores a page under the current generation.
// KEYS[1] = generation key; ARGV = page key prefix, page key, body, TTL in ms.
var setPage = redis.NewScript(`
local gen = redis.call('GET', KEYS[1]) or '0'
redis.call('SET', ARGV[1] .. gen .. ':' .. ARGV[2], ARGV[3], 'PX', ARGV[4])
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

// Get returns the page cached under key in the current generation, if any.
// Redis failures are engine.ErrUnavailable.
func (c *ListCache) Get(ctx context.Context, key string) ([]byte, bool, error) {
	body, err := getPage.Run(ctx, c.client, []string{c.genKey}, c.pageKey, key).Text()
	switch {
	case errors.Is(err, redis.Nil):
		return nil, false, nil
	case err != nil:
		return nil, false, wrapRedisError("list cache get", err)
	}
	return []byte(body), true, nil
}

// Set stores body under key in the current generation for ListTTL. A body
// over pageBytesMax is refused with engine.ErrInvalid.
func (c *ListCache) Set(ctx context.Context, key string, body []byte) error {
	if len(body) > pageBytesMax {
		return fmt.Errorf("list cache set: %w", engine.Invalid("body", "larger than the cache accepts"))
	}
	err := setPage.Run(ctx, c.client, []string{c.genKey}, c.pageKey, key, body, c.ttlMs).Err()
	if err != nil {
		return wrapRedisError("list cache set", err)
	}
	return nil
}

// Invalidate starts a new generation: once it returns, no Get returns a
// page Set before it.
func (c *ListCache) Invalidate(ctx context.Context) error {
	if err := c.client.Incr(ctx, c.genKey).Err(); err != nil {
		return wrapRedisError("list cache invalidate", err)
	}
	return nil
}
