package persist_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flashstock/flashstock/engine"
	"github.com/flashstock/flashstock/internal/testenv"
	"github.com/flashstock/flashstock/persist"
)

// lockRedis opens a client on the test Redis and returns it with the
// server's URL and the test's key prefix.
func lockRedis(t *testing.T) (*persist.Redis, string, string) {
	t.Helper()
	url, prefix := testenv.RedisURL(t)
	r, err := persist.OpenRedis(t.Context(), persist.RedisConfig{URL: url, Prefix: prefix})
	if err != nil {
		t.Fatalf("OpenRedis: %v", err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r, url, prefix
}

// TestMutexExclusion: goroutines, each with its own Mutex of one name,
// never hold it at the same time, and all of them get their turns.
func TestMutexExclusion(t *testing.T) {
	t.Parallel()
	const workers, rounds = 8, 25
	r, _, _ := lockRedis(t)
	ctx := t.Context()
	var inside, overlaps, done atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range rounds {
				m := r.Mutex("product:hot")
				if err := m.Lock(ctx); err != nil {
					t.Errorf("Lock: %v", err)
					return
				}
				if inside.Add(1) != 1 {
					overlaps.Add(1)
				}
				time.Sleep(100 * time.Microsecond) // widen the window an overlap would need
				inside.Add(-1)
				done.Add(1)
				if err := m.Unlock(ctx); err != nil {
					t.Errorf("Unlock: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if overlaps.Load() != 0 || done.Load() != workers*rounds {
		t.Fatalf("%d overlaps, %d critical sections; want 0 and %d", overlaps.Load(), done.Load(), workers*rounds)
	}
}

func TestMutexWaitAndRelease(t *testing.T) {
	t.Parallel()
	r, url, prefix := lockRedis(t)
	ctx := t.Context()
	holder := r.Mutex("product:a")
	if err := holder.Lock(ctx); err != nil {
		t.Fatalf("Lock: %v", err)
	}

	// The key layout is <prefix>lock:<name>, expiring after LockExpiry.
	raw := redis.NewClient(mustParseRedisURL(t, url))
	t.Cleanup(func() { _ = raw.Close() })
	ttl, err := raw.PTTL(ctx, prefix+"lock:product:a").Result()
	if err != nil || ttl <= persist.LockExpiry-time.Second || ttl > persist.LockExpiry {
		t.Fatalf("PTTL(%slock:product:a) = %v, %v; want about %v", prefix, ttl, err, persist.LockExpiry)
	}

	// Another name is independent; the same name waits, and gives up as
	// overloaded when the caller's deadline passes.
	other := r.Mutex("product:b")
	if err := other.Lock(ctx); err != nil {
		t.Fatalf("Lock of another name: %v", err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := r.Mutex("product:a").Lock(short); !errors.Is(err, engine.ErrOverloaded) {
		t.Fatalf("Lock of a held mutex = %v, want ErrOverloaded", err)
	}
	cancelled, cancelNow := context.WithCancel(ctx)
	cancelNow()
	if err := r.Mutex("product:a").Lock(cancelled); !errors.Is(err, context.Canceled) || errors.Is(err, engine.ErrOverloaded) {
		t.Fatalf("Lock with a cancelled context = %v, want context.Canceled", err)
	}

	// A waiter gets the mutex soon after the holder releases it.
	got := make(chan error, 1)
	go func() { got <- r.Mutex("product:a").Lock(ctx) }()
	time.Sleep(20 * time.Millisecond)
	if err := holder.Unlock(ctx); err != nil {
		t.Fatalf("Unlock: %v", err)
	}
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("waiting Lock: %v", err)
		}
	case <-time.After(time.Second):
		t.Fatal("the waiter did not get the mutex within a second of its release")
	}
	if err := other.Unlock(ctx); err != nil {
		t.Fatalf("Unlock of another name: %v", err)
	}
}

// A mutex that expired (here: deleted) before Unlock reports a conflict.
func TestMutexUnlockAfterExpiry(t *testing.T) {
	t.Parallel()
	r, url, prefix := lockRedis(t)
	ctx := t.Context()
	m := r.Mutex("product:a")
	if err := m.Lock(ctx); err != nil {
		t.Fatalf("Lock: %v", err)
	}
	raw := redis.NewClient(mustParseRedisURL(t, url))
	t.Cleanup(func() { _ = raw.Close() })
	if err := raw.Del(ctx, prefix+"lock:product:a").Err(); err != nil {
		t.Fatal(err)
	}
	if err := m.Unlock(ctx); !errors.Is(err, engine.ErrConflict) {
		t.Fatalf("Unlock of an expired mutex = %v, want ErrConflict", err)
	}
	// Taken over by another holder meanwhile: the same.
	if err := m.Lock(ctx); err != nil {
		t.Fatalf("Lock: %v", err)
	}
	if err := raw.Set(ctx, prefix+"lock:product:a", "someone else", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if err := m.Unlock(ctx); !errors.Is(err, engine.ErrConflict) {
		t.Fatalf("Unlock of a mutex taken over = %v, want ErrConflict", err)
	}
}

func TestMutexClosedRedisIsUnavailable(t *testing.T) {
	t.Parallel()
	r := openClosedRedis(t)
	if err := r.Mutex("product:a").Lock(t.Context()); !errors.Is(err, engine.ErrUnavailable) {
		t.Fatalf("Lock on a closed client = %v, want ErrUnavailable", err)
	}
}
