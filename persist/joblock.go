package persist

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-redsync/redsync/v4"
	"github.com/go-redsync/redsync/v4/redis/goredis/v9"
)

// Job locks: a redsync mutex per task run key, taken without waiting, so
// that when several nodes share a Redis only one of them attempts a given
// run (the run record in PostgreSQL is what makes it happen once). Key:
//
//	<prefix>lock:job:<name>   the holder's token, expiring after the ttl

// TryLock takes the job lock called name for ttl without waiting. ok is
// false when another holder has it; a Redis failure is
// engine.ErrUnavailable. unlock releases it (an expired lock is not an
// error there: the run record still guards the run).
func (r *Redis) TryLock(ctx context.Context, name string, ttl time.Duration) (unlock func(context.Context) error, ok bool, err error) {
	op := "job lock " + name
	rs := redsync.New(goredis.NewPool(r.client))
	mu := rs.NewMutex(r.cfg.Prefix+"lock:job:"+name, redsync.WithExpiry(ttl), redsync.WithTries(1))
	if err := mu.TryLockContext(ctx); err != nil {
		var taken *redsync.ErrTaken
		if errors.As(err, &taken) || errors.Is(err, redsync.ErrFailed) {
			return nil, false, nil
		}
		return nil, false, wrapRedisError(op, err)
	}
	return func(ctx context.Context) error {
		if _, err := mu.UnlockContext(ctx); err != nil && !errors.Is(err, redsync.ErrLockAlreadyExpired) {
			var taken *redsync.ErrTaken
			if errors.As(err, &taken) {
				return nil
			}
			return fmt.Errorf("%s: release: %w", op, wrapRedisError(op, err))
		}
		return nil
	}, true, nil
}
