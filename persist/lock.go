package persist

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/go-redsync/redsync/v4"
	"github.com/go-redsync/redsync/v4/redis/goredis/v9"

	"github.com/flashstock/flashstock/engine"
)

// Redis mutexes (github.com/go-redsync/redsync over this one Redis), as the
// original Django app took one per product around each order. Only the
// redislock baseline of the bench uses them. One key per mutex:
//
//	<prefix>lock:<name>    a random token of the holder; it expires after
//	                       LockExpiry if the holder never releases it

const (
	// LockExpiry is how long a mutex stays held if its holder neither
	// releases it nor dies visibly: the original app's 10 s lock timeout.
	LockExpiry = 10 * time.Second
	// LockWaitMax bounds how long Lock waits for a taken mutex.
	LockWaitMax = 5 * time.Second
	// lockRetryDelayMin and lockRetryDelayMax bound the jittered pause
	// between two attempts to take a taken mutex.
	lockRetryDelayMin = time.Millisecond
	lockRetryDelayMax = 5 * time.Millisecond
)

// Locker is one holder's handle on a mutual-exclusion lock: Lock, then
// Unlock, from one goroutine. Other holders take their own Locker of the
// same name.
type Locker interface {
	// Lock takes the lock, waiting a bounded time for it.
	Lock(ctx context.Context) error
	// Unlock releases the lock taken by Lock.
	Unlock(ctx context.Context) error
}

// redisMutex is a Locker shared by every process using the same Redis and
// prefix.
type redisMutex struct {
	name string
	mu   *redsync.Mutex
}

var _ Locker = (*redisMutex)(nil)

// Mutex returns a handle, not yet locked, on the mutex called name (for
// example "product:<id>").
func (r *Redis) Mutex(name string) Locker {
	rs := redsync.New(goredis.NewPool(r.client))
	return &redisMutex{name: name, mu: rs.NewMutex(r.cfg.Prefix+"lock:"+name,
		redsync.WithExpiry(LockExpiry), redsync.WithTries(1))}
}

// Lock takes the mutex, trying again after a pause of 1 to 5 ms (random,
// so waiters do not move in step) while another holder has it. A mutex
// still taken after LockWaitMax, or when ctx's deadline passes, is
// engine.ErrOverloaded; a Redis failure is engine.ErrUnavailable; a
// cancelled ctx stays context.Canceled.
func (m *redisMutex) Lock(ctx context.Context) error {
	op := "lock " + m.name
	waitCtx, cancel := context.WithTimeout(ctx, LockWaitMax)
	defer cancel()
	var timer *time.Timer
	for {
		err := m.mu.TryLockContext(waitCtx)
		if err == nil {
			return nil
		}
		if err := waitCtx.Err(); err != nil {
			if errors.Is(ctx.Err(), context.Canceled) {
				return fmt.Errorf("%s: %w", op, ctx.Err())
			}
			return fmt.Errorf("%s: %w: still taken after waiting", op, engine.ErrOverloaded)
		}
		var taken *redsync.ErrTaken
		if !errors.As(err, &taken) {
			return wrapRedisError(op, err)
		}
		delay := lockRetryDelayMin + rand.N(lockRetryDelayMax-lockRetryDelayMin)
		if timer == nil {
			timer = time.NewTimer(delay)
			defer timer.Stop()
		} else {
			timer.Reset(delay)
		}
		select {
		case <-waitCtx.Done(): // reported by the next round's check
		case <-timer.C:
		}
	}
}

// Unlock releases the mutex. If it expired first (held longer than
// LockExpiry), another holder may have taken it meanwhile: that is
// engine.ErrConflict, and mutual exclusion was not guaranteed. A Redis
// failure is engine.ErrUnavailable (the mutex then expires by itself).
func (m *redisMutex) Unlock(ctx context.Context) error {
	op := "unlock " + m.name
	ok, err := m.mu.UnlockContext(ctx)
	var taken *redsync.ErrTaken
	switch {
	case ok:
		return nil
	case err == nil, errors.Is(err, redsync.ErrLockAlreadyExpired), errors.As(err, &taken):
		return fmt.Errorf("%s: %w: it expired before it was released", op, engine.ErrConflict)
	}
	return wrapRedisError(op, err)
}
