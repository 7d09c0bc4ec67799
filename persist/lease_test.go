package persist_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flashstock/flashstock/engine"
	"github.com/flashstock/flashstock/internal/devenv"
	"github.com/flashstock/flashstock/internal/testenv"
	"github.com/flashstock/flashstock/persist"
)

// newLeases opens a lease store over urls.
func newLeases(t *testing.T, urls []string, prefix string, ttl time.Duration) *persist.Leases {
	t.Helper()
	l, err := persist.NewLeases(persist.LeaseConfig{URLs: urls, Prefix: prefix, TTL: ttl})
	if err != nil {
		t.Fatalf("NewLeases: %v", err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// leaseRedis returns two lease stores (two nodes' views) over the test
// Redis, a raw client on it and the test's key prefix.
func leaseRedis(t *testing.T, ttl time.Duration) (a, b *persist.Leases, raw *redis.Client, prefix string) {
	t.Helper()
	url, prefix := testenv.RedisURL(t)
	raw = redis.NewClient(mustParseRedisURL(t, url))
	t.Cleanup(func() { _ = raw.Close() })
	return newLeases(t, []string{url}, prefix, ttl), newLeases(t, []string{url}, prefix, ttl), raw, prefix
}

// throwawayRedis starts a private Redis server, stopped when the test ends.
func throwawayRedis(t *testing.T) *devenv.Redis {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	r, err := devenv.StartRedis(ctx, devenv.RedisConfig{})
	if err != nil {
		t.Fatalf("StartRedis: %v", err)
	}
	t.Cleanup(func() { _ = r.Stop(context.Background()) })
	return r
}

func stopRedis(t *testing.T, r *devenv.Redis) {
	t.Helper()
	if err := r.Stop(t.Context()); err != nil {
		t.Fatalf("stop redis: %v", err)
	}
}

func mustAcquire(t *testing.T, l *persist.Leases, shard int, node string) engine.Lease {
	t.Helper()
	lease, err := l.TryAcquire(t.Context(), shard, node, "http://"+node+":8080")
	if err != nil {
		t.Fatalf("TryAcquire(%d, %s): %v", shard, node, err)
	}
	return lease
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got %v, want %v", what, err, want)
	}
}

func wantHolder(t *testing.T, l *persist.Leases, shard int, node string) {
	t.Helper()
	got, err := l.Holder(t.Context(), shard)
	want := engine.Lease{Shard: shard, Node: node, URL: "http://" + node + ":8080"}
	if err != nil || got != want {
		t.Fatalf("Holder(%d) = %+v, %v; want %+v", shard, got, err, want)
	}
}

func TestLeaseConfigValidate(t *testing.T) {
	t.Parallel()
	u := func(n int) []string {
		urls := make([]string, n)
		for i := range urls {
			urls[i] = "redis://127.0.0.1:" + strconv.Itoa(6379+i) + "/0"
		}
		return urls
	}
	ok := persist.LeaseConfig{URLs: u(1), Prefix: "flashstock:", TTL: 10 * time.Second}
	for name, tc := range map[string]struct {
		edit func(*persist.LeaseConfig)
		want string // "" = valid
	}{
		"one server":       {func(*persist.LeaseConfig) {}, ""},
		"three servers":    {func(c *persist.LeaseConfig) { c.URLs = u(3) }, ""},
		"four servers":     {func(c *persist.LeaseConfig) { c.URLs = u(4) }, ""},
		"shortest TTL":     {func(c *persist.LeaseConfig) { c.TTL = time.Second }, ""},
		"no server":        {func(c *persist.LeaseConfig) { c.URLs = nil }, "at least one"},
		"two servers":      {func(c *persist.LeaseConfig) { c.URLs = u(2) }, "no quorum"},
		"too many servers": {func(c *persist.LeaseConfig) { c.URLs = u(persist.LeaseURLsMax + 1) }, "at most"},
		"listed twice": {func(c *persist.LeaseConfig) {
			c.URLs = []string{u(1)[0], u(2)[1], u(1)[0]}
		}, "listed twice"},
		"bad URL":       {func(c *persist.LeaseConfig) { c.URLs = []string{"http://x"} }, "does not parse"},
		"no prefix":     {func(c *persist.LeaseConfig) { c.Prefix = "" }, "prefix"},
		"TTL too short": {func(c *persist.LeaseConfig) { c.TTL = 999 * time.Millisecond }, "TTL"},
		"TTL too long":  {func(c *persist.LeaseConfig) { c.TTL = persist.LeaseTTLMax + time.Second }, "TTL"},
	} {
		c := ok
		tc.edit(&c)
		err := c.Validate()
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: Validate() = %v, want %q", name, err, tc.want)
		}
		if _, nerr := persist.NewLeases(c); (nerr == nil) != (err == nil) {
			t.Errorf("%s: NewLeases = %v, Validate = %v", name, nerr, err)
		}
	}
	red := persist.LeaseConfig{URLs: []string{"redis://user:secret@127.0.0.1:6379/0"}}.Redacted()
	if strings.Contains(red.URLs[0], "secret") {
		t.Errorf("Redacted kept the password: %s", red.URLs[0])
	}
}

// TestLeaseArgumentsAreChecked: bad shards, node ids and URLs are refused
// before any I/O (the server here does not exist).
func TestLeaseArgumentsAreChecked(t *testing.T) {
	t.Parallel()
	l := newLeases(t, []string{"redis://127.0.0.1:1/0"}, "p:", time.Second)
	ctx := t.Context()
	for name, err := range map[string]error{
		"negative shard": second(l.TryAcquire(ctx, -1, "n1", "http://n1")),
		"shard too big":  second(l.TryAcquire(ctx, engine.ShardsMax, "n1", "http://n1")),
		"empty node":     second(l.TryAcquire(ctx, 0, "", "http://n1")),
		"node with LF":   second(l.TryAcquire(ctx, 0, "n\n1", "http://n1")),
		"long node":      second(l.TryAcquire(ctx, 0, strings.Repeat("n", 129), "http://n1")),
		"empty URL":      second(l.TryAcquire(ctx, 0, "n1", "")),
		"no token":       second(l.Extend(ctx, engine.Lease{Shard: 0, Node: "n1", URL: "http://n1", Until: time.Now().Add(time.Hour)})),
		"release token":  l.Release(ctx, engine.Lease{Shard: 0, Node: "n1", URL: "http://n1"}),
		"announce":       l.Announce(ctx, "", "http://n1"),
		"withdraw":       l.Withdraw(ctx, ""),
	} {
		if !errors.Is(err, engine.ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", name, err)
		}
	}
}

func second[T any](_ T, err error) error { return err }

// TestLeaseAcquire: the lease is held under <prefix>shard:<n> with a value
// naming the node, its URL and the token, expiring after the TTL; another
// node's try is a conflict; Holder names the owner without the token.
func TestLeaseAcquire(t *testing.T) {
	t.Parallel()
	const ttl = 10 * time.Second
	a, b, raw, prefix := leaseRedis(t, ttl)
	ctx := t.Context()

	before := time.Now()
	lease := mustAcquire(t, a, 3, "n1")
	if lease.Shard != 3 || lease.Node != "n1" || lease.URL != "http://n1:8080" || lease.Token == "" ||
		!lease.Until.After(time.Now()) || lease.Until.After(before.Add(ttl)) {
		t.Fatalf("lease = %+v; want shard 3 of n1 with a token, valid for at most %s", lease, ttl)
	}
	var value struct{ Node, URL, Token string }
	s, err := raw.Get(ctx, prefix+"shard:3").Result()
	if err != nil || json.Unmarshal([]byte(s), &value) != nil ||
		value.Node != "n1" || value.URL != "http://n1:8080" || value.Token != lease.Token {
		t.Fatalf("value of %sshard:3 = %q, %v; want node n1, its URL and the token", prefix, s, err)
	}
	if pttl, err := raw.PTTL(ctx, prefix+"shard:3").Result(); err != nil || pttl <= 0 || pttl > ttl {
		t.Fatalf("PTTL = %v, %v; want within %s", pttl, err, ttl)
	}

	_, err = b.TryAcquire(ctx, 3, "n2", "http://n2:8080")
	wantErr(t, "second node's TryAcquire", err, engine.ErrConflict)
	_, err = a.TryAcquire(ctx, 3, "n1", "http://n1:8080")
	wantErr(t, "the holder's second TryAcquire", err, engine.ErrConflict)
	wantHolder(t, b, 3, "n1")
	mustAcquire(t, b, 4, "n2") // another shard is another lease
	wantHolder(t, a, 4, "n2")

	_, err = a.Holder(ctx, 5)
	wantErr(t, "Holder of a free shard", err, engine.ErrNotFound)
	if err := raw.Set(ctx, prefix+"shard:6", "not a lease", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err = a.Holder(ctx, 6); err == nil || errors.Is(err, engine.ErrNotFound) || errors.Is(err, engine.ErrUnavailable) {
		t.Fatalf("Holder of a foreign value = %v; want an internal error", err)
	}
}

// TestLeaseExtendOutlivesTTL: renewed every TTL/3, the lease is still held
// well past its first validity, and each renewal moves Until on.
func TestLeaseExtendOutlivesTTL(t *testing.T) {
	t.Parallel()
	const ttl = 2 * time.Second
	a, b, raw, prefix := leaseRedis(t, ttl)
	ctx := t.Context()
	first := mustAcquire(t, a, 1, "n1")
	lease := first
	renewals := time.NewTicker(ttl / 3) // the renewal cadence under test, not a wait
	defer renewals.Stop()
	for time.Now().Before(first.Until.Add(ttl)) {
		<-renewals.C
		next, err := a.Extend(ctx, lease)
		if err != nil {
			t.Fatalf("Extend: %v", err)
		}
		if !next.Until.After(lease.Until) || next.Token != lease.Token {
			t.Fatalf("Extend: Until %v after %v, token %q after %q; want a later Until, the same token",
				next.Until, lease.Until, next.Token, lease.Token)
		}
		lease = next
	}
	if n, err := raw.Exists(ctx, prefix+"shard:1").Result(); err != nil || n != 1 {
		t.Fatalf("lease key after renewals: exists %d, %v", n, err)
	}
	_, err := b.TryAcquire(ctx, 1, "n2", "http://n2:8080")
	wantErr(t, "TryAcquire of a renewed lease", err, engine.ErrConflict)
	wantHolder(t, b, 1, "n1")
	if err := a.Release(ctx, lease); err != nil {
		t.Fatalf("Release: %v", err)
	}
	mustAcquire(t, b, 1, "n2")
}

// TestLeaseExpiresWithoutRenewal: a lease not renewed expires; another node
// takes it, and the first holder's Extend and Release are refused as lost.
func TestLeaseExpiresWithoutRenewal(t *testing.T) {
	t.Parallel()
	a, b, _, _ := leaseRedis(t, time.Second)
	ctx := t.Context()
	old := mustAcquire(t, a, 2, "n1")
	var taken engine.Lease
	waitFor(t, "the unrenewed lease to expire", func() bool {
		var err error
		taken, err = b.TryAcquire(ctx, 2, "n2", "http://n2:8080")
		if err != nil && !errors.Is(err, engine.ErrConflict) {
			t.Fatalf("TryAcquire: %v", err)
		}
		return err == nil
	})
	if time.Now().Before(old.Until) {
		t.Fatalf("the lease was taken before its holder's validity ran out (%v)", old.Until)
	}
	_, err := a.Extend(ctx, old)
	wantErr(t, "the old holder's Extend", err, engine.ErrLeaseLost)
	wantErr(t, "the old holder's Release", a.Release(ctx, old), engine.ErrLeaseLost)
	wantHolder(t, a, 2, "n2")
	if _, err := b.Extend(ctx, taken); err != nil {
		t.Fatalf("the new holder's Extend: %v", err)
	}
}

// TestLeaseExtendNeverRetakes: a lease gone from Redis while its holder
// still counts on it (expired there, or lost with a server's data) is lost,
// never quietly set again; once another node holds it, the old holder
// neither renews nor releases it.
func TestLeaseExtendNeverRetakes(t *testing.T) {
	t.Parallel()
	a, b, raw, prefix := leaseRedis(t, 10*time.Second)
	ctx := t.Context()
	key := prefix + "shard:9"
	lease := mustAcquire(t, a, 9, "n1")
	if err := raw.Del(ctx, key).Err(); err != nil {
		t.Fatal(err)
	}
	_, err := a.Extend(ctx, lease)
	wantErr(t, "Extend of a vanished lease", err, engine.ErrLeaseLost)
	if n, err := raw.Exists(ctx, key).Result(); err != nil || n != 0 {
		t.Fatalf("Extend set the vanished lease again (exists %d, %v)", n, err)
	}
	_, err = a.Holder(ctx, 9)
	wantErr(t, "Holder", err, engine.ErrNotFound)

	mustAcquire(t, b, 9, "n2")
	_, err = a.Extend(ctx, lease)
	wantErr(t, "Extend of a lease another node took", err, engine.ErrLeaseLost)
	wantHolder(t, a, 9, "n2")
}

// TestLeaseExtendAfterValidityIsLost: a holder whose validity ran out (it
// was paused, or its renewals were late) may already have been replaced by
// its own clock's reckoning: Extend refuses, even though Redis still holds
// its value, and leaves the key to expire.
func TestLeaseExtendAfterValidityIsLost(t *testing.T) {
	t.Parallel()
	const ttl = 10 * time.Second
	a, _, raw, prefix := leaseRedis(t, ttl)
	ctx := t.Context()
	lease := mustAcquire(t, a, 4, "n1")
	if err := raw.PExpire(ctx, prefix+"shard:4", ttl/2).Err(); err != nil {
		t.Fatal(err)
	}
	late := lease
	late.Until = time.Now().Add(-time.Millisecond)
	_, err := a.Extend(ctx, late)
	wantErr(t, "Extend past Until", err, engine.ErrLeaseLost)
	if pttl, err := raw.PTTL(ctx, prefix+"shard:4").Result(); err != nil || pttl > ttl/2 {
		t.Fatalf("PTTL after a refused Extend = %v, %v; want the key left to expire (at most %s)", pttl, err, ttl/2)
	}
	if _, err := a.Extend(ctx, lease); err != nil {
		t.Fatalf("Extend within Until: %v", err)
	}
}

// TestLeaseReleaseOnlyOwn: releasing with another token (a stale or a
// foreign lease) changes nothing; the holder's release frees the shard.
func TestLeaseReleaseOnlyOwn(t *testing.T) {
	t.Parallel()
	a, b, _, _ := leaseRedis(t, 10*time.Second)
	ctx := t.Context()
	mine := mustAcquire(t, a, 7, "n1")
	forged := engine.Lease{Shard: 7, Node: "n2", URL: "http://n2:8080", Until: mine.Until, Token: "not-the-token"}
	wantErr(t, "Release by a non-owner", b.Release(ctx, forged), engine.ErrLeaseLost)
	notMine := mine
	notMine.Node = "n2" // the right token under another name is another value
	wantErr(t, "Release under another name", b.Release(ctx, notMine), engine.ErrLeaseLost)
	wantHolder(t, b, 7, "n1")
	if _, err := a.Extend(ctx, mine); err != nil {
		t.Fatalf("the holder's Extend after a foreign release: %v", err)
	}

	if err := a.Release(ctx, mine); err != nil {
		t.Fatalf("Release: %v", err)
	}
	_, err := b.Holder(ctx, 7)
	wantErr(t, "Holder after release", err, engine.ErrNotFound)
	mustAcquire(t, b, 7, "n2")
	wantErr(t, "a second Release of the old lease", a.Release(ctx, mine), engine.ErrLeaseLost)
	wantHolder(t, a, 7, "n2")
}

// TestLeaseExtendAll: every lease of a batch is renewed, in order, except
// the one that was lost.
func TestLeaseExtendAll(t *testing.T) {
	t.Parallel()
	a, _, raw, prefix := leaseRedis(t, 10*time.Second)
	ctx := t.Context()
	var leases []engine.Lease
	for shard := range 20 {
		leases = append(leases, mustAcquire(t, a, shard, "n1"))
	}
	if err := raw.Del(ctx, prefix+"shard:5").Err(); err != nil {
		t.Fatal(err)
	}
	for _, concurrency := range []int{0, 4, 1000} {
		results := a.ExtendAll(ctx, leases, concurrency)
		if len(results) != len(leases) {
			t.Fatalf("concurrency %d: %d results for %d leases", concurrency, len(results), len(leases))
		}
		for i, r := range results {
			if r.Lease.Shard != i {
				t.Fatalf("concurrency %d: result %d is of shard %d", concurrency, i, r.Lease.Shard)
			}
			switch {
			case i == 5 && !errors.Is(r.Err, engine.ErrLeaseLost):
				t.Fatalf("concurrency %d: shard 5 (deleted): %v, want ErrLeaseLost", concurrency, r.Err)
			case i != 5 && (r.Err != nil || !r.Lease.Until.After(leases[i].Until)):
				t.Fatalf("concurrency %d: shard %d: %v, Until %v after %v", concurrency, i, r.Err, r.Lease.Until, leases[i].Until)
			case i != 5:
				leases[i] = r.Lease
			}
		}
	}
	if got := a.ExtendAll(ctx, nil, 4); len(got) != 0 {
		t.Fatalf("ExtendAll(nil) = %v", got)
	}
}

// TestNodeAnnouncements: announcements are listed sorted by id, expire
// after the TTL unless repeated, and go at once when withdrawn.
func TestNodeAnnouncements(t *testing.T) {
	t.Parallel()
	const ttl = time.Second
	a, _, raw, prefix := leaseRedis(t, ttl)
	ctx := t.Context()
	for _, n := range []string{"n2", "n1", "n3"} {
		if err := a.Announce(ctx, n, "http://"+n+":8080"); err != nil {
			t.Fatalf("Announce %s: %v", n, err)
		}
	}
	if url, err := raw.Get(ctx, prefix+"node:n2").Result(); err != nil || url != "http://n2:8080" {
		t.Fatalf("%snode:n2 = %q, %v", prefix, url, err)
	}
	if pttl, err := raw.PTTL(ctx, prefix+"node:n2").Result(); err != nil || pttl <= 0 || pttl > ttl {
		t.Fatalf("announcement PTTL = %v, %v; want within %s", pttl, err, ttl)
	}
	wantNodes(t, a, "n1", "n2", "n3")
	if err := a.Withdraw(ctx, "n2"); err != nil {
		t.Fatalf("Withdraw: %v", err)
	}
	wantNodes(t, a, "n1", "n3")

	last := time.Now()
	waitFor(t, "n3's announcement to expire while n1 repeats its own", func() bool {
		if time.Since(last) >= ttl/3 {
			if err := a.Announce(ctx, "n1", "http://n1:8080"); err != nil {
				t.Fatalf("Announce: %v", err)
			}
			last = time.Now()
		}
		nodes, err := a.LiveNodes(ctx)
		if err != nil {
			t.Fatalf("LiveNodes: %v", err)
		}
		if !slices.ContainsFunc(nodes, func(n engine.LiveNode) bool { return n.ID == "n1" }) {
			t.Fatalf("n1 expired although announced every TTL/3: %v", nodes)
		}
		return len(nodes) == 1
	})
}

// TestNodeAnnouncementsKeepToTheirPrefix: a prefix holding SCAN's glob
// characters matches only its own keys.
func TestNodeAnnouncementsKeepToTheirPrefix(t *testing.T) {
	t.Parallel()
	url, prefix := testenv.RedisURL(t)
	glob := newLeases(t, []string{url}, prefix+"x*[a]?:", 10*time.Second)
	other := newLeases(t, []string{url}, prefix+"xy[a]z:", 10*time.Second)
	for _, a := range []struct {
		l    *persist.Leases
		node string
	}{{glob, "g1"}, {other, "o1"}} {
		if err := a.l.Announce(t.Context(), a.node, "http://"+a.node+":8080"); err != nil {
			t.Fatalf("Announce: %v", err)
		}
	}
	wantNodes(t, glob, "g1")
	wantNodes(t, other, "o1")
}

func wantNodes(t *testing.T, l *persist.Leases, ids ...string) {
	t.Helper()
	nodes, err := l.LiveNodes(t.Context())
	want := make([]engine.LiveNode, len(ids))
	for i, id := range ids {
		want[i] = engine.LiveNode{ID: id, URL: "http://" + id + ":8080"}
	}
	if err != nil || !slices.Equal(nodes, want) {
		t.Fatalf("LiveNodes = %v, %v; want %v", nodes, err, want)
	}
}

// TestLeasesRedisDown: with the server gone every call is
// engine.ErrUnavailable, never a raw error, a conflict or a loss.
func TestLeasesRedisDown(t *testing.T) {
	t.Parallel()
	r := throwawayRedis(t)
	l := newLeases(t, []string{r.URL()}, "down:", 10*time.Second)
	ctx := t.Context()
	lease := mustAcquire(t, l, 0, "n1")
	if err := l.Announce(ctx, "n1", "http://n1:8080"); err != nil {
		t.Fatalf("Announce: %v", err)
	}
	stopRedis(t, r)
	wantUnavailable(t, l, lease)
}

func wantUnavailable(t *testing.T, l *persist.Leases, held engine.Lease) {
	t.Helper()
	ctx := t.Context()
	_, err := l.TryAcquire(ctx, held.Shard+1, "n2", "http://n2:8080")
	wantErr(t, "TryAcquire", err, engine.ErrUnavailable)
	_, err = l.Extend(ctx, held)
	wantErr(t, "Extend", err, engine.ErrUnavailable)
	results := l.ExtendAll(ctx, []engine.Lease{held}, 2)
	wantErr(t, "ExtendAll", results[0].Err, engine.ErrUnavailable)
	_, err = l.Holder(ctx, held.Shard)
	wantErr(t, "Holder", err, engine.ErrUnavailable)
	wantErr(t, "Announce", l.Announce(ctx, "n1", "http://n1:8080"), engine.ErrUnavailable)
	_, err = l.LiveNodes(ctx)
	wantErr(t, "LiveNodes", err, engine.ErrUnavailable)
	wantErr(t, "Withdraw", l.Withdraw(ctx, "n1"), engine.ErrUnavailable)
	wantErr(t, "Ping", l.Ping(ctx), engine.ErrUnavailable)
	wantErr(t, "Release", l.Release(ctx, held), engine.ErrUnavailable)
}

// TestLeasesQuorum: over three servers a lease is written to every one;
// it is renewed, seen and defended with one server down, and every call
// is engine.ErrUnavailable with two down.
func TestLeasesQuorum(t *testing.T) {
	t.Parallel()
	url, prefix := testenv.RedisURL(t)
	s2, s3 := throwawayRedis(t), throwawayRedis(t)
	urls := []string{url, s2.URL(), s3.URL()}
	a, b := newLeases(t, urls, prefix, 10*time.Second), newLeases(t, urls, prefix, 10*time.Second)
	ctx := t.Context()

	lease := mustAcquire(t, a, 1, "n1")
	for _, u := range urls {
		raw := redis.NewClient(mustParseRedisURL(t, u))
		n, err := raw.Exists(ctx, prefix+"shard:1").Result()
		_ = raw.Close()
		if err != nil || n != 1 {
			t.Fatalf("lease on %s: exists %d, %v; want it on every server", u, n, err)
		}
	}
	if err := a.Announce(ctx, "n1", "http://n1:8080"); err != nil {
		t.Fatalf("Announce: %v", err)
	}

	stopRedis(t, s2)
	lease, err := a.Extend(ctx, lease)
	if err != nil {
		t.Fatalf("Extend with one server down: %v", err)
	}
	_, err = b.TryAcquire(ctx, 1, "n2", "http://n2:8080")
	wantErr(t, "another node's TryAcquire with one server down", err, engine.ErrConflict)
	wantHolder(t, b, 1, "n1")
	mustAcquire(t, b, 2, "n2")
	if err := b.Announce(ctx, "n2", "http://n2:8080"); err != nil {
		t.Fatalf("Announce with one server down: %v", err)
	}
	wantNodes(t, b, "n1", "n2")

	stopRedis(t, s3)
	wantUnavailable(t, a, lease)
}
