package httpd

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flashstock/flashstock/engine"
)

// A cache hit must be exactly as safe as a parse: same bytes, same secret,
// same time checks.

// primedToken issues an access token and parses it once, which caches it.
func primedToken(t *testing.T, tk *tokens) string {
	t.Helper()
	raw, err := tk.issue(kindAccess, testUser)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tk.parse(raw); err != nil {
		t.Fatalf("fresh token refused: %v", err)
	}
	return raw
}

func TestTokenCacheRefusesExpiredCachedToken(t *testing.T) {
	tk := testTokens()
	raw := primedToken(t, tk)
	if n := tk.cache.len(); n != 1 {
		t.Fatalf("cache holds %d tokens after a good parse, want 1", n)
	}
	tk.now = func() time.Time { return time.Now().Add(15*time.Minute + tokenLeeway + time.Second) }
	_, err := tk.parse(raw)
	if !errors.Is(err, engine.ErrUnauthorized) || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("expired cached token: err = %v, want unauthorized: token expired", err)
	}
	if n := tk.cache.len(); n != 0 {
		t.Errorf("expired token still cached (%d entries)", n)
	}
}

func TestTokenCacheRechecksIssuedAt(t *testing.T) {
	tk := testTokens()
	raw := primedToken(t, tk)
	tk.now = func() time.Time { return time.Now().Add(-time.Minute) } // before iat - leeway
	if _, err := tk.parse(raw); !errors.Is(err, engine.ErrUnauthorized) {
		t.Fatalf("token used before it was issued: err = %v, want unauthorized", err)
	}
}

func TestTokenCacheOneByteOffIsNoHit(t *testing.T) {
	tk := testTokens()
	raw := primedToken(t, tk)
	for i := range len(raw) { // no variant is a hit
		b := []byte(raw)
		b[i] ^= 0x01
		if _, hit := tk.cache.get(b); hit {
			t.Fatalf("byte %d flipped: cache hit", i)
		}
	}
	// Variants in the header, the payload and the signature are refused.
	// (Not the signature's last character: base64 decoding ignores its two
	// spare bits, so the parser itself accepts some of its variants.)
	for _, i := range []int{0, len(raw) / 2, strings.LastIndexByte(raw, '.') + 1} {
		b := []byte(raw)
		b[i] ^= 0x01
		if c, err := tk.parseBytes(b); !errors.Is(err, engine.ErrUnauthorized) {
			t.Errorf("byte %d flipped: accepted (%+v) or wrong error %v", i, c, err)
		}
	}
	for _, other := range []string{raw + "A", raw[:len(raw)-1], " " + raw} {
		if c, err := tk.parse(other); !errors.Is(err, engine.ErrUnauthorized) {
			t.Errorf("%q: accepted (%+v) or wrong error %v", other, c, err)
		}
	}
	if n := tk.cache.len(); n != 1 {
		t.Errorf("cache holds %d tokens, want only the good one", n)
	}
}

func TestTokenCacheIsPerSecret(t *testing.T) {
	tk := testTokens()
	raw := primedToken(t, tk)
	other := newTokens(Config{JWTSecret: []byte("another-secret-another-secret-32"), AccessTTL: time.Minute, RefreshTTL: time.Hour})
	if _, err := other.parse(raw); !errors.Is(err, engine.ErrUnauthorized) {
		t.Fatalf("a service with another secret accepted the token: %v", err)
	}
}

func TestTokenCacheIsBounded(t *testing.T) {
	tk := testTokens()
	const entriesMax = 4
	tk.cache = newTokenCache(entriesMax)
	var raws []string
	for range 3 * entriesMax {
		raw, err := tk.issue(kindAccess, testUser)
		if err != nil {
			t.Fatal(err)
		}
		raws = append(raws, raw)
		if _, err := tk.parse(raw); err != nil {
			t.Fatal(err)
		}
		if n := tk.cache.len(); n > entriesMax {
			t.Fatalf("cache holds %d tokens, bound %d", n, entriesMax)
		}
	}
	for i, raw := range raws { // evicted or not, every token still verifies
		if c, err := tk.parse(raw); err != nil || c.UserID != testUser.ID {
			t.Errorf("token %d after eviction: %+v, %v", i, c, err)
		}
	}
}

func TestTokenCacheEvictsExpiredFirst(t *testing.T) {
	c := newTokenCache(2)
	now := time.Now()
	c.put("old", cachedToken{validUntil: now.Add(-time.Second)}, now)
	c.put("live", cachedToken{validUntil: now.Add(time.Hour)}, now)
	c.put("new", cachedToken{validUntil: now.Add(time.Hour)}, now)
	if _, ok := c.get([]byte("old")); ok {
		t.Error("the expired entry survived eviction")
	}
	for _, k := range []string{"live", "new"} {
		if _, ok := c.get([]byte(k)); !ok {
			t.Errorf("%s evicted while an expired entry was there", k)
		}
	}
}

func TestTokenCacheConcurrentUse(t *testing.T) {
	tk := testTokens()
	raw, err := tk.issue(kindAccess, testUser)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				if c, err := tk.parseKindBytes([]byte(raw), kindAccess); err != nil || c.UserID != testUser.ID {
					t.Errorf("parse: %+v, %v", c, err)
					return
				}
			}
		})
	}
	wg.Wait()
}
