package persist_test

import (
	"errors"
	"testing"
	"time"

	"github.com/flashstock/flashstock/engine"
	"github.com/flashstock/flashstock/internal/testenv"
	"github.com/flashstock/flashstock/persist"
)

func openRedis(t *testing.T, ttl time.Duration) *persist.Redis {
	t.Helper()
	url, prefix := testenv.RedisURL(t)
	r, err := persist.OpenRedis(t.Context(), persist.RedisConfig{URL: url, Prefix: prefix, ListTTL: ttl})
	if err != nil {
		t.Fatalf("OpenRedis: %v", err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Error(err)
		}
	})
	return r
}

func TestRedisConfigValidate(t *testing.T) {
	t.Parallel()
	url := "redis://:secret@127.0.0.1:6379/0"
	tests := []struct {
		name string
		cfg  persist.RedisConfig
		ok   bool
	}{
		{"defaults", persist.RedisConfig{URL: url}, true},
		{"no url", persist.RedisConfig{}, false},
		{"bad url", persist.RedisConfig{URL: "http://x"}, false},
		{"negative ttl", persist.RedisConfig{URL: url, ListTTL: -time.Second}, false},
		{"huge ttl", persist.RedisConfig{URL: url, ListTTL: 48 * time.Hour}, false},
		{"negative pool", persist.RedisConfig{URL: url, PoolSize: -1}, false},
		{"negative timeout", persist.RedisConfig{URL: url, ReadTimeout: -1}, false},
	}
	for _, tt := range tests {
		if err := tt.cfg.Validate(); (err == nil) != tt.ok {
			t.Errorf("%s: Validate() = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
	if r := (persist.RedisConfig{URL: url}).Redacted(); r.URL == url {
		t.Errorf("Redacted kept the password: %q", r.URL)
	}
}

func TestOpenRedisUnreachableIsUnavailable(t *testing.T) {
	t.Parallel()
	_, err := persist.OpenRedis(t.Context(), persist.RedisConfig{URL: "redis://127.0.0.1:1/0"})
	if !errors.Is(err, engine.ErrUnavailable) {
		t.Fatalf("OpenRedis(port 1) = %v, want ErrUnavailable", err)
	}
}

func TestListCache(t *testing.T) {
	t.Parallel()
	r := openRedis(t, time.Minute)
	if err := r.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	c := r.ListCache()
	ctx := t.Context()
	// expectPage checks the page under key ("" = a miss) and returns the
	// generation Get saw.
	expectPage := func(key, want string) int64 {
		t.Helper()
		body, gen, ok, err := c.Get(ctx, key)
		switch {
		case err != nil:
			t.Fatalf("Get(%q): %v", key, err)
		case want == "" && ok:
			t.Fatalf("Get(%q) = %q, want a miss", key, body)
		case want != "" && (!ok || string(body) != want):
			t.Fatalf("Get(%q) = %q, %v; want %q", key, body, ok, want)
		}
		return gen
	}
	set := func(key string, gen int64, body string) {
		t.Helper()
		if err := c.Set(ctx, key, gen, []byte(body)); err != nil {
			t.Fatalf("Set(%q, %d): %v", key, gen, err)
		}
	}
	invalidate := func() {
		t.Helper()
		if err := c.Invalidate(ctx); err != nil {
			t.Fatalf("Invalidate: %v", err)
		}
	}

	gen := expectPage("limit=20", "")
	if gen != 0 {
		t.Fatalf("first generation = %d, want 0", gen)
	}
	set("limit=20", gen, "page one")
	set("limit=5", gen, "page two")
	expectPage("limit=20", "page one")
	expectPage("limit=5", "page two")

	invalidate()
	expectPage("limit=20", "")
	if gen = expectPage("limit=5", ""); gen != 1 {
		t.Fatalf("generation after one Invalidate = %d, want 1", gen)
	}

	set("limit=20", gen, "page one v2")
	expectPage("limit=20", "page one v2")
	invalidate()
	invalidate()
	expectPage("limit=20", "")

	if err := c.Set(ctx, "huge", expectPage("huge", ""), make([]byte, 2<<20)); err == nil {
		t.Error("Set of a 2 MiB page succeeded")
	}
}

// TestListCacheSetAfterInvalidateIsDropped is the race the generation
// argument of Set closes: a handler misses, reads the database, a write
// commits and invalidates, and then the handler stores what it read. That
// page may predate the write, so it must not be stored.
func TestListCacheSetAfterInvalidateIsDropped(t *testing.T) {
	t.Parallel()
	c := openRedis(t, time.Minute).ListCache()
	ctx := t.Context()
	get := func() (string, int64, bool) {
		t.Helper()
		body, gen, ok, err := c.Get(ctx, "k")
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		return string(body), gen, ok
	}

	_, gen, ok := get()
	if ok {
		t.Fatal("first Get hit")
	}
	if err := c.Invalidate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, "k", gen, []byte("stale")); err != nil {
		t.Fatalf("Set with an outdated generation = %v, want a silent no-op", err)
	}
	body, fresh, ok := get()
	if ok {
		t.Fatalf("Get after Invalidate then Set(%d) = %q, want a miss", gen, body)
	}
	if fresh != gen+1 {
		t.Fatalf("generation after Invalidate = %d, want %d", fresh, gen+1)
	}

	if err := c.Set(ctx, "k", fresh, []byte("fresh")); err != nil {
		t.Fatal(err)
	}
	if body, _, ok := get(); !ok || body != "fresh" {
		t.Fatalf("Get after Set(%d) = %q, %v; want %q", fresh, body, ok, "fresh")
	}
	// A generation from the future (never returned by Get) stores nothing
	// either.
	if err := c.Set(ctx, "k", fresh+1, []byte("future")); err != nil {
		t.Fatal(err)
	}
	if body, _, _ := get(); body != "fresh" {
		t.Fatalf("Get after Set(%d) = %q, want %q", fresh+1, body, "fresh")
	}
}

// TestListCachePrefixes: caches with different prefixes (deployments,
// tests) do not see each other's pages or invalidations.
func TestListCachePrefixes(t *testing.T) {
	t.Parallel()
	a, b := openRedis(t, time.Minute).ListCache(), openRedis(t, time.Minute).ListCache()
	ctx := t.Context()
	if err := a.Set(ctx, "k", 0, []byte("a")); err != nil {
		t.Fatal(err)
	}
	if err := b.Set(ctx, "k", 0, []byte("b")); err != nil {
		t.Fatal(err)
	}
	if err := b.Invalidate(ctx); err != nil {
		t.Fatal(err)
	}
	if body, gen, ok, err := a.Get(ctx, "k"); err != nil || !ok || string(body) != "a" || gen != 0 {
		t.Errorf("a.Get after b.Invalidate = %q, generation %d, %v, %v; want %q in generation 0", body, gen, ok, err, "a")
	}
}

func TestListCacheTTL(t *testing.T) {
	t.Parallel()
	c := openRedis(t, 50*time.Millisecond).ListCache()
	ctx := t.Context()
	if err := c.Set(ctx, "k", 0, []byte("v")); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; {
		_, _, ok, err := c.Get(ctx, "k")
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("page still cached 5s after a 50ms TTL")
		}
		time.Sleep(10 * time.Millisecond) // polling interval, not synchronisation
	}
}
