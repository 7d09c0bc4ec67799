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
	expectPage := func(key, want string) {
		t.Helper()
		body, ok, err := c.Get(ctx, key)
		switch {
		case err != nil:
			t.Fatalf("Get(%q): %v", key, err)
		case want == "" && ok:
			t.Fatalf("Get(%q) = %q, want a miss", key, body)
		case want != "" && (!ok || string(body) != want):
			t.Fatalf("Get(%q) = %q, %v; want %q", key, body, ok, want)
		}
	}
	set := func(key, body string) {
		t.Helper()
		if err := c.Set(ctx, key, []byte(body)); err != nil {
			t.Fatalf("Set(%q): %v", key, err)
		}
	}
	invalidate := func() {
		t.Helper()
		if err := c.Invalidate(ctx); err != nil {
			t.Fatalf("Invalidate: %v", err)
		}
	}

	expectPage("limit=20", "")
	set("limit=20", "page one")
	set("limit=5", "page two")
	expectPage("limit=20", "page one")
	expectPage("limit=5", "page two")

	invalidate()
	expectPage("limit=20", "")
	expectPage("limit=5", "")

	set("limit=20", "page one v2")
	expectPage("limit=20", "page one v2")
	invalidate()
	invalidate()
	expectPage("limit=20", "")

	if err := c.Set(ctx, "huge", make([]byte, 2<<20)); err == nil {
		t.Error("Set of a 2 MiB page succeeded")
	}
}

// TestListCachePrefixes: caches with different prefixes (deployments,
// tests) do not see each other's pages or invalidations.
func TestListCachePrefixes(t *testing.T) {
	t.Parallel()
	a, b := openRedis(t, time.Minute).ListCache(), openRedis(t, time.Minute).ListCache()
	ctx := t.Context()
	if err := a.Set(ctx, "k", []byte("a")); err != nil {
		t.Fatal(err)
	}
	if err := b.Set(ctx, "k", []byte("b")); err != nil {
		t.Fatal(err)
	}
	if err := b.Invalidate(ctx); err != nil {
		t.Fatal(err)
	}
	if body, ok, err := a.Get(ctx, "k"); err != nil || !ok || string(body) != "a" {
		t.Errorf("a.Get after b.Invalidate = %q, %v, %v; want %q", body, ok, err, "a")
	}
}

func TestListCacheTTL(t *testing.T) {
	t.Parallel()
	c := openRedis(t, 50*time.Millisecond).ListCache()
	ctx := t.Context()
	if err := c.Set(ctx, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; {
		_, ok, err := c.Get(ctx, "k")
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
