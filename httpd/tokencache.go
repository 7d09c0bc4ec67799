package httpd

import (
	"sync"
	"time"
)

// A cache of verified tokens. Verifying a token (HMAC plus golang-jwt's
// json.Unmarshal of the claims) was a fifth of the CPU of an order, and a
// client sends the same access token with every request until it expires.
//
// Safety: the key is the whole raw token, compared byte for byte, and an
// entry is only ever made from a token the parser accepted with this
// service's one secret; so a hit is the same bytes the parser already
// verified, and their signature is still good. What can change with time
// is checked on every hit exactly as the parser checks it (exp with the
// leeway; iat and nbf with the leeway), against tokens.now. An entry is
// dropped once its token has expired. Failures are never cached: a bad
// token costs a parse every time, as before.
//
// An entry also remembers when the user its token names was last found in
// the store (Server.confirmUser): a validly signed token for a user that
// does not exist, or no longer does, authenticates nothing, and checking
// that costs one read per token and per tokenUserRecheck, not one per
// request.

const (
	// tokenCacheEntriesMax bounds the cache: about 25 MB of our ~350-byte
	// tokens when full. Only tokens we signed get in, so its size follows
	// the number of logged-in clients, not anything a stranger can send.
	tokenCacheEntriesMax = 65536
	// tokenCacheEvictScanMax bounds the work of making room for one entry
	// in a full cache: at most this many entries are looked at.
	tokenCacheEvictScanMax = 64
)

// cachedToken is a verified token's claims and the times it is valid
// between: [validFrom, validUntil), leeway included.
type cachedToken struct {
	claims     tokenClaims
	validFrom  time.Time // latest of iat and nbf, minus the leeway; zero = none
	validUntil time.Time // exp plus the leeway
}

// tokenCache maps raw tokens to their verified claims. It is safe for
// concurrent use.
type tokenCache struct {
	entriesMax int

	mu      sync.RWMutex
	entries map[string]cachedToken // guarded by mu
}

func newTokenCache(entriesMax int) *tokenCache {
	return &tokenCache{entriesMax: entriesMax, entries: make(map[string]cachedToken)}
}

// get returns the cached entry of raw. It does not allocate: the map lookup
// with string(raw) does not copy raw.
func (c *tokenCache) get(raw []byte) (cachedToken, bool) {
	c.mu.RLock()
	e, ok := c.entries[string(raw)]
	c.mu.RUnlock()
	return e, ok
}

// put caches raw's verified entry, making room first if the cache is full:
// expired entries among the first tokenCacheEvictScanMax go, and if none
// had, one of those scanned does (map order is random, so that is a random
// entry).
func (c *tokenCache) put(raw string, e cachedToken, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[raw]; !ok && len(c.entries) >= c.entriesMax {
		c.evictLocked(now)
	}
	c.entries[raw] = e
}

// evictLocked frees at least one entry. mu held.
func (c *tokenCache) evictLocked(now time.Time) {
	scanned, freed := 0, 0
	var victim string
	for raw, e := range c.entries {
		if !now.Before(e.validUntil) {
			delete(c.entries, raw)
			freed++
		} else if scanned == 0 {
			victim = raw
		}
		if scanned++; scanned >= tokenCacheEvictScanMax {
			break
		}
	}
	if freed == 0 {
		delete(c.entries, victim)
	}
}

// seen records that the user raw's token names was found at now, if raw
// is still cached.
func (c *tokenCache) seen(raw []byte, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[string(raw)]; ok {
		e.claims.userSeen = now
		c.entries[string(raw)] = e
	}
}

// drop removes raw's entry (its token expired, or its user is gone).
func (c *tokenCache) drop(raw []byte) {
	c.mu.Lock()
	delete(c.entries, string(raw))
	c.mu.Unlock()
}

// len returns the number of cached tokens.
func (c *tokenCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}
