package bench

import (
	"bytes"
	"context"
	"slices"
	"time"

	"github.com/rs/zerolog"

	"github.com/flashstock/flashstock/engine"
	"github.com/flashstock/flashstock/persist"
)

// baselineUnlockTimeout bounds releasing one lock; the request's own
// deadline may have passed by then.
const baselineUnlockTimeout = time.Second

// redisLockPlacer is the redislock baseline's order path, the original
// Django app's: take a Redis mutex per product of the order (in product-id
// order, so two orders never wait for each other in a cycle), run the
// transaction without row locks, release the mutexes.
type redisLockPlacer struct {
	orders BaselineOrders
	locks  BaselineLocks
	log    zerolog.Logger
}

// place places cmd under its products' mutexes. A mutex still taken after
// the lock's wait limit is the lock's error (engine.ErrOverloaded). A
// failed release is logged, not returned: the order's outcome is decided
// by then, and the mutex expires by itself.
func (p *redisLockPlacer) place(ctx context.Context, cmd engine.PlaceOrder) (engine.Order, error) {
	ids := make([]engine.ID, len(cmd.Items))
	for i, it := range cmd.Items {
		ids[i] = it.ProductID
	}
	slices.SortFunc(ids, func(a, b engine.ID) int { return bytes.Compare(a[:], b[:]) })
	held := make([]persist.Locker, 0, len(ids))
	defer func() { p.release(ctx, held) }()
	for _, id := range slices.Compact(ids) {
		l := p.locks.Mutex("product:" + id.String())
		if err := l.Lock(ctx); err != nil {
			return engine.Order{}, err
		}
		held = append(held, l)
	}
	return p.orders.PlaceOrderUnlocked(ctx, cmd)
}

// release unlocks held in reverse order.
func (p *redisLockPlacer) release(ctx context.Context, held []persist.Locker) {
	for i := len(held) - 1; i >= 0; i-- {
		c, cancel := context.WithTimeout(context.WithoutCancel(ctx), baselineUnlockTimeout)
		if err := held[i].Unlock(c); err != nil {
			p.log.Error().Err(err).Msg("baseline unlock failed")
		}
		cancel()
	}
}
